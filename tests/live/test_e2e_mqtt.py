"""End to end through a real mosquitto: simulated terminals publish NMEA, the engine reads
it with the MQTT input, stores events and publishes them on MQTT. The events equal a
replay of the engine's own recording; MQTT carries every stored event. Also with the
broker killed and restarted in the middle of the stream."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

from fence.cmd_demo import scaled_clock
from fence.cmd_run import build_sources
from fence.runtime.clock import wall_clock_ms
from fence.runtime.engine import Engine
from fence.runtime.metrics import FIXES_IN
from fence.runtime.tracks import read_recording
from fence.simulate.pacing import publish
from fence.simulate.scenario import Scenario
from fence.simulate.simulator import Simulator
from fence.simulate.transports import MqttOptions, MqttTransport
from fence.simulate.wire import Format
from fence.store import EventStore
from gnss.decoder import NmeaDecoder
from gnss.fix import Fix
from tests.live.mqttutil import Collector
from tests.live.support import event_key, final_clock, load, mqtt_site, multiset, replay_recording
from tests.support.broker import Broker

SPEED = 25.0


def _expected_fixes(sim: Simulator, until_ms: int) -> list[tuple[str, int]]:
    """What the decoder makes of the simulator's bytes (damaged messages included)."""
    decoders: dict[str, NmeaDecoder] = {}
    out: list[tuple[str, int]] = []
    for message in sim.messages(until_ms):
        decoder = decoders.setdefault(message.terminal, NmeaDecoder(message.terminal))
        out += [(i.terminal, i.t_ms) for i in decoder.feed(message.payload) if isinstance(i, Fix)]
    return out


def _run(tmp_path: Path, broker: Broker, client_id: str,
         during: Callable[[float], None] | None = None) -> None:
    toml = mqtt_site(tmp_path, broker.host, broker.port, client_id=client_id)
    site, cfg = load(toml)
    start_ms = wall_clock_ms() // 1000 * 1000
    sim = Simulator(site, start_ms=start_ms, seed=3, fmt=Format.NMEA, stagger=True,
                    scenario=Scenario.ALL_EVENTS)
    assert sim.duration_s is not None
    duration_s = min(sim.duration_s, 240.0)
    until_ms = start_ms + int(duration_s * 1000)
    prefix = f"fence/{cfg.slug}"
    collector = Collector(broker, f"{prefix}/events/#", client_id=f"{client_id}-watch")
    engine = Engine(site, cfg, sources=build_sources(site, cfg),
                    clock_ms=scaled_clock(start_ms, SPEED))
    engine.start()
    try:
        source = engine.sources[0]
        assert source.subscribed.wait(10)  # type: ignore[attr-defined]
        transport = MqttTransport(MqttOptions(broker.host, broker.port, prefix,
                                              client_id=f"{client_id}-sim"), Format.NMEA)
        player = threading.Thread(target=publish, args=(sim.messages(until_ms), transport.send),
                                  kwargs={"start_ms": start_ms, "speed": SPEED})
        player.start()
        if during is not None:
            during(duration_s / SPEED)
        player.join()
        transport.close()
        expected = _expected_fixes(sim, until_ms)
        deadline = time.monotonic() + 120  # the test broker saves after every message: ~200 msg/s
        while engine.metrics.total(FIXES_IN) < len(expected) - 40 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)
    finally:
        engine.stop()
    stored = [e.record.obj() for e in EventStore(cfg.store_path).query(limit=100_000)]
    assert len(stored) > 10
    # live events == replay of the recording with its arrival times (contract section 2)
    assert multiset([event_key(o) for o in stored]) == multiset(replay_recording(site, cfg.tracks.dir, final_clock(cfg)))
    # every stored event went out on MQTT (at least once), on its type's topic
    got = collector.wait_for(
        lambda msgs: {json.loads(p)["id"] for _, p, _ in msgs} >= {o["id"] for o in stored}, 30)
    assert all(topic == f"{prefix}/events/{json.loads(p)['type']}" for topic, p, _ in got)
    collector.close()
    # no fix lost on the way: every decodable epoch was recorded (the last open epoch of
    # each terminal stays in its decoder until the stream ends)
    recorded = {(r.fix.terminal, r.fix.t_ms) for r in read_recording(cfg.tracks.dir)}
    missing = [k for k in expected if k not in recorded]
    assert len(missing) <= len({t for t, _ in expected}), missing[:10]


def test_simulator_through_mosquitto_matches_replay(tmp_path: Path, broker: Broker) -> None:
    _run(tmp_path, broker, "e2e-plain")


def test_broker_killed_and_restarted_mid_stream(tmp_path: Path, broker: Broker) -> None:
    def outage(wall_s: float) -> None:
        time.sleep(wall_s * 0.3)
        broker.kill()
        time.sleep(2.0)
        broker.start()

    _run(tmp_path, broker, "e2e-outage", outage)
