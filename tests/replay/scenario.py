"""A hand-written scenario on tests/replay/data/mini whose events and report numbers are
known by hand (times in seconds after ``T0``, one fix every 10 s from 0 to 150 s).

    YARD (open, max 1, min 1)      OUT (outside, 34 m from both)      TANK (restricted)
      P2 ---- P1                              OUT                            T1

- A-1 (person): OUT at 0 s; P1 at 10 s; P2 from 20 s to 100 s; P1 at 110 s; OUT from 120 s.
  Inside YARD from 10 s to 120 s.
- B-1 (person): OUT to 30 s; P1 40-60 s; OUT at 70 s; T1 80-90 s; OUT from 100 s.
  Inside YARD 40-70 s (two persons: overcrowding 40-70 s); inside TANK 80-100 s (trespass).
- V-1 (vehicle): OUT, except P1 at 50 s (inside YARD 50-60 s, not counted: persons only).

Events: overcrowding raised at 40 s (count 2) and cleared at 70 s (count 1); trespass of
B-1 in TANK raised at 80 s and cleared at 100 s; undermanning of YARD raised at 120 s
(count 0; the start-up grace ended at 30 s with A-1 inside). Every step is 10 s apart,
so nobody goes offline before 150 + 30 = 180 s.
"""

from __future__ import annotations

import json
from pathlib import Path

from gnss.instant import format_instant, parse_instant

MINI = Path(__file__).resolve().parent / "data" / "mini"
CONFIG = MINI / "fence.toml"
T0_MS = parse_instant("2026-11-28T02:00:00.000Z")

OUT = (111.5016, 40.6503)
P1 = (111.5009, 40.6503)
P2 = (111.5005, 40.6503)
T1 = (111.5023, 40.6503)


def _place_a(s: int) -> tuple[float, float]:
    if s == 0 or s >= 120:
        return OUT
    return P1 if s in (10, 110) else P2


def _place_b(s: int) -> tuple[float, float]:
    if 40 <= s <= 60:
        return P1
    return T1 if s in (80, 90) else OUT


def _place_v(s: int) -> tuple[float, float]:
    return P1 if s == 50 else OUT


PLACES = {"A-1": _place_a, "B-1": _place_b, "V-1": _place_v}
SECONDS = range(0, 151, 10)


def at(seconds: float) -> str:
    """The instant ``seconds`` after T0."""
    return format_instant(T0_MS + round(seconds * 1000))


def fix_objects() -> list[dict[str, object]]:
    """The fixes in time order (terminals in A, B, V order within a second)."""
    out: list[dict[str, object]] = []
    for s in SECONDS:
        for terminal, place in PLACES.items():
            lon, lat = place(s)
            out.append({"t": at(s), "terminal": terminal, "lat": lat, "lon": lon, "quality": 4})
    return out


def write_fix_log(path: Path) -> Path:
    """Write the scenario as contract fix JSON Lines."""
    path.write_text("".join(json.dumps(o) + "\n" for o in fix_objects()), encoding="utf-8")
    return path


EXPECTED_EVENTS = [
    (at(40), "overcrowding", "raised", "YARD", None, 2, 1),
    (at(70), "overcrowding", "cleared", "YARD", None, 1, 1),
    (at(80), "trespass", "raised", "TANK", "B-1", None, None),
    (at(100), "trespass", "cleared", "TANK", "B-1", None, None),
    (at(120), "undermanning", "raised", "YARD", None, 0, 1),
]
