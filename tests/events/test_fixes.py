"""Per-terminal fix handling (contract section 3) and membership (section 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.events.scenario import Fx, Scenario, check

QUIET = {"still_s": 0, "offline_after_s": 100000}
GATE = {"id": "G", "rect": (0, 0, 100, 100), "max_dwell_s": 30}
FAR_OUT, IN = (-50.0, 50.0), (50.0, 50.0)

SCENARIOS = [
    Scenario("an out-of-order fix is dropped", [GATE],
             [Fx(10, "W-1", *IN), Fx(5, "W-1", -10, 50)],
             [(40, "loitering", "raised", "G", "W-1")], defaults=QUIET, until_s=40),
    Scenario("fixes without a position or of an unaccepted quality change nothing", [GATE],
             [Fx(0, "W-1", -10, 50), Fx(5, "W-1", *IN, quality=0), Fx(6, "W-1", *IN, quality=6),
              Fx(7, "W-1", None, None)], [], defaults=QUIET, until_s=100),
    Scenario("two jumps are rejected, the third is accepted", [GATE],
             [Fx(0, "W-1", *FAR_OUT), Fx(1, "W-1", *IN), Fx(2, "W-1", *IN), Fx(3, "W-1", *IN)],
             [(33, "loitering", "raised", "G", "W-1")], defaults=QUIET, until_s=33,
             jumps_rejected=2),
    Scenario("no-position fixes neither count nor reset the rejections", [GATE],
             [Fx(0, "W-1", *FAR_OUT), Fx(1, "W-1", *IN), Fx(1.5, "W-1", None, None),
              Fx(2, "W-1", *IN), Fx(2.5, "W-1", None, None), Fx(3, "W-1", *IN)],
             [(33, "loitering", "raised", "G", "W-1")], defaults=QUIET, until_s=33,
             jumps_rejected=2),
    Scenario("an accepted fix resets the rejections", [GATE],
             [Fx(0, "W-1", *FAR_OUT), Fx(1, "W-1", *IN), Fx(2, "W-1", *IN),
              Fx(3, "W-1", -49, 50), Fx(4, "W-1", *IN), Fx(5, "W-1", *IN), Fx(6, "W-1", *IN)],
             [(36, "loitering", "raised", "G", "W-1")], defaults=QUIET, until_s=36,
             jumps_rejected=4),
    Scenario("vehicles have their own speed limit", [GATE],
             [Fx(0, "TR-1", *FAR_OUT), Fx(5, "TR-1", *IN)],
             [(35, "loitering", "raised", "G", "TR-1")],
             terminals=[{"id": "TR-1", "kind": "vehicle", "roles": [], "name": "Truck 1"}],
             defaults=QUIET, until_s=35),
    Scenario("a late fix enters at the clock's time", [GATE],
             [Fx(0, "W-1", -10, 50), Fx(100, "W-2", 500, 500), Fx(50, "W-1", *IN)],
             [(130, "loitering", "raised", "G", "W-1")], defaults=QUIET, until_s=130),
    Scenario("a first fix in the band starts outside", [GATE],
             [Fx(0, "W-1", 0.5, 50)], [], defaults=QUIET, until_s=100),
    Scenario("entering needs d >= margin; staying in the band keeps membership", [GATE],
             [Fx(0, "W-1", -5, 50), Fx(1, "W-1", 0.99, 50), Fx(2, "W-1", 1.01, 50),
              Fx(3, "W-1", -0.99, 50), Fx(4, "W-1", 0.2, 50)],
             [(32, "loitering", "raised", "G", "W-1")], defaults=QUIET, until_s=40),
    Scenario("leaving needs d <= -margin", [GATE],
             [Fx(0, "W-1", 5, 50), Fx(1, "W-1", -0.99, 50), Fx(2, "W-1", -1.01, 50),
              Fx(3, "W-1", 5, 50)],
             [(33, "loitering", "raised", "G", "W-1")], defaults=QUIET, until_s=33),
    Scenario("a poor accuracy widens the band", [GATE],
             [Fx(0, "W-1", -10, 50), Fx(5, "W-1", 2, 50, quality=1)],
             [], defaults=QUIET, until_s=100),
    Scenario("the fix's own acc overrides the quality table", [GATE],
             [Fx(0, "W-1", -10, 50), Fx(5, "W-1", 2, 50, quality=1, acc=0.5)],
             [(35, "loitering", "raised", "G", "W-1")], defaults=QUIET, until_s=35),
    Scenario("a zone's margin_m", [{**GATE, "margin_m": 4.0}],
             [Fx(0, "W-1", -10, 50), Fx(5, "W-1", 3.5, 50), Fx(10, "W-1", 4.5, 50)],
             [(40, "loitering", "raised", "G", "W-1")], defaults=QUIET, until_s=40),
    Scenario("a hole is outside, and its ring is a boundary",
             [{"id": "H", "rect": (0, 0, 100, 100), "hole": (40, 40, 60, 60), "max_dwell_s": 30}],
             [Fx(0, "W-1", 50, 50), Fx(5, "W-1", 50, 62),
              *[Fx(t, "W-1", 50, 59.5) for t in range(10, 45, 5)], Fx(45, "W-1", 50, 58.5)],
             [(35, "loitering", "raised", "H", "W-1"), (45, "loitering", "cleared", "H", "W-1")],
             defaults=QUIET, until_s=45),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_fix_handling(tmp_path: Path, scenario: Scenario) -> None:
    check(tmp_path, scenario)
