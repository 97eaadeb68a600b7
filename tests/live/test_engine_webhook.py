"""Engine with a webhook output: events raised while the web hook is down are delivered
once it is up, even after an engine restart in between (the outbox is in the store)."""

from __future__ import annotations

import time
from pathlib import Path

from fence.runtime.engine import Engine
from fence.store import EventStore
from tests.live.hook import HookHandler, serve_hook
from tests.live.support import (
    DrivenClock,
    deliver_at_arrival,
    example_fixes,
    example_site,
    load,
    run_engine,
)
from tests.support.polling import wait_until


def test_events_raised_while_hook_down_arrive_after_restart(tmp_path: Path, hook_port: int) -> None:
    toml = example_site(tmp_path, extra=f"""
[[outputs]]
type = "webhook"
url = "http://127.0.0.1:{hook_port}/fence"
timeout_s = 2.0
backoff_min_s = 0.1
backoff_max_s = 0.5
""")
    site, cfg = load(toml)
    fixes = example_fixes(limit=5000)
    run_engine(site, cfg, fixes)  # the hook never answered
    stored = [e.record.id for e in EventStore(cfg.store_path).query(limit=100_000)]
    assert stored and EventStore(cfg.store_path).outbox_pending()["webhook"][0] == len(stored)

    server = serve_hook(hook_port)
    clock = DrivenClock(fixes[-1].t_ms + 100)
    engine = Engine(site, cfg, clock_ms=clock)  # restart: recovers, then the sink drains
    engine.start()
    try:
        wait_until(lambda: len(HookHandler.received) >= len(stored))
        assert [o["id"] for o in HookHandler.received] == stored
        wait_until(lambda: EventStore(cfg.store_path).outbox_pending() == {})
    finally:
        engine.stop()
        server.shutdown()
        server.server_close()


def test_a_slow_hook_never_stalls_the_evaluation(tmp_path: Path, hook_port: int) -> None:
    toml = example_site(tmp_path, extra=f"""
[[outputs]]
type = "webhook"
url = "http://127.0.0.1:{hook_port}/fence"
timeout_s = 10.0
""")
    site, cfg = load(toml)
    fixes = example_fixes(limit=8000)
    server = serve_hook(hook_port)
    HookHandler.delay_s = 1.0  # every POST takes a second
    clock = DrivenClock(fixes[0].t_ms)
    engine = Engine(site, cfg, clock_ms=clock)
    engine.start()
    try:
        started = time.monotonic()
        deliver_at_arrival(engine, clock, fixes, 100)
        took_s = time.monotonic() - started
        stored = EventStore(cfg.store_path).count()
        pending = EventStore(cfg.store_path).outbox_pending()["webhook"][0]
        assert stored >= 10 and pending >= stored - 3  # the hook has taken at most a few
        assert took_s < 5.0, f"evaluating {len(fixes)} fixes took {took_s:.1f} s"
    finally:
        HookHandler.delay_s = 0.0
        engine.stop()
        server.shutdown()
        server.server_close()
