"""trespass (contract 5.1, 1.4): table of hand-written scenarios with exact events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gnss.instant import format_instant
from tests.events.scenario import T0_MS, Fx, Scenario, check, chrono, every

IN, OUT = (40.0, 50.0), (-10.0, 50.0)  # 50 m apart: 5 m/s over 10 s
QUIET = {"still_s": 0, "offline_after_s": 100000}
TERMINALS = [
    {"id": "OP-1", "kind": "person", "roles": ["operator"], "name": "Operator 1"},
    {"id": "CT-1", "kind": "person", "roles": ["contractor"], "name": "Contractor 1"},
    {"id": "VI-1", "kind": "person", "roles": [], "name": "Visitor 1"},
]
MIDNIGHT_S = 16 * 3600  # T0 is 08:00 Asia/Shanghai


def restricted(*permits: dict[str, Any]) -> dict[str, Any]:
    return {"id": "R", "rect": (0, 0, 100, 100), "access": "restricted", "permits": list(permits)}


def at(t_s: float) -> str:
    return format_instant(T0_MS + round(t_s * 1000))


def case(name: str, zone: dict[str, Any], inputs: list[Any], expected: list[Any],
         until_s: float | None = None) -> Scenario:
    return Scenario(name, [zone], inputs, expected, TERMINALS, QUIET, until_s)


SCENARIOS = [
    case("entering without a permit raises; leaving clears", restricted(),
         [Fx(0, "VI-1", *OUT), Fx(10, "VI-1", *IN), Fx(20, "VI-1", *OUT)],
         [(10, "trespass", "raised", "R", "VI-1"), (20, "trespass", "cleared", "R", "VI-1")]),
    case("a role permit lets the role in", restricted({"roles": ["operator"]}),
         [Fx(0, "OP-1", *OUT), Fx(10, "OP-1", *IN), Fx(0, "VI-1", *OUT)], []),
    case("a terminal permit lets that id in", restricted({"terminals": ["CT-1"]}),
         [Fx(0, "CT-1", *IN), Fx(1, "OP-1", *IN)],
         [(1, "trespass", "raised", "R", "OP-1")]),
    case("the last permit going out of force while inside raises",
         restricted({"roles": ["contractor"], "daily": ["08:00-08:01"]}),
         every("CT-1", 0, 70, 10, IN),
         [(60, "trespass", "raised", "R", "CT-1")]),
    case("a permit coming into force while inside clears",
         restricted({"roles": ["contractor"], "daily": ["08:01-09:00"]}),
         every("CT-1", 0, 70, 10, IN),
         [(0, "trespass", "raised", "R", "CT-1"), (60, "trespass", "cleared", "R", "CT-1")]),
    case("from/until are half-open",
         restricted({"roles": ["contractor"], "from": at(30), "until": at(90)}),
         [Fx(0, "CT-1", *IN)],
         [(0, "trespass", "raised", "R", "CT-1"), (30, "trespass", "cleared", "R", "CT-1"),
          (90, "trespass", "raised", "R", "CT-1")], until_s=200),
    case("an offline terminal inside still raises when its permit ends",
         restricted({"roles": ["contractor"], "daily": ["08:00-08:01"]}),
         [Fx(0, "CT-1", *IN)],
         [(60, "trespass", "raised", "R", "CT-1")], until_s=61),
    case("touching windows make no event at the seam",
         restricted({"roles": ["contractor"], "daily": ["08:00-08:01", "08:01-08:02"]}),
         [Fx(0, "CT-1", *IN)],
         [(120, "trespass", "raised", "R", "CT-1")], until_s=130),
    case("overlapping permits make no event while one is in force",
         restricted({"roles": ["contractor"], "daily": ["08:00-08:03"]},
                    {"terminals": ["CT-1"], "daily": ["08:01-08:02"]}),
         [Fx(0, "CT-1", *IN)],
         [(180, "trespass", "raised", "R", "CT-1")], until_s=200),
    case("a permit with neither roles nor terminals admits every registered terminal",
         restricted({"daily": ["08:00-09:00"]}),
         [Fx(0, "VI-1", *IN), Fx(0, "UNKNOWN-7", *IN)],
         [(0, "trespass", "raised", "R", "UNKNOWN-7")]),
    case("an empty roles list matches nothing", restricted({"roles": []}),
         [Fx(0, "OP-1", *IN)], [(0, "trespass", "raised", "R", "OP-1")]),
    case("a window across midnight, at its exact edges",
         restricted({"roles": ["contractor"], "daily": ["23:59-00:01"]}),
         [Fx(MIDNIGHT_S - 120, "CT-1", *IN)],
         [(MIDNIGHT_S - 120, "trespass", "raised", "R", "CT-1"),
          (MIDNIGHT_S - 60, "trespass", "cleared", "R", "CT-1"),
          (MIDNIGHT_S + 60, "trespass", "raised", "R", "CT-1")], until_s=MIDNIGHT_S + 600),
    case("a 24:00 end runs to midnight",
         restricted({"roles": ["contractor"], "daily": ["23:00-24:00"]}),
         [Fx(MIDNIGHT_S - 10, "CT-1", *IN)],
         [(MIDNIGHT_S, "trespass", "raised", "R", "CT-1")], until_s=MIDNIGHT_S + 10),
    case("entering exactly as the window ends is not permitted (half-open)",
         restricted({"roles": ["contractor"], "daily": ["07:00-08:01"]}),
         [Fx(50, "CT-1", *OUT), Fx(60, "CT-1", *IN)],
         [(60, "trespass", "raised", "R", "CT-1")]),
    case("entering exactly as the window starts is permitted",
         restricted({"roles": ["contractor"], "daily": ["08:01-09:00"]}),
         [Fx(50, "CT-1", *OUT), Fx(60, "CT-1", *IN)], []),
    case("a permit edge at the entry instant: the fix after the timer step",
         restricted({"roles": ["contractor"], "daily": ["08:00-08:01"]}),
         [Fx(0, "CT-1", *IN), Fx(30, "CT-1", *IN), Fx(60, "CT-1", *OUT)],
         [(60, "trespass", "raised", "R", "CT-1"), (60, "trespass", "cleared", "R", "CT-1")]),
    case("open zones permit everyone", {"id": "O", "rect": (0, 0, 100, 100)},
         [Fx(0, "VI-1", *IN)], []),
    case("re-entering raises again",
         restricted(),
         chrono([Fx(0, "VI-1", *IN), Fx(10, "VI-1", *OUT), Fx(20, "VI-1", *IN)]),
         [(0, "trespass", "raised", "R", "VI-1"), (10, "trespass", "cleared", "R", "VI-1"),
          (20, "trespass", "raised", "R", "VI-1")]),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_trespass(tmp_path: Path, scenario: Scenario) -> None:
    check(tmp_path, scenario)
