"""``fence run`` through mosquitto, SIGKILLed at random moments and restarted while a
gateway keeps publishing (QoS 1): every published fix ends up recorded (the broker
re-delivers what the engine had not acknowledged), and the stored events are exactly a
replay of the recording: none lost, none twice."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from fence.runtime.tracks import read_recording
from fence.store import EventStore
from gnss.fixjson import fix_to_line
from tests.live.support import (
    event_key,
    example_fixes,
    final_clock,
    load,
    mqtt_site,
    multiset,
    replay_recording,
)
from tests.support.broker import Broker
from tests.support.paths import REPO

N_FIXES = 2500


def _engine(toml: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "fence.cli", "run", "--config", str(toml), "--log-level", "WARNING"],
        cwd=toml.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


@pytest.mark.parametrize("seed", [11, 12])
def test_fence_run_sigkill_through_mqtt(tmp_path: Path, broker: Broker, seed: int) -> None:
    rng = random.Random(seed)
    toml = mqtt_site(tmp_path, broker.host, broker.port, client_id=f"crash-{seed}")
    site, cfg = load(toml)
    fixes = example_fixes(limit=N_FIXES)
    engine = _engine(toml)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"gateway-{seed}")
    pub.max_inflight_messages_set(100)
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    prefix = f"fence/{cfg.slug}"
    # the first start creates the engine's persistent session: until it has subscribed,
    # the broker keeps nothing for it; a first fix, sent until it is recorded, shows that
    warm = fixes[0]
    deadline = time.monotonic() + 30
    while not any(r.fix.terminal == warm.terminal for r in read_recording(cfg.tracks.dir)):
        assert time.monotonic() < deadline, "the engine never subscribed"
        pub.publish(f"{prefix}/{warm.terminal}/fix", fix_to_line(warm), qos=1)
        time.sleep(0.2)

    def publish_all() -> None:
        for fix in fixes:
            pub.publish(f"{prefix}/{fix.terminal}/fix", fix_to_line(fix), qos=1)
            time.sleep(0.002)

    publisher = threading.Thread(target=publish_all)
    publisher.start()
    try:
        for _ in range(3):
            time.sleep(rng.uniform(1.5, 4.0))
            os.kill(engine.pid, signal.SIGKILL)
            engine.wait()
            engine = _engine(toml)
        publisher.join()

        def recorded() -> list[tuple[str, int]]:
            return [(r.fix.terminal, r.fix.t_ms) for r in read_recording(cfg.tracks.dir)]

        deadline = time.monotonic() + 120  # the test broker saves after every message: ~200 msg/s
        while set(recorded()) != {(f.terminal, f.t_ms) for f in fixes}:
            if time.monotonic() > deadline:
                got = set(recorded())
                lost = [i for i, f in enumerate(fixes) if (f.terminal, f.t_ms) not in got]
                raise AssertionError(f"{len(lost)} published fixes not recorded: {lost[:20]}")
            assert engine.poll() is None, engine.stderr.read().decode()[-2000:] if engine.stderr else ""
            time.sleep(0.5)
        time.sleep(1.0)
    finally:
        pub.loop_stop()
        pub.disconnect()
        engine.send_signal(signal.SIGTERM)
        _out, err = engine.communicate(timeout=30)
    assert engine.returncode == 0, err.decode()[-2000:]
    stored = EventStore(cfg.store_path).query(limit=100_000)
    ids = [e.record.id for e in stored]
    assert len(ids) == len(set(ids))
    keys = [event_key(e.record.obj()) for e in stored]
    assert keys, "the example raises events"
    assert multiset(keys) == multiset(replay_recording(site, cfg.tracks.dir, final_clock(cfg)))
    assert len({json.loads(e.record.line)["id"].split("-")[0] for e in stored}) == 1  # one run
