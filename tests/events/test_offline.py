"""offline (contract 5.6, 3.1): table of hand-written scenarios with exact events."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.events.scenario import Fx, Scenario, Tick, check, chrono, every

ZONE = {"id": "A", "rect": (0, 0, 100, 100)}
IN, OUT = (50.0, 50.0), (-50.0, 50.0)
QUIET = {"still_s": 0}


SCENARIOS = [
    Scenario("raised at last_heard + offline_after_s", [ZONE],
             [Fx(0, "W-1", *OUT), Tick(40)],
             [(30, "offline", "raised", None, "W-1")], defaults=QUIET),
    Scenario("a fix exactly at the deadline: raised, then cleared, at the same instant", [ZONE],
             [Fx(0, "W-1", *OUT), Fx(30, "W-1", *OUT)],
             [(30, "offline", "raised", None, "W-1"), (30, "offline", "cleared", None, "W-1")],
             defaults=QUIET),
    Scenario("a fix 1 ms before the deadline keeps it online", [ZONE],
             [Fx(0, "W-1", *OUT), Fx(29.999, "W-1", *OUT)],
             [], defaults=QUIET, until_s=59.998),
    Scenario("a fix without position is heard", [ZONE],
             [Fx(0, "W-1", *OUT), Fx(20, "W-1", None, None, quality=0)],
             [(50, "offline", "raised", None, "W-1")], defaults=QUIET, until_s=50),
    Scenario("a fix of an unaccepted quality clears offline", [ZONE],
             [Fx(0, "W-1", *OUT), Tick(40), Fx(45, "W-1", *OUT, quality=6)],
             [(30, "offline", "raised", None, "W-1"), (45, "offline", "cleared", None, "W-1")],
             defaults=QUIET),
    Scenario("a fix too old does not bring the terminal back; a newer one does",
             [ZONE],
             [Fx(0, "W-1", *OUT), *every("W-2", 0, 100, 10, OUT),
              Fx(65, "W-1", *OUT), Fx(71, "W-1", *OUT)],
             [(30, "offline", "raised", None, "W-1"), (100, "offline", "cleared", None, "W-1")],
             defaults=QUIET),
    Scenario("offline terminals are not counted but keep their memberships",
             [{**ZONE, "max_occupancy": 1}],
             chrono([Fx(0, "W-1", *IN), Fx(0, "W-2", *IN)], every("W-1", 10, 40, 10, IN),
                    [Fx(35, "W-2", *IN)]),
             [(0, "overcrowding", "raised", "A", None, 2, 1),
              (30, "offline", "raised", None, "W-2"),
              (30, "overcrowding", "cleared", "A", None, 1, 1),
              (35, "offline", "cleared", None, "W-2"),
              (35, "overcrowding", "raised", "A", None, 2, 1)],
             defaults=QUIET),
    Scenario("a duplicate fix is still heard", [ZONE],
             [Fx(10, "W-1", *OUT), Fx(10, "W-1", *OUT), Tick(45)],
             [(40, "offline", "raised", None, "W-1")], defaults=QUIET),
    Scenario("a late fix takes the clock's time", [ZONE],
             [Fx(0, "W-1", *OUT), Fx(100, "W-2", *OUT), Fx(90, "W-1", *OUT), Tick(200)],
             [(30, "offline", "raised", None, "W-1"), (100, "offline", "cleared", None, "W-1"),
              (120, "offline", "raised", None, "W-1"), (130, "offline", "raised", None, "W-2")],
             defaults=QUIET),
    Scenario("the first fix of a terminal older than the clock raises at once", [ZONE],
             [Fx(100, "W-2", *OUT), Fx(50, "W-1", *OUT)],
             [(100, "offline", "raised", None, "W-1")], defaults=QUIET),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_offline(tmp_path: Path, scenario: Scenario) -> None:
    check(tmp_path, scenario)
