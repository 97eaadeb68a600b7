"""Transports against the real thing: mosquitto, pseudo terminals read with pyserial, TCP."""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from collections import defaultdict
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import serial
from paho.mqtt.enums import CallbackAPIVersion

from fence.config import site_slug
from fence.simulate.pacing import publish
from fence.simulate.simulator import Simulator
from fence.simulate.transports import (
    MqttOptions,
    MqttTransport,
    PasswordFileError,
    PerTerminalMqtt,
    TransportError,
    device_transport,
    pty_transport,
    read_passwords,
    tcp_transport,
)
from fence.simulate.wire import NO_FAULTS, Format
from tests.simulate.sites import T0_MS, site
from tests.support.broker import Broker, free_port


class _Subscriber:
    """Collects every message under a topic filter (QoS 1)."""

    def __init__(self, broker: Broker, topic: str, *, persistent: bool = False,
                 user: tuple[str, str] | None = None) -> None:
        self.got: list[tuple[str, bytes, int]] = []
        self._ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="sim-test-sub",
                                  clean_session=not persistent)
        if user is not None:
            self.client.username_pw_set(*user)
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.on_connect = lambda c, _u, _f, _rc, _p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda _c, _u, _m, _rc, _p: self._ready.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert self._ready.wait(10), "subscription not acknowledged"

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        self.got.append((msg.topic, bytes(msg.payload), msg.qos))

    def wait_for(self, n: int, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.got) < n and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_mqtt_publishes_every_epoch_at_qos1_on_the_terminal_topic(broker: Broker) -> None:
    prefix = f"fence/{site_slug(site().name)}"
    sub = _Subscriber(broker, f"{prefix}/+/nmea")
    sim = Simulator(site(), seed=31, start_ms=T0_MS)
    sent = list(sim.messages(T0_MS + 30_000))
    transport = MqttTransport(MqttOptions(broker.host, broker.port, prefix), Format.NMEA)
    try:
        stats = publish(sent, transport.send, start_ms=T0_MS, speed=None)
    finally:
        transport.close()
    sub.wait_for(len(sent))
    sub.close()
    assert stats.messages == len(sent)
    assert sorted(sub.got) == sorted((f"{prefix}/{m.terminal}/nmea", m.payload, 1) for m in sent)
    per_topic: dict[str, list[bytes]] = defaultdict(list)
    for topic, payload, _ in sub.got:
        per_topic[topic].append(payload)
    for m_topic, payloads in per_topic.items():
        terminal = m_topic.split("/")[-2]
        assert payloads == [m.payload for m in sent if m.terminal == terminal]  # in order


def test_mqtt_fix_format_goes_to_the_fix_topic(broker: Broker) -> None:
    sub = _Subscriber(broker, "park/+/fix")
    sim = Simulator(site(), seed=32, start_ms=T0_MS, fmt=Format.FIX, n_terminals=3)
    sent = list(sim.messages(T0_MS + 5_000))
    transport = MqttTransport(MqttOptions(broker.host, broker.port, "park"), Format.FIX)
    for m in sent:
        transport.send(m)
    transport.close()
    sub.wait_for(len(sent))
    sub.close()
    assert sorted(p for _, p, _ in sub.got) == sorted(m.payload for m in sent)
    assert {t for t, _, _ in sub.got} == {f"park/{m.terminal}/fix" for m in sent}


