"""The MQTT output's lean link and fast lane (fence/sinks/mqtt.py, mqttlink.py), against
mosquitto and a scripted peer: an alert goes out from the storing thread while the sink
thread sleeps; order and exactly-once publication hold across an outage; TLS with a
password goes through the sink thread; refusals and a silent broker are survived."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fence.config import Backoff, MqttOutput
from fence.runtime.clock import wall_clock_ms
from fence.runtime.metrics import SINK_DELIVERED, SINK_FAILURES, Metrics
from fence.sinks.mqtt import MqttDeliverer
from fence.sinks.mqttlink import connect_packet, publish_packet
from fence.sinks.worker import SinkWorker
from fence.store import EventRecord, EventStore
from tests.live.mqttutil import Collector
from tests.live.rawbroker import PeerConnection, RawBroker
from tests.live.test_sinks import records
from tests.support.broker import Broker, make_tls_files
from tests.support.polling import wait_until

FAST = Backoff(0.1, 0.5)
ASLEEP_S = 60.0
"""The sink thread's idle wait in tests that show the fast lane needs no sink round."""


class Output:
    """A store, a sink worker with the lean MQTT deliverer and the engine-like lock under
    which events are stored and offered."""

    def __init__(self, tmp_path: Path, cfg: MqttOutput, *, idle_s: float, ack_timeout_s: float = 5.0) -> None:
        self.store = EventStore(tmp_path / "e.db")
        self.metrics = Metrics()
        self.lock = threading.Lock()
        self.deliverer = MqttDeliverer(cfg, ack_timeout_s=ack_timeout_s)
        self.worker = SinkWorker(self.deliverer, self.store.path, FAST, self.metrics, wall_clock_ms,
                                 idle_s=idle_s, write_lock=self.lock)

    def add(self, recs: list[EventRecord]) -> None:
        """Store and offer, as the engine does (under its input lock)."""
        with self.lock:
            new = self.store.add(recs, [self.worker.name], wall_clock_ms())
            self.worker.offer(new)

    @property
    def lane_open(self) -> bool:
        """True when a fresh event would go out from the storing thread."""
        return self.deliverer.link.fast_lane and not self.deliverer.needs_catch_up

    def pending(self) -> int:
        """Outbox rows left."""
        return self.store.outbox_pending().get(self.worker.name, (0, None))[0]


@pytest.fixture
def output_cfg(broker: Broker) -> MqttOutput:
    """An output to the test broker."""
    return MqttOutput("mqtt", broker.host, broker.port, "fence/out", "engine-out", backoff=FAST)


def event_ids(got: list[tuple[str, bytes, bool]]) -> list[str]:
    """Ids of the events among collected messages, in arrival order."""
    return [json.loads(payload)["id"] for topic, payload, _ in got if "/events/" in topic]


@pytest.fixture
def collector(broker: Broker) -> Iterator[Collector]:
    """A subscriber to the output's events."""
    c = Collector(broker, "fence/out/events/#", client_id="out-collector")
    yield c
    c.close()


def test_an_alert_goes_out_while_the_sink_thread_sleeps(
        tmp_path: Path, output_cfg: MqttOutput, collector: Collector) -> None:
    out = Output(tmp_path, output_cfg, idle_s=ASLEEP_S)
    out.worker.start()  # its first round connects and opens the lane, then it sleeps
    try:
        wait_until(lambda: out.lane_open, what="the fast lane to open")
        out.add(records(0, 5))
        got = collector.wait_for(lambda got: len(event_ids(got)) == 5, 5)
        assert event_ids(got) == [r.id for r in records(0, 5)]
        assert out.pending() == 5  # published by the storing thread: the sink thread slept
        out.worker.wake()  # its round reads the PUBACKs and clears the outbox, publishing nothing
        wait_until(lambda: out.pending() == 0, what="the outbox to clear")
        collector.wait_for(lambda got: True, 0.5)
        assert event_ids(collector.snapshot()) == [r.id for r in records(0, 5)]  # none twice
        assert out.metrics.get(SINK_DELIVERED, "mqtt") == 5
    finally:
        out.worker.stop()


