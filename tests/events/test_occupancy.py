"""overcrowding and undermanning (contract 5.2, 5.3): hand-written scenarios, exact events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.events.scenario import Fx, Scenario, Tick, check

IN, OUT = (15.0, 50.0), (-10.0, 50.0)  # 25 m apart: at most 5 m/s over 5 s
QUIET = {"still_s": 0, "offline_after_s": 100000}
GRACE = {"still_s": 0, "offline_after_s": 30}
TRUCK = {"id": "TR-1", "kind": "vehicle", "roles": [], "name": "Truck 1"}


def zone(**props: Any) -> dict[str, Any]:
    return {"id": "Z", "rect": (0, 0, 100, 100), **props}


SCENARIOS = [
    Scenario("overcrowding raised after hold_s, cleared at the first evaluation at or below",
             [zone(max_occupancy=1, hold_s=10)],
             [Fx(0, "W-1", *IN), Fx(0, "W-2", *OUT), Fx(5, "W-2", *IN), Tick(20), Fx(25, "W-2", *OUT)],
             [(15, "overcrowding", "raised", "Z", None, 2, 1),
              (25, "overcrowding", "cleared", "Z", None, 1, 1)], defaults=QUIET),
    Scenario("a hold that breaks raises nothing",
             [zone(max_occupancy=1, hold_s=10)],
             [Fx(0, "W-1", *IN), Fx(0, "W-2", *OUT), Fx(5, "W-2", *IN), Fx(10, "W-2", *OUT),
              Tick(30)], [], defaults=QUIET),
    Scenario("a fix at the hold deadline comes after it",
             [zone(max_occupancy=1, hold_s=10)],
             [Fx(0, "W-1", *IN), Fx(0, "W-2", *OUT), Fx(5, "W-2", *IN), Fx(15, "W-2", *OUT)],
             [(15, "overcrowding", "raised", "Z", None, 2, 1),
              (15, "overcrowding", "cleared", "Z", None, 1, 1)], defaults=QUIET),
    Scenario("hold_s 0 raises in the step that crosses the limit",
             [zone(max_occupancy=1)],
             [Fx(0, "W-1", *IN), Fx(3, "W-2", *IN)],
             [(3, "overcrowding", "raised", "Z", None, 2, 1)], defaults=QUIET),
    Scenario("only count_kinds are counted",
             [zone(max_occupancy=0, count_kinds=["vehicle"])],
             [Fx(0, "W-1", *IN), Fx(1, "TR-1", *IN)],
             [(1, "overcrowding", "raised", "Z", None, 1, 0)], terminals=[TRUCK], defaults=QUIET),
    Scenario("an unregistered terminal counts as a person",
             [zone(max_occupancy=0)],
             [Fx(0, "TR-1", *IN), Fx(1, "NOBODY-9", *IN)],
             [(1, "overcrowding", "raised", "Z", None, 1, 0)], terminals=[TRUCK], defaults=QUIET),
    Scenario("undermanning waits for the start-up grace",
             [zone(min_occupancy=1)],
             [Fx(0, "W-1", *OUT), Fx(10, "W-1", *OUT), Fx(20, "W-1", *OUT), Fx(40, "W-1", *IN)],
             [(30, "undermanning", "raised", "Z", None, 0, 1),
              (40, "undermanning", "cleared", "Z", None, 1, 1)], defaults=GRACE),
    Scenario("undermanning hold counts from the grace end",
             [zone(min_occupancy=2, hold_s=15)],
             [Fx(t, "W-1", *IN) for t in range(0, 50, 10)],
             [(45, "undermanning", "raised", "Z", None, 1, 2)], defaults=GRACE, until_s=45),
    Scenario("a staffed window begins and ends",
             [zone(min_occupancy=1, staffed=["08:01-08:02"])],
             [Tick(0), Tick(200)],
             [(60, "undermanning", "raised", "Z", None, 0, 1),
              (120, "undermanning", "cleared", "Z", None, 0, 1)], defaults=GRACE),
    Scenario("a pending undermanning is dropped when the window ends",
             [zone(min_occupancy=1, staffed=["08:01-08:02"], hold_s=100)],
             [Tick(0), Tick(300)], [], defaults=GRACE),
    Scenario("touching staffed windows make no event at the seam",
             [zone(min_occupancy=1, staffed=["08:01-08:02", "08:02-08:03"])],
             [Tick(0), Tick(300)],
             [(60, "undermanning", "raised", "Z", None, 0, 1),
              (180, "undermanning", "cleared", "Z", None, 0, 1)], defaults=GRACE),
    Scenario("the grace starts at the first step, a tick included",
             [zone(min_occupancy=1)],
             [Tick(0), Fx(20, "W-1", *OUT), Tick(40)],
             [(30, "undermanning", "raised", "Z", None, 0, 1)], defaults=GRACE),
    Scenario("an offline timer at the hold deadline comes first in the step: no raise",
             [zone(max_occupancy=1, hold_s=10)],
             [Fx(0, "W-1", *IN), Fx(0, "W-2", *OUT), Fx(5, "W-2", *IN), Fx(7, "W-1", *IN), Fx(14, "W-1", *IN),
              Tick(16)],
             [(15, "offline", "raised", None, "W-2")],
             defaults={"still_s": 0, "offline_after_s": 10}),
    Scenario("the grace ending as the staffed window begins: one evaluation, one t0",
             [zone(min_occupancy=1, hold_s=5, staffed=["08:01-08:05"])],
             [Tick(0), Tick(100)],
             [(65, "undermanning", "raised", "Z", None, 0, 1)],
             defaults={"still_s": 0, "offline_after_s": 60}),
    Scenario("hold_s 0 overcrowding can raise and clear several times at one instant",
             [zone(max_occupancy=0)],
             [Fx(0, "W-1", *OUT), Fx(0, "W-2", *OUT), Fx(10, "W-1", *IN), Fx(10, "W-2", *IN),
              Fx(20, "W-1", *OUT), Fx(20, "W-2", *OUT)],
             [(10, "overcrowding", "raised", "Z", None, 1, 0),
              (20, "overcrowding", "cleared", "Z", None, 0, 0)], defaults=QUIET),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_occupancy(tmp_path: Path, scenario: Scenario) -> None:
    check(tmp_path, scenario)
