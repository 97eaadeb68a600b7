"""Live versus replay, with real processes: ``fence simulate`` publishes NMEA to a real
mosquitto, ``fence run`` evaluates it live and records its track; ``fence replay`` of
that recording (a directory of rotated track files) gives exactly the live events."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

from tests.live.support import mqtt_site
from tests.replay.support import fence_replay, keys_of_lines
from tests.support.broker import Broker
from tests.support.paths import REPO


def _fence(*args: str | Path, **kwargs: object) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc: subprocess.Popen[str] = subprocess.Popen(  # type: ignore[call-overload]
        [sys.executable, "-m", "fence.cli", *map(str, args)], cwd=REPO, env=env, text=True, **kwargs)
    return proc


def _wait_for_line(proc: subprocess.Popen[str], needle: str, timeout_s: float) -> list[str]:
    """Lines of the process's stderr up to the first containing ``needle`` (then keep draining)."""
    lines: queue.Queue[str] = queue.Queue()

    def drain() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)

    threading.Thread(target=drain, daemon=True).start()
    seen: list[str] = []
    while True:
        line = lines.get(timeout=timeout_s)
        seen.append(line)
        if needle in line:
            return seen


def test_live_engine_events_equal_fence_replay_of_its_recording(tmp_path: Path, broker: Broker) -> None:
    toml = mqtt_site(tmp_path, broker.host, broker.port, client_id="replay-live")
    engine = _fence("run", "--config", toml, stderr=subprocess.PIPE)
    try:
        _wait_for_line(engine, "connected", 30)
        sim = _fence("simulate", "--config", toml, "--mqtt", f"{broker.host}:{broker.port}",
                     "--scenario", "all-events", "--seed", "5", "--speed", "20",
                     "--duration-s", "150", "--stagger", stderr=subprocess.PIPE)
        assert sim.wait(timeout=120) == 0
        # the engine has every message once the broker has delivered them; give it a moment
        threading.Event().wait(3.0)
    finally:
        engine.send_signal(signal.SIGTERM)
        assert engine.wait(timeout=60) == 0
    stored = _fence("events", "--config", toml, "--limit", "100000", stdout=subprocess.PIPE)
    out, _ = stored.communicate(timeout=60)
    live = Counter(keys_of_lines(out.splitlines()))
    assert sum(live.values()) > 5
    tracks = tmp_path / "var" / "tracks"
    assert any(tracks.iterdir())
    replayed = fence_replay("--config", toml, tracks)
    assert replayed.returncode == 0, replayed.stderr
    assert Counter(keys_of_lines(replayed.stdout.splitlines())) == live
    assert {json.loads(line)["type"] for line in out.splitlines()} >= {"trespass", "overcrowding"}