def test_order_and_once_across_an_outage_while_events_keep_coming(
        tmp_path: Path, broker: Broker, output_cfg: MqttOutput) -> None:
    out = Output(tmp_path, output_cfg, idle_s=0.2, ack_timeout_s=2.0)
    collector = Collector(broker, "fence/out/events/#", client_id="outage-collector")
    out.worker.start()
    try:
        wait_until(lambda: out.lane_open, what="the fast lane to open")
        out.add(records(0, 10))
        collector.wait_for(lambda got: len(event_ids(got)) >= 10)
        broker.kill()
        out.add(records(10, 10))  # the lane finds the link down: the sink thread owes them
        wait_until(lambda: out.metrics.get(SINK_FAILURES, "mqtt") > 0, what="a failed attempt")
        assert not out.lane_open
        broker.start()
        for k in range(20, 60):  # one by one while the sink thread catches up
            out.add(records(k, 1))
        wait_until(lambda: out.pending() == 0, timeout_s=30, what="the outbox to clear")
        wait_until(lambda: out.lane_open, what="the lane to open again")
        out.add(records(60, 5))
        got = collector.wait_for(lambda got: set(event_ids(got)) >= {r.id for r in records(0, 65)}, 30)
    finally:
        out.worker.stop()
        collector.close()
    ids = event_ids(got)
    first_seen = list(dict.fromkeys(ids))
    assert first_seen == [r.id for r in records(0, 65)]
    assert out.metrics.get(SINK_DELIVERED, "mqtt") == 65


def test_the_lane_stays_closed_until_every_older_row_went_out(
        tmp_path: Path, output_cfg: MqttOutput, collector: Collector) -> None:
    """Step by step, as the sink thread would drive it: rows stored while the lane was
    closed go out before any fresher event."""
    deliverer = MqttDeliverer(output_cfg)
    store = EventStore(tmp_path / "e.db")
    try:
        deliverer.idle()  # connects
        assert deliverer.connected and deliverer.needs_catch_up
        store.add(records(0, 3), ["mqtt"], wall_clock_ms())  # owed by the sink thread
        fresh = records(3, 1)
        store.add(fresh, ["mqtt"], wall_clock_ms())
        assert not deliverer.publish_now(fresh)  # it would overtake rows 0-2
        items = store.outbox_due("mqtt", wall_clock_ms())
        done = deliverer.deliver(items).done
        assert done >= 1
        store.outbox_done(items[:done])
        left = [item.event_id for item in store.outbox_due("mqtt", wall_clock_ms())]
        deliverer.catch_up(left, complete=False)
        assert deliverer.needs_catch_up  # not all rows were shown
        deliverer.catch_up(left + ["r-unpublished"], complete=True)
        assert deliverer.needs_catch_up  # a row that never went out
        deliverer.catch_up(left, complete=True)
        assert not deliverer.needs_catch_up
        assert deliverer.publish_now(records(4, 1))
        got = collector.wait_for(lambda got: len(event_ids(got)) >= 5, 5)
    finally:
        deliverer.close()
    assert event_ids(got) == [r.id for r in records(0, 5)]


def test_tls_with_a_password_goes_through_the_sink_thread(tmp_path: Path) -> None:
    files = make_tls_files(tmp_path / "pki")
    with Broker(tmp_path / "tls", tls=files, users={"fence": "s3cret"}) as secured:
        cfg = MqttOutput("mqtt", "localhost", secured.port, "fence/out", "engine-tls", username="fence",
                         password="s3cret", tls=True, ca_file=files.ca_cert, backoff=FAST)
        out = Output(tmp_path, cfg, idle_s=0.2)
        out.worker.start()
        try:
            wait_until(lambda: out.deliverer.connected, what="a TLS connection")
            assert not out.deliverer.link.fast_lane  # an SSL socket is not shared by two threads
            out.add(records(0, 3))
            wait_until(lambda: out.pending() == 0, what="delivery over TLS")
        finally:
            out.worker.stop()
        assert out.metrics.get(SINK_DELIVERED, "mqtt") == 3
        wrong = MqttDeliverer(MqttOutput("mqtt", "localhost", secured.port, "fence/out", "engine-wrong",
                                         username="fence", password="nope", tls=True,
                                         ca_file=files.ca_cert, backoff=FAST))
        item = EventStore(tmp_path / "w.db")
        item.add(records(0, 1), ["mqtt"], wall_clock_ms())
        result = wrong.deliver(item.outbox_due("mqtt", wall_clock_ms()))
        assert result.done == 0 and result.error is not None
        assert "not authorised" in result.error or "bad user name or password" in result.error
        wrong.close()


