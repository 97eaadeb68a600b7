"""The real command lines end to end: ``fence simulate`` publishes NMEA to mosquitto,
``fence run`` (a separate process, the wall clock) stores events and publishes them on
MQTT and into a JSON Lines file; then SIGTERM. Store, MQTT, file and a replay of the
recording all agree."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fence.store import EventStore
from tests.live.mqttutil import Collector
from tests.live.support import (
    event_key,
    final_clock,
    iter_jsonl,
    load,
    mqtt_site,
    multiset,
    replay_recording,
)
from tests.support.broker import Broker
from tests.support.paths import REPO

ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def test_fence_simulate_to_fence_run(tmp_path: Path, broker: Broker) -> None:
    toml = mqtt_site(tmp_path, broker.host, broker.port, client_id="cli-e2e",
                     extra='\n[[outputs]]\ntype = "jsonl"\npath = "var/events.jsonl"\n')
    site, cfg = load(toml)
    prefix = f"fence/{cfg.slug}"
    collector = Collector(broker, f"{prefix}/events/#", client_id="cli-e2e-watch")
    engine = subprocess.Popen(
        [sys.executable, "-m", "fence.cli", "run", "--config", str(toml)],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        time.sleep(2.0)  # the engine's session exists before the terminals publish
        sim = subprocess.run(
            [sys.executable, "-m", "fence.cli", "simulate", "--config", str(toml),
             "--mqtt", f"{broker.host}:{broker.port}", "--topic-prefix", prefix,
             "--scenario", "all-events", "--speed", "15", "--duration-s", "300", "--stagger"],
            cwd=tmp_path, capture_output=True, text=True, timeout=240, env=ENV)
        assert sim.returncode == 0, sim.stderr[-2000:]
        time.sleep(3.0)
    finally:
        engine.send_signal(signal.SIGTERM)
        _out, err = engine.communicate(timeout=30)
    assert engine.returncode == 0, err[-2000:]
    stored = [e.record.obj() for e in EventStore(cfg.store_path).query(limit=100_000)]
    assert len(stored) >= 5, "the scripted scenario raised too little"
    assert multiset([event_key(o) for o in stored]) == \
        multiset(replay_recording(site, cfg.tracks.dir, final_clock(cfg)))
    ids = {o["id"] for o in stored}
    collector.wait_for(lambda got: {json.loads(p)["id"] for _, p, _ in got} >= ids, 20)
    collector.close()
    deadline = time.monotonic() + 10
    while {o["id"] for o in iter_jsonl(cfg.store_path.parent / "events.jsonl")} != ids:
        assert time.monotonic() < deadline, "the JSON Lines output misses events"
        time.sleep(0.2)
