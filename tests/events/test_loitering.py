"""loitering (contract 5.4): table of hand-written scenarios with exact events."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.events.scenario import Fx, Scenario, check, every

IN, OUT = (40.0, 50.0), (-10.0, 50.0)
QUIET = {"still_s": 0, "offline_after_s": 100000}
DWELL = {"id": "P", "rect": (0, 0, 100, 100), "max_dwell_s": 60}

SCENARIOS = [
    Scenario("raised at entry + max_dwell_s; cleared when leaving", [DWELL],
             [Fx(0, "W-1", *OUT), *every("W-1", 10, 80, 10, IN), Fx(90, "W-1", *OUT)],
             [(70, "loitering", "raised", "P", "W-1"), (90, "loitering", "cleared", "P", "W-1")],
             defaults=QUIET),
    Scenario("leaving before the limit: nothing; re-entering starts a new stay", [DWELL],
             [Fx(0, "W-1", *IN), Fx(50, "W-1", *OUT), Fx(60, "W-1", *IN), Fx(100, "W-1", *IN)],
             [], defaults=QUIET, until_s=119.999),
    Scenario("the new stay runs from the re-entry", [DWELL],
             [Fx(0, "W-1", *IN), Fx(50, "W-1", *OUT), Fx(60, "W-1", *IN)],
             [(120, "loitering", "raised", "P", "W-1")], defaults=QUIET, until_s=120),
    Scenario("an offline terminal inside still loiters", [DWELL],
             [Fx(0, "W-1", *IN)],
             [(30, "offline", "raised", None, "W-1"), (60, "loitering", "raised", "P", "W-1")],
             defaults={"still_s": 0}, until_s=60),
    Scenario("leaving exactly at the deadline: raised by the timer, then cleared by the fix",
             [DWELL],
             [Fx(0, "W-1", *OUT), *every("W-1", 10, 60, 10, IN), Fx(70, "W-1", *OUT)],
             [(70, "loitering", "raised", "P", "W-1"), (70, "loitering", "cleared", "P", "W-1")],
             defaults=QUIET),
    Scenario("a zero dwell limit raises at entry", [{**DWELL, "max_dwell_s": 0}],
             [Fx(0, "W-1", *OUT), Fx(10, "W-1", *IN)],
             [(10, "loitering", "raised", "P", "W-1")], defaults=QUIET),
    Scenario("vehicles loiter too", [DWELL],
             [Fx(0, "TR-1", *IN)], [(60, "loitering", "raised", "P", "TR-1")],
             terminals=[{"id": "TR-1", "kind": "vehicle", "roles": [], "name": "Truck 1"}],
             defaults=QUIET, until_s=60),
    Scenario("a replay ends with its last input: timers not yet due stay silent", [DWELL],
             [Fx(0, "W-1", *IN), Fx(59.999, "W-1", *IN)], [], defaults=QUIET),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_loitering(tmp_path: Path, scenario: Scenario) -> None:
    check(tmp_path, scenario)
