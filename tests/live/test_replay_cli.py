"""The live engine's recording through ``fence replay`` (helper D's command): the same
events as the store, when the replay's clock is run on to the engine's last tick."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from fence.runtime.engine import Engine
from fence.store import EventStore
from gnss.instant import format_instant
from tests.live.support import (
    DrivenClock,
    deliver_at_arrival,
    event_key,
    example_fixes,
    example_site,
    final_clock,
    load,
    multiset,
)
from tests.support.paths import REPO


def test_fence_replay_of_the_recording_gives_the_stored_events(tmp_path: Path) -> None:
    toml = example_site(tmp_path, rotate_mb=0.3)
    site, cfg = load(toml)
    fixes = example_fixes(limit=12_000)
    clock = DrivenClock(fixes[0].t_ms)
    engine = Engine(site, cfg, clock_ms=clock)
    engine.start()
    deliver_at_arrival(engine, clock, fixes, 250)
    clock.set(fixes[-1].t_ms + 90_000)  # ticks after the last fix: offline and others fire
    deadline = fixes[-1].t_ms + 90_000
    while (clock_ms := engine.view().clock_ms) is None or clock_ms < deadline:
        time.sleep(0.1)
    engine.stop()
    stored = [event_key(e.record.obj()) for e in EventStore(cfg.store_path).query(limit=100_000)]
    result = subprocess.run(
        [sys.executable, "-m", "fence.cli", "replay", "--config", str(toml), "--no-progress",
         "--until", format_instant(final_clock(cfg)), str(cfg.tracks.dir)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    replayed = [event_key(json.loads(line)) for line in result.stdout.splitlines() if line.strip()]
    assert len(list(cfg.tracks.dir.iterdir())) > 1
    assert stored and multiset(replayed) == multiset(stored)
