"""Periodic snapshots written by a forked child: the file holds exactly the evaluator
state of the moment of the fork, and the recording it points into is synced first."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fence.runtime import engine as engine_module
from fence.runtime.engine import Engine
from fence.runtime.snapshot import load_snapshot
from tests.live.support import DrivenClock, deliver_at_arrival, example_fixes, example_site, load
from tests.support.polling import wait_until


def test_forked_snapshot_equals_the_evaluator_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert engine_module.FORK_SNAPSHOTS
    forks: list[int] = []
    real_fork = os.fork

    def counting_fork() -> int:
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", counting_fork)
    site, cfg = load(example_site(tmp_path, tick_s=0.05, snapshot_s=1.0))
    fixes = example_fixes(limit=1500)
    clock = DrivenClock(fixes[0].t_ms + 100)
    engine = Engine(site, cfg, clock_ms=clock)
    engine.start()
    path = cfg.runtime.state_dir / "snapshot.json"
    try:
        deliver_at_arrival(engine, clock, fixes, 100)
        end_ms = fixes[-1].t_ms + 60_000
        clock.set(end_ms)  # the next tick advances to it and is due for a snapshot
        wait_until(lambda: (s := load_snapshot(path)) is not None and s.last_rx_ms == end_ms,
                   what="the snapshot of the last tick")
        snap = load_snapshot(path)
        assert snap is not None
        state = json.loads(json.dumps(engine.evaluator.snapshot(), separators=(",", ":")))
        assert snap.evaluator == state
        assert snap.position == engine.recorder.position
        assert not list(path.parent.glob("*.fork"))
        assert forks  # the periodic snapshots came from children
    finally:
        engine.stop()
