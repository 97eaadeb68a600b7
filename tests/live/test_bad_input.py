"""Bad input on every input of one running engine (MQTT, serial pty, TCP gateway, file):
garbage bytes, oversized payloads, fix JSON with wrong types, unknown terminals, a topic
of another site, a serial device unplugged and replugged. Everything is counted and
logged, nothing crashes, and valid fixes after the bad ones still get through."""

from __future__ import annotations

import json
import os
import random
import socket
import threading
import time
import urllib.request
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from fence.cmd_run import build_sources
from fence.runtime import metrics as m
from fence.runtime.engine import Engine
from fence.runtime.tracks import read_recording
from tests.gnss.support_stream import T0, epoch_bytes
from tests.gnss.test_stream_sources import Pty
from tests.live.support import load, mqtt_site
from tests.support.broker import Broker
from tests.support.polling import wait_until


class Gateway:
    """A TCP serial server: accepts the engine's connection and sends what it is given."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.conn: socket.socket | None = None
        self.ready = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.conn, _ = self.server.accept()
        self.ready.set()

    def send(self, data: bytes) -> None:
        assert self.ready.wait(15) and self.conn is not None
        self.conn.sendall(data)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.server.close()
def test_bad_input_on_every_input(tmp_path: Path, broker: Broker) -> None:
    rng = random.Random(5)
    forged = b"$GNGGA,080000.00,4039.0,N,11130.0,E,4,20,0.6,1040.0,M,,M,,*00\r\n"  # bad checksum
    pty = Pty(tmp_path / "serial-by-id")
    gateway = Gateway()
    nmea_file = tmp_path / "w-file.nmea"
    nmea_file.write_bytes(rng.randbytes(3000) + b"\n" + forged + b"$GN" + b"9" * 5000 + b"\r\n"
                          + epoch_bytes(1) + epoch_bytes(2) + epoch_bytes(3))
    toml = mqtt_site(tmp_path, broker.host, broker.port, client_id="bad-input", extra=f"""
[[inputs]]
type = "serial"
port = "{tmp_path / 'serial-by-id'}"
terminal = "W-001"
reconnect_max_s = 0.2

[[inputs]]
type = "tcp"
host = "127.0.0.1"
port = {gateway.port}
terminal = "W-002"

[[inputs]]
type = "file"
path = "{nmea_file}"
terminal = "W-003"
""")
    site, cfg = load(toml)
    engine = Engine(site, cfg, sources=build_sources(site, cfg))
    engine.start()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bad-pub")
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    try:
        assert engine.sources[0].subscribed.wait(10)  # type: ignore[attr-defined]
        prefix = f"fence/{cfg.slug}"
        bad_mqtt = [
            (f"{prefix}/W-004/nmea", rng.randbytes(2000) + forged),           # garbage
            (f"{prefix}/W-004/nmea", b"$GNGGA," + b"1" * 2_000_000 + b"\r\n"),  # oversized
            (f"{prefix}/W-004/fix", b'{"t": 5, "terminal": ["W-004"], "quality": "4"}'),
            (f"{prefix}/W-004/fix", b"\xff\xfe not json at all"),
            (f"{prefix}/W-004/fix", json.dumps({"t": "2026-11-28T08:00:01Z", "terminal": "W-005",
                                                "lat": 40.65, "lon": 111.5, "quality": 4}).encode()),
            (f"{prefix}/W-004/fix", json.dumps({"t": "2026-11-28T08:00:01Z", "terminal": "W-004",
                                                "lat": 123.0, "lon": 111.5, "quality": 4}).encode()),
            ("fence/another-site/W-004/nmea", epoch_bytes(1)),                  # another site
        ]
        for topic, payload in bad_mqtt:
            pub.publish(topic, payload, qos=1).wait_for_publish(10)
        stranger = {"t": "2026-11-28T08:00:02Z", "terminal": "NOBODY-9", "lat": 40.65,
                    "lon": 111.5, "quality": 4}
        pub.publish(f"{prefix}/NOBODY-9/fix", json.dumps(stranger).encode(), qos=1).wait_for_publish(10)
        for k in range(1, 4):
            pub.publish(f"{prefix}/W-004/nmea", epoch_bytes(k), qos=1).wait_for_publish(10)

        pty.write(rng.randbytes(4000) + forged + b"\n$GN" + b"7" * 3000 + b"\r\n" + epoch_bytes(1)
                  + epoch_bytes(2) + epoch_bytes(3))
        wait_until(lambda: any(r.fix.terminal == "W-001" for r in read_recording(cfg.tracks.dir)))
        pty.unplug()
        time.sleep(0.5)
        pty.plug()
        # the receiver streams on; what it sends before the port is reopened is lost
        streaming = threading.Event()

        def stream_on() -> None:
            k = 10
            while not streaming.is_set() and k < 200:
                pty.write(epoch_bytes(k))
                k += 1
                streaming.wait(0.2)

        threading.Thread(target=stream_on, daemon=True).start()

        gateway.send(rng.randbytes(5000) + forged + epoch_bytes(1) + epoch_bytes(2) + epoch_bytes(3))

        def recorded() -> dict[str, set[int]]:
            out: dict[str, set[int]] = {}
            for r in read_recording(cfg.tracks.dir):
                out.setdefault(r.fix.terminal, set()).add(r.fix.t_ms)
            return out

        try:
            wait_until(lambda: {"W-001", "W-002", "W-003", "W-004", "NOBODY-9"} <= set(recorded())
                 and max(recorded().get("W-001", {0})) >= T0 + 10_000)
        finally:
            streaming.set()
        got = recorded()
        assert {T0 + 1000, T0 + 2000} <= got["W-001"] and max(got["W-001"]) >= T0 + 10_000
        for terminal in ("W-002", "W-003", "W-004"):
            assert {T0 + 1000, T0 + 2000} <= got[terminal], terminal
        assert "W-005" not in got  # published on another terminal's topic: refused
        assert engine.alive
        assert engine.http is not None
        with urllib.request.urlopen(f"http://127.0.0.1:{engine.http.port}/healthz", timeout=5) as r:
            assert json.loads(r.read())["status"] == "ok"
        wait_until(lambda: engine.metrics.get(m.DECODE_ERRORS, "bad_fix_json") >= 4)
        assert engine.metrics.get(m.DECODE_ERRORS, "too_long") >= 3  # MQTT, serial, file
        assert engine.metrics.get(m.DECODE_ERRORS, "bad_checksum") >= 4  # on every stream
        assert engine.metrics.get(m.FIXES_UNREGISTERED) >= 1
        per_source = {src.name: engine.metrics.get(m.FIXES_IN, src.name) for src in engine.sources}
        assert all(n > 0 for n in per_source.values()), per_source
    finally:
        pub.loop_stop()
        pub.disconnect()
        engine.stop()
        gateway.close()
        if pty.master is not None:
            os.close(pty.master)
