"""source_from_config: one [[inputs]] table -> a source, or a ConfigError naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gnss.sources import Source
from gnss.sources.config import ConfigError, source_from_config
from gnss.sources.mqtt import MqttSource
from gnss.sources.serialport import SerialSource
from gnss.sources.stream import FileSource
from gnss.sources.tcp import TcpSource
from tests.support.broker import make_tls_files

WHERE = "fence.toml [[inputs]] #1"


def test_builds_each_kind(tmp_path: Path) -> None:
    ca = make_tls_files(tmp_path).ca_cert
    serial = source_from_config({"type": "serial", "port": "/dev/ttyUSB0", "baud": 115200, "terminal": "W-1"}, "a", WHERE)
    tcp = source_from_config({"type": "tcp", "host": "10.0.3.20", "port": 4001, "terminal": "G-2"}, "a", WHERE)
    file = source_from_config({"type": "file", "path": "-", "terminal": "T", "comments": False}, "a", WHERE)
    mqtt = source_from_config(
        {
            "type": "mqtt",
            "host": "broker.local",
            "username": "fence",
            "password": "pw",
            "tls": {"ca_certs": str(ca)},
        },
        "park-a",
        WHERE,
    )
    assert isinstance(serial, SerialSource) and serial.baud == 115200 and serial.name == "serial:/dev/ttyUSB0"
    assert isinstance(tcp, TcpSource) and tcp.port == 4001
    assert isinstance(file, FileSource) and file.comments is False
    assert isinstance(mqtt, MqttSource)
    assert mqtt.settings.port == 8883 and mqtt.settings.client_id == "fence-park-a"
    assert mqtt.settings.nmea_topic == "fence/park-a/+/nmea"
    assert all(isinstance(s, Source) for s in (serial, tcp, file, mqtt))


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"type": "carrier-pigeon"}, "key 'type' must be one of file, mqtt, serial, tcp"),
        ({"type": "serial", "terminal": "W-1"}, "key 'port' is required"),
        ({"type": "serial", "port": "/dev/x", "terminal": "W-1", "baud": "fast"}, "key 'baud' must be an integer"),
        ({"type": "serial", "port": "/dev/x", "terminal": "W-1", "speed": 9600}, "unknown key 'speed'"),
        ({"type": "tcp", "host": "h", "port": 70000, "terminal": "G"}, "key 'port' must be between 1 and 65535"),
        ({"type": "tcp", "host": "h", "port": 1, "terminal": ""}, "key 'terminal' must be a non-empty string"),
        ({"type": "tcp", "host": "h", "port": 1, "terminal": "G", "reconnect_max_s": 0}, "key 'reconnect_max_s'"),
        ({"type": "file", "terminal": "T"}, "key 'path' is required"),
        ({"type": "file", "path": "x", "terminal": "T", "comments": "yes"}, "key 'comments' must be true or false"),
        ({"type": "mqtt", "password": "pw"}, "key 'password' needs 'username'"),
        ({"type": "mqtt", "tls": {"certfile": __file__}}, "tls: key 'keyfile' must be given with"),
        ({"type": "mqtt", "tls": {"ca": "x"}}, "tls: unknown key 'ca'"),
        ({"type": "mqtt", "tls": "on"}, "key 'tls' must be a table"),
        ({"type": "mqtt", "tls": {"ca_certs": "/nonexistent/ca.pem"}}, "tls: key 'ca_certs' names a file that does not exist"),
    ],
)
def test_errors_name_the_key(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        source_from_config(table, "park-a", WHERE)
    assert str(caught.value).startswith(WHERE)
    assert message in str(caught.value)


def test_site_name_must_fit_in_a_topic() -> None:
    with pytest.raises(ConfigError, match="site name 'a/b'"):
        source_from_config({"type": "mqtt"}, "a/b", WHERE)