def test_a_silent_broker_is_left_and_the_event_published_again(tmp_path: Path) -> None:
    """A peer that accepts the CONNECT, then never acknowledges nor answers a ping: the
    event goes out again on the next connection (at least once)."""
    def silent(conn: PeerConnection) -> None:
        conn.wait_for(b"\x10")
        conn.send(b"\x20\x02\x00\x00")  # CONNACK (3.1.1): accepted
        conn.read_for(4.0)

    peer = RawBroker([silent])
    cfg = MqttOutput("mqtt", peer.host, peer.port, "fence/out", "engine-silent", keepalive_s=1,
                     backoff=FAST)
    deliverer = MqttDeliverer(cfg, ack_timeout_s=1.0)
    store = EventStore(tmp_path / "e.db")
    rec = records(0, 1)[0]
    store.add([rec], ["mqtt"], wall_clock_ms())
    items = store.outbox_due("mqtt", wall_clock_ms())
    try:
        first = deliverer.deliver(items)
        assert first.done == 0 and first.error is not None and "no PUBACK" in first.error
        wait_until(lambda: deliverer.deliver(items).error is not None and len(peer.connections) >= 2,
                   timeout_s=10, what="a second connection")
        wait_until(lambda: rec.id.encode() in peer.connections[1].received, what="the event again")
    finally:
        deliverer.close()
        peer.close()
    assert rec.id.encode() in peer.connections[0].received


def test_a_broker_that_stops_answering_pings_is_left(tmp_path: Path) -> None:
    def silent(conn: PeerConnection) -> None:
        conn.wait_for(b"\x10")
        conn.send(b"\x20\x02\x00\x00")
        conn.read_for(4.0)

    peer = RawBroker([silent])
    cfg = MqttOutput("mqtt", peer.host, peer.port, "fence/out", "engine-ping", keepalive_s=1,
                     backoff=FAST)
    worker = SinkWorker(MqttDeliverer(cfg), EventStore(tmp_path / "e.db").path, FAST, Metrics(),
                        wall_clock_ms, idle_s=0.1)
    worker.start()
    try:
        wait_until(lambda: len(peer.connections) >= 2, timeout_s=10, what="a reconnect")
    finally:
        worker.stop()
        peer.close()
    assert b"\xc0\x00" in peer.connections[0].received  # PINGREQ


def test_packets_are_what_mqtt_3_1_1_says() -> None:
    assert connect_packet("engine", 30) == (b"\x10\x12\x00\x04MQTT\x04\x02\x00\x1e\x00\x06engine")
    with_login = connect_packet("e", 5, "fence", "pw")
    assert with_login[9] == 0xC2 and with_login.endswith(b"\x00\x05fence\x00\x02pw")
    assert publish_packet(b"a/b", b"{}", 7) == b"\x32\x09\x00\x03a/b\x00\x07{}"
    assert publish_packet(b"a", b"x", 1, retain=True)[0] == 0x33
    with pytest.raises(ValueError, match="packet id"):
        publish_packet(b"a", b"x", 0)


def test_an_outage_is_logged_once_not_per_attempt(
        tmp_path: Path, broker: Broker, output_cfg: MqttOutput, caplog: pytest.LogCaptureFixture) -> None:
    deliverer = MqttDeliverer(output_cfg)
    try:
        deliverer.idle()
        assert deliverer.connected
        broker.kill()
        with caplog.at_level(logging.INFO, logger="fence.sinks.mqtt"):
            for _ in range(10):  # the sink thread's idle rounds while the broker is away
                deliverer.idle()
                time.sleep(0.05)
            broker.start()

            def reconnected() -> bool:
                deliverer.idle()
                return deliverer.connected

            wait_until(reconnected, what="a reconnect")
        said = [r.getMessage() for r in caplog.records]
        assert sum("disconnected" in m for m in said) == 1, said
        assert sum("cannot connect" in m for m in said) == 1, said
        assert sum("connected to" in m for m in said) == 1, said
    finally:
        deliverer.close()


def test_the_lane_closes_when_too_much_is_unacknowledged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def silent(conn: PeerConnection) -> None:
        conn.wait_for(b"\x10")
        conn.send(b"\x20\x02\x00\x00")
        conn.read_for(3.0)

    monkeypatch.setattr("fence.sinks.mqtt.MAX_IN_FLIGHT", 3)
    peer = RawBroker([silent])
    cfg = MqttOutput("mqtt", peer.host, peer.port, "fence/out", "engine-cap", backoff=FAST)
    deliverer = MqttDeliverer(cfg)
    try:
        deliverer.idle()
        deliverer.catch_up([], complete=True)  # an empty outbox: the lane opens
        assert deliverer.publish_now(records(0, 2))
        assert not deliverer.publish_now(records(2, 2))  # 4 would be over the cap
        assert deliverer.needs_catch_up
        wait_until(lambda: records(1, 1)[0].id.encode() in peer.connections[0].received,
                   what="the first two events")
        assert records(2, 1)[0].id.encode() not in peer.connections[0].received
    finally:
        deliverer.close()
        peer.close()
