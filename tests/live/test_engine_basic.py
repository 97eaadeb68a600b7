"""The engine fed directly (no broker): events equal a replay of its own recording."""

from __future__ import annotations

from pathlib import Path

import pytest

from fence.runtime.engine import Engine, EngineError
from fence.runtime.metrics import FIXES_IN
from fence.runtime.tracks import track_name
from fence.store import EventStore
from tests.live.support import (
    DrivenClock,
    event_key,
    example_fixes,
    example_site,
    final_clock,
    load,
    multiset,
    replay_recording,
    run_engine,
)


def test_direct_feed_matches_replay_of_recording(tmp_path: Path) -> None:
    toml = example_site(tmp_path, rotate_mb=0.05)
    site, cfg = load(toml)
    fixes = example_fixes(limit=3000)
    run_engine(site, cfg, fixes, delay_ms=150)  # arrival 150 ms after the GNSS time
    stored = [e.record.obj() for e in EventStore(cfg.store_path).query(limit=100_000)]
    assert len(list(cfg.tracks.dir.iterdir())) > 1  # rotated
    expected = replay_recording(site, cfg.tracks.dir, final_clock(cfg))
    assert expected, "the example raises events"
    assert multiset([event_key(o) for o in stored]) == multiset(expected)


def test_a_second_engine_on_the_same_state_is_refused(tmp_path: Path) -> None:
    site, cfg = load(example_site(tmp_path))
    first = Engine(site, cfg)
    first.start()
    try:
        with pytest.raises(EngineError, match="another engine"):
            Engine(site, cfg).start()
    finally:
        first.stop()
    again = Engine(site, cfg)  # free again once the first one stopped
    again.start()
    again.stop()


def test_a_full_disk_refuses_fixes_and_shows_in_health(tmp_path: Path) -> None:
    site, cfg = load(example_site(tmp_path))
    fix = example_fixes(limit=1)[0]
    clock = DrivenClock(fix.t_ms)
    engine = Engine(site, cfg, clock_ms=clock)
    engine.start()
    (cfg.tracks.dir / track_name(fix.t_ms)).symlink_to("/dev/full")  # writes fail: ENOSPC
    try:
        with pytest.raises(EngineError, match="recording failed"):
            engine.deliver(fix)
        health = engine.health()
        assert health["status"] == "down" and "recording failed" in str(health["failure"])
        assert engine.metrics.total(FIXES_IN) == 0  # not acknowledged, not counted
    finally:
        engine.stop()
