"""Reads delivered in one call (``Engine.deliver_many``: one arrival time, one recording
write, ``Evaluator.feed_many`` from FEED_MANY_MIN fixes on) store exactly the events of
the same fixes delivered one by one at the same arrival times."""

from __future__ import annotations

import random
from pathlib import Path

from fence.runtime.engine import FEED_MANY_MIN, Engine
from fence.runtime.tracks import read_recording
from fence.store import EventStore
from tests.live.support import DrivenClock, event_key, example_fixes, example_site, load


def _run(tmp: Path, chunks: list[list[int]], batched: bool) -> tuple[list[tuple[object, ...]], int]:
    tmp.mkdir()
    site, cfg = load(example_site(tmp))
    fixes = example_fixes(limit=3000)
    clock = DrivenClock(fixes[0].t_ms + 100)
    engine = Engine(site, cfg, clock_ms=clock)
    engine.start()
    try:
        for chunk in chunks:
            clock.set(fixes[chunk[-1]].t_ms + 100)  # the read arrives after its last fix
            if batched:
                engine.deliver_many([fixes[i] for i in chunk], "test")
            else:
                for i in chunk:
                    engine.deliver(fixes[i], "test")
    finally:
        engine.stop()
    stored = EventStore(cfg.store_path).query(limit=100_000)
    lines = sum(1 for _ in read_recording(cfg.tracks.dir))
    return sorted((event_key(e.record.obj()) for e in stored), key=repr), lines


def test_batched_reads_store_the_events_of_one_by_one_delivery(tmp_path: Path) -> None:
    rng = random.Random(3)
    chunks: list[list[int]] = []
    i = 0
    while i < 3000:
        size = rng.choice([1, 2, FEED_MANY_MIN - 1, FEED_MANY_MIN, 25, 60])
        chunks.append(list(range(i, min(i + size, 3000))))
        i += size
    one_by_one, lines_a = _run(tmp_path / "a", chunks, batched=False)
    batched, lines_b = _run(tmp_path / "b", chunks, batched=True)
    assert one_by_one, "the example raises events"
    assert batched == one_by_one
    assert lines_a == lines_b == 3000