def _read_until(port: serial.Serial, size: int, timeout_s: float = 10.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout_s
    while len(data) < size and time.monotonic() < deadline:
        data += port.read(size - len(data))
    return data


def test_pty_carries_each_terminals_nmea_to_a_serial_reader() -> None:
    sim = Simulator(site(), seed=33, start_ms=T0_MS, n_terminals=3, faults=NO_FAULTS)
    sent = list(sim.messages(T0_MS + 10_000))
    ids = sorted({m.terminal for m in sent})
    transport, paths = pty_transport(ids)
    try:
        ports = {t: serial.Serial(paths[t], baudrate=115200, timeout=0.2) for t in ids}
        publish(sent, transport.send, start_ms=T0_MS, speed=50.0)
        for t in ids:
            want = b"".join(m.payload for m in sent if m.terminal == t)
            assert _read_until(ports[t], len(want)) == want
            ports[t].close()
    finally:
        transport.close()


def test_pty_paced_in_real_time_delivers_epochs_about_a_second_apart() -> None:
    sim = Simulator(site(), seed=34, start_ms=T0_MS, n_terminals=1, faults=NO_FAULTS)
    sent = list(sim.messages(T0_MS + 3_000))
    transport, paths = pty_transport([sent[0].terminal])
    arrivals: list[float] = []
    try:
        port = serial.Serial(paths[sent[0].terminal], timeout=0.05)
        runner = threading.Thread(
            target=publish, args=(sent, transport.send), kwargs={"start_ms": T0_MS, "speed": 1.0}
        )
        began = time.monotonic()
        runner.start()
        data = b""
        while len(arrivals) < 3 and time.monotonic() - began < 6:
            chunk = port.read(4096)
            if chunk:
                data += chunk
                arrivals.append(time.monotonic() - began)
                assert data.count(b"GGA") == len(arrivals)
        runner.join()
        port.close()
    finally:
        transport.close()
    assert len(arrivals) == 3
    assert arrivals[0] < 0.5 and 0.8 < arrivals[1] < 1.5 and 1.8 < arrivals[2] < 2.5


def test_tcp_gateway_serves_one_terminal_per_port() -> None:
    sim = Simulator(site(), seed=35, start_ms=T0_MS, n_terminals=2, faults=NO_FAULTS)
    sent = list(sim.messages(T0_MS + 5_000))
    ids = sorted({m.terminal for m in sent})
    transport, urls = tcp_transport(ids, "127.0.0.1", 0)
    try:
        conns = {}
        for t in ids:
            port = int(urls[t].rsplit(":", 1)[1])
            conns[t] = socket.create_connection(("127.0.0.1", port), timeout=5)
        time.sleep(0.1)  # the gateway accepts on its next write
        for m in sent:
            transport.send(m)
        for t, conn in conns.items():
            want = b"".join(m.payload for m in sent if m.terminal == t)
            got = b""
            while len(got) < len(want):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                got += chunk
            assert got == want
            conn.close()
    finally:
        transport.close()


def test_mqtt_without_a_broker_is_a_clear_error() -> None:
    port = free_port()
    with pytest.raises(TransportError, match=f"127.0.0.1:{port}"):
        MqttTransport(MqttOptions("127.0.0.1", port, "fence/x", connect_timeout_s=1.0),
                      Format.NMEA)


def test_mqtt_messages_sent_across_a_broker_restart_all_arrive(broker: Broker) -> None:
    sub = _Subscriber(broker, "park/+/nmea", persistent=True)
    sim = Simulator(site(), seed=36, start_ms=T0_MS, n_terminals=5)
    sent = list(sim.messages(T0_MS + 20_000))
    half = len(sent) // 2
    transport = MqttTransport(MqttOptions(broker.host, broker.port, "park"), Format.NMEA)
    for m in sent[:half]:
        transport.send(m)
    broker.restart()  # the transport queues what it sends meanwhile and reconnects
    for m in sent[half:]:
        transport.send(m)
    transport.close(timeout_s=30)
    unique = {(t, p) for t, p, _ in sub.got}
    deadline = time.monotonic() + 20
    while len(unique) < len(sent) and time.monotonic() < deadline:
        time.sleep(0.1)
        unique = {(t, p) for t, p, _ in sub.got}
    sub.close()
    assert unique == {(f"park/{m.terminal}/nmea", m.payload) for m in sent}


def test_device_transport_writes_a_serial_device_raw() -> None:
    """A pty slave stands in for a USB serial adapter; the master side reads the line."""
    master, slave = os.openpty()
    device = Path(os.ttyname(slave))
    sim = Simulator(site(), seed=37, start_ms=T0_MS, n_terminals=1, faults=NO_FAULTS)
    sent = list(sim.messages(T0_MS + 5_000))
    transport = device_transport(sent[0].terminal, device, 115200)
    try:
        for m in sent:
            transport.send(m)
        want = b"".join(m.payload for m in sent)
        got = b""
        deadline = time.monotonic() + 5
        while len(got) < len(want) and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                got += os.read(master, 65536)
        assert got == want  # raw: CR LF kept, nothing echoed or translated
    finally:
        transport.close()
        os.close(master)
        os.close(slave)


def test_device_that_does_not_exist_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TransportError, match="no-such-tty"):
        device_transport("W-001", tmp_path / "no-such-dir" / "no-such-tty")


def test_per_terminal_connections_use_each_terminals_credentials(tmp_path: Path) -> None:
    sim = Simulator(site(), seed=38, start_ms=T0_MS, n_terminals=3)
    sent = list(sim.messages(T0_MS + 5_000))
    ids = sorted({m.terminal for m in sent})
    passwords = {t: f"pw-{t}-{i}" for i, t in enumerate(ids)}
    with Broker(tmp_path / "broker", users={**passwords, "reader": "r"}) as broker:
        sub = _Subscriber(broker, "park/+/nmea", user=("reader", "r"))
        options = MqttOptions(broker.host, broker.port, "park", connect_timeout_s=5.0)
        transport = PerTerminalMqtt(options, Format.NMEA, passwords, ids)
        for m in sent:
            transport.send(m)
        transport.close()
        sub.wait_for(len(sent))
        sub.close()
        assert sorted(sub.got) == sorted((f"park/{m.terminal}/nmea", m.payload, 1) for m in sent)
        wrong = {**passwords, ids[1]: "not-it"}
        with pytest.raises(TransportError, match=f"refused {ids[1]}"):
            PerTerminalMqtt(options, Format.NMEA, wrong, ids)
        with pytest.raises(TransportError, match="no password"):
            PerTerminalMqtt(options, Format.NMEA, {ids[0]: "x"}, ids)


def test_password_files_are_read_and_bad_lines_named(tmp_path: Path) -> None:
    good = tmp_path / "passwords"
    good.write_text("# terminal:password\nW-001:s3cret:with:colons\n\nV-002:x\n")
    assert read_passwords(good) == {"W-001": "s3cret:with:colons", "V-002": "x"}
    bad = tmp_path / "bad"
    bad.write_text("W-001:a\nW-002\n")
    with pytest.raises(PasswordFileError, match="bad line 2"):
        read_passwords(bad)
    twice = tmp_path / "twice"
    twice.write_text("W-001:a\nW-001:b\n")
    with pytest.raises(PasswordFileError, match="line 2: terminal 'W-001' given twice"):
        read_passwords(twice)
