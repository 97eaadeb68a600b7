"""Sinks from the outbox against real services: mosquitto killed and restarted, a webhook
server down then up, a JSON Lines file. Every event arrives; order is kept per sink."""

from __future__ import annotations

import json
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from events.model import EventState, EventType
from fence.config import Backoff, MqttOutput
from fence.runtime.clock import wall_clock_ms
from fence.runtime.metrics import SINK_DELIVERED, SINK_FAILURES, Metrics
from fence.sinks.jsonl import JsonlDeliverer
from fence.sinks.mqtt import MqttDeliverer
from fence.sinks.mqttpaho import PahoMqttDeliverer
from fence.sinks.state import StateBoard
from fence.sinks.webhook import WebhookDeliverer
from fence.sinks.worker import SinkWorker
from fence.store import EventRecord, EventStore
from tests.live.hook import HookHandler, serve_hook
from tests.live.mqttutil import Collector
from tests.support.broker import Broker
from tests.support.polling import wait_until

FAST = Backoff(0.1, 0.5)
MQTT_SINKS = pytest.mark.parametrize("sink", [MqttDeliverer, PahoMqttDeliverer], ids=["lean", "paho"])
"""The MQTT tests run on the lean sink and on its paho-mqtt reference."""


def records(start: int, n: int) -> list[EventRecord]:
    """n trespass events with ids start..start+n-1."""
    out = []
    for i in range(start, start + n):
        obj = {"t": "2026-11-28T08:00:00.000Z", "type": "trespass", "state": "raised",
               "zone": f"Z{i}", "terminal": "W-1", "id": f"r-{i:012d}-trespass-raised"}
        out.append(EventRecord(obj["id"], 0, EventType.TRESPASS, EventState.RAISED, obj["zone"],
                               "W-1", None, None, json.dumps(obj)))
    return out
@MQTT_SINKS
def test_mqtt_sink_delivers_across_broker_kill_and_restart(
        tmp_path: Path, broker: Broker, sink: type[MqttDeliverer | PahoMqttDeliverer]) -> None:
    store = EventStore(tmp_path / "e.db")
    board = StateBoard()
    cfg = MqttOutput("mqtt", broker.host, broker.port, "fence/test", "engine-test", backoff=FAST)
    collector = Collector(broker, "fence/test/#")
    metrics = Metrics()
    worker = SinkWorker(sink(cfg, board, lambda: [r.obj() for r in
                                                           (e.record for e in store.open_alarms())],
                                      ack_timeout_s=2.0),
                        store.path, FAST, metrics, wall_clock_ms)
    worker.start()
    try:
        board.set_occupancy({"GATE": 2}, 1000)
        store.add(records(0, 20), ["mqtt"], wall_clock_ms())
        board.alarms_changed()
        worker.wake()
        collector.wait_for(lambda got: sum("/events/" in t for t, _, _ in got) >= 20)
        broker.kill()
        store.add(records(20, 20), ["mqtt"], wall_clock_ms())  # raised while the broker is down
        worker.wake()
        wait_until(lambda: metrics.get(SINK_FAILURES, "mqtt") > 0)
        assert store.outbox_pending()["mqtt"][0] == 20
        broker.start()
        collector.wait_for(lambda got: {json.loads(p)["id"] for t, p, _ in got if "/events/" in t}
                           == {r.id for r in records(0, 40)}, 30)
        wait_until(lambda: store.outbox_pending() == {})
        got = collector.snapshot()
        states = {t: json.loads(p) for t, p, retained in got if "/state/" in t}
        assert states["fence/test/state/occupancy/GATE"]["count"] == 2
        assert len(states["fence/test/state/alarms"]) >= 20
        assert all(t == "fence/test/events/trespass" for t, _, _ in got if "/events/" in t)
        assert metrics.get(SINK_DELIVERED, "mqtt") == 40
    finally:
        worker.stop()
        collector.close()


def test_webhook_down_then_up_then_erroring(tmp_path: Path, hook_port: int) -> None:
    store = EventStore(tmp_path / "e.db")
    metrics = Metrics()
    worker = SinkWorker(WebhookDeliverer("hook", f"http://127.0.0.1:{hook_port}/alerts", {}, 2.0),
                        store.path, FAST, metrics, wall_clock_ms)
    worker.start()
    server: ThreadingHTTPServer | None = None
    try:
        store.add(records(0, 5), ["hook"], wall_clock_ms())  # the server is not there yet
        worker.wake()
        wait_until(lambda: metrics.get(SINK_FAILURES, "hook") >= 2)
        assert store.outbox_pending()["hook"][0] == 5
        server = serve_hook(hook_port)
        wait_until(lambda: len(HookHandler.received) == 5)
        HookHandler.fail_first = 3  # the server answers 503 three times
        store.add(records(5, 5), ["hook"], wall_clock_ms())
        worker.wake()
        wait_until(lambda: len(HookHandler.received) == 10)
        assert [o["id"] for o in HookHandler.received] == [r.id for r in records(0, 10)]
        wait_until(lambda: store.outbox_pending() == {})
    finally:
        worker.stop()
        if server is not None:
            server.shutdown()
            server.server_close()


def test_jsonl_sink_appends_lines(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "e.db")
    out = tmp_path / "out" / "events.jsonl"
    worker = SinkWorker(JsonlDeliverer("file", out), store.path, FAST, Metrics(), wall_clock_ms)
    worker.start()
    try:
        store.add(records(0, 7), ["file"], wall_clock_ms())
        worker.wake()
        wait_until(lambda: out.exists() and len(out.read_text().splitlines()) == 7)
        assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == \
            [r.id for r in records(0, 7)]
    finally:
        worker.stop()


@MQTT_SINKS
def test_mqtt_sink_pipelines_a_burst_in_order_and_once(
        tmp_path: Path, broker: Broker, sink: type[MqttDeliverer | PahoMqttDeliverer]) -> None:
    store = EventStore(tmp_path / "e.db")
    cfg = MqttOutput("mqtt", broker.host, broker.port, "fence/burst", "engine-burst", backoff=FAST)
    collector = Collector(broker, "fence/burst/events/#", client_id="burst-collector")
    metrics = Metrics()
    worker = SinkWorker(sink(cfg, ack_timeout_s=5.0), store.path, FAST, metrics,
                        wall_clock_ms)
    worker.start()
    try:
        for k in range(30):  # stored while earlier rows wait for their PUBACKs
            store.add(records(10 * k, 10), ["mqtt"], wall_clock_ms())
            worker.wake()
        got = collector.wait_for(lambda got: len(got) >= 300, 30)
        wait_until(lambda: store.outbox_pending() == {})
    finally:
        worker.stop()
        collector.close()
    assert [json.loads(p)["id"] for _, p, _ in got] == [r.id for r in records(0, 300)]
    assert metrics.get(SINK_DELIVERED, "mqtt") == 300
    assert metrics.get(SINK_FAILURES, "mqtt") == 0
