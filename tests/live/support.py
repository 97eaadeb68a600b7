"""Helpers for the live-engine tests: config files, a driven clock, fix streams, replay."""

from __future__ import annotations

import gzip
import json
import shutil
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from events.evaluator import Evaluator
from events.model import Event
from fence.config import EngineConfig, engine_config
from fence.runtime.engine import Engine
from fence.runtime.snapshot import load_snapshot
from fence.runtime.tracks import read_recording
from gnss.fix import Fix
from gnss.fixjson import parse_fix_line
from gnss.instant import format_instant
from tests.support.paths import SPEC_EXAMPLES
from zones.model import Site
from zones.site import load_site

ENGINE_SECTIONS = """
[store]
path = "var/events.db"
[tracks]
dir = "var/tracks"
rotate_mb = {rotate_mb}
[runtime]
state_dir = "var/state"
tick_s = {tick_s}
snapshot_s = {snapshot_s}
"""


class DrivenClock:
    """A clock the test moves by hand (epoch ms); thread-safe."""

    def __init__(self, start_ms: int) -> None:
        self._now = start_ms
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            return self._now

    def set(self, t_ms: int) -> None:
        """Move the clock (never back)."""
        with self._lock:
            self._now = max(self._now, t_ms)


def deliver_at_arrival(engine: Engine, clock: DrivenClock, fixes: Sequence[Fix], delay_ms: int) -> None:
    """Deliver each fix with the clock moved to its arrival, ``delay_ms`` after its GNSS time."""
    for fix in fixes:
        clock.set(fix.t_ms + delay_ms)
        engine.deliver(fix)


def run_engine(site: Site, cfg: EngineConfig, fixes: Sequence[Fix], delay_ms: int = 100) -> None:
    """A whole engine run on a driven clock: start, deliver every fix at its arrival, stop."""
    clock = DrivenClock(fixes[0].t_ms + delay_ms)
    engine = Engine(site, cfg, clock_ms=clock)
    engine.start()
    try:
        deliver_at_arrival(engine, clock, fixes, delay_ms)
    finally:
        engine.stop()


def example_site(tmp: Path, name: str = "s11", extra: str = "", *, tick_s: float = 1.0,
                 snapshot_s: float = 10.0, rotate_mb: float = 64.0,
                 engine_sections: bool = True) -> Path:
    """Copy a spec example's site into ``tmp`` and append engine sections; returns the TOML."""
    src = SPEC_EXAMPLES / name
    for file in ("zones.geojson", "terminals.csv"):
        if (src / file).exists():
            shutil.copy(src / file, tmp / file)
    toml = tmp / "fence.toml"
    toml.write_text(
        (src / "fence.toml").read_text()
        + (ENGINE_SECTIONS.format(tick_s=tick_s, snapshot_s=snapshot_s, rotate_mb=rotate_mb)
           if engine_sections else "")
        + extra
    )
    return toml


def load(toml: Path) -> tuple[Site, EngineConfig]:
    """The site and engine config of a TOML file."""
    site = load_site(toml)
    return site, engine_config(site.sections, toml, site.name)


def example_fixes(name: str = "s11", limit: int | None = None) -> list[Fix]:
    """The fixes of a spec example, in file order."""
    fixes: list[Fix] = []
    with gzip.open(SPEC_EXAMPLES / name / "fixes.jsonl.gz", "rt") as handle:
        for line in handle:
            if limit is not None and len(fixes) >= limit:
                break
            fixes.append(parse_fix_line(line))
    return fixes


def event_key(obj: dict[str, Any]) -> tuple[Any, ...]:
    """What the contract compares: t, type, state, zone, terminal, count, limit."""
    return (obj["t"], obj["type"], obj["state"], obj["zone"], obj["terminal"],
            obj.get("count"), obj.get("limit"))


def contract_keys(events: Sequence[Event]) -> list[tuple[Any, ...]]:
    """Contract keys of evaluator events (same shape as ``event_key``)."""
    return [
        (format_instant(e.t_ms), e.type.value, e.state.value, e.zone, e.terminal, e.count, e.limit)
        for e in events
    ]


def replay_recording(site: Site, tracks: Path, until_ms: int | None = None) -> list[tuple[Any, ...]]:
    """Replay a track recording with its arrival times (contract section 2), running the
    clock on to ``until_ms`` at the end (the live engine's last tick) when given."""
    ev = Evaluator(site)
    out: list[Event] = []
    for rec in read_recording(tracks):
        out += ev.advance_to(rec.rx_ms)
        out += ev.feed(rec.fix)
    if until_ms is not None:
        out += ev.advance_to(until_ms)
    return contract_keys(out)


def final_clock(cfg: EngineConfig) -> int:
    """The evaluator clock of an engine that has stopped (from its last snapshot)."""
    snap = load_snapshot(cfg.runtime.state_dir / "snapshot.json")
    assert snap is not None
    clock: int = snap.evaluator["clock_ms"]
    return clock


def multiset(keys: Sequence[tuple[Any, ...]]) -> Counter[tuple[Any, ...]]:
    """Events compared as a multiset (the order inside one instant is the engine's own)."""
    return Counter(keys)


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Objects of a JSON Lines file."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def mqtt_site(tmp: Path, host: str, port: int, *, client_id: str = "fence-engine-test",
              extra: str = "", name: str = "s11") -> Path:
    """A spec example site with an MQTT input and an MQTT output on the given broker."""
    return example_site(tmp, name, extra=f"""
[[inputs]]
type = "mqtt"
host = "{host}"
port = {port}
client_id = "{client_id}"
reconnect_max_s = 1

[[outputs]]
type = "mqtt"
host = "{host}"
port = {port}
client_id = "{client_id}-out"
backoff_min_s = 0.2
backoff_max_s = 1.0

[http]
listen = "127.0.0.1:0"
""" + extra, tick_s=0.2, snapshot_s=5.0)
