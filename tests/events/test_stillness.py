"""stillness (contract 5.5): table of hand-written scenarios with exact events."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.events.scenario import Fx, Scenario, Tick, check, every

HERE = (-50.0, 50.0)
NEAR = (-48.0, 50.0)  # 2 m from HERE: inside the 3 m radius
FAR = (-45.0, 50.0)  # 5 m from HERE
SITE = {"still_s": 60, "offline_after_s": 100000}
LAB = {"id": "LAB", "rect": (0, 0, 100, 100), "max_still_s": 30}

SCENARIOS = [
    Scenario("raised at anchor + still_s; a move beyond the radius clears and re-arms", [LAB],
             [*every("W-1", 0, 60, 10, HERE), Fx(70, "W-1", *FAR), Tick(130)],
             [(60, "stillness", "raised", None, "W-1"), (70, "stillness", "cleared", None, "W-1"),
              (130, "stillness", "raised", None, "W-1")], defaults=SITE),
    Scenario("moves inside the radius do not move the anchor", [LAB],
             [Fx(0, "W-1", *HERE), Fx(20, "W-1", *NEAR), Fx(40, "W-1", *HERE)],
             [(60, "stillness", "raised", None, "W-1")], defaults=SITE, until_s=60),
    Scenario("a zone's max_still_s is used when smaller", [LAB],
             [Fx(0, "W-1", 50, 50)],
             [(30, "stillness", "raised", None, "W-1")], defaults=SITE, until_s=100),
    Scenario("the limit is fixed when the anchor is set", [LAB],
             [Fx(0, "W-1", -0.5, 50), Fx(10, "W-1", 2.0, 50)],
             [(60, "stillness", "raised", None, "W-1")], defaults=SITE, until_s=100),
    Scenario("no site limit and no zone limit: no timer", [LAB],
             [Fx(0, "W-1", *HERE)], [], defaults={"still_s": 0, "offline_after_s": 100000},
             until_s=1000),
    Scenario("going offline cancels; back online the first fix is a new anchor", [LAB],
             [Fx(0, "W-1", *HERE), *every("W-1", 50, 110, 10, HERE)],
             [(30, "offline", "raised", None, "W-1"), (50, "offline", "cleared", None, "W-1"),
              (110, "stillness", "raised", None, "W-1")],
             defaults={"still_s": 60, "offline_after_s": 30}),
    Scenario("raised, offline, back far away: cleared at that step and re-armed", [LAB],
             [*every("W-1", 0, 60, 10, HERE), *every("W-1", 100, 160, 10, FAR)],
             [(60, "stillness", "raised", None, "W-1"), (90, "offline", "raised", None, "W-1"),
              (100, "offline", "cleared", None, "W-1"), (100, "stillness", "cleared", None, "W-1"),
              (160, "stillness", "raised", None, "W-1")],
             defaults={"still_s": 60, "offline_after_s": 30}),
    Scenario("raised, offline, back nearby: stays raised, no new timer", [LAB],
             [*every("W-1", 0, 60, 10, HERE), Fx(100, "W-1", *NEAR)],
             [(60, "stillness", "raised", None, "W-1"), (90, "offline", "raised", None, "W-1"),
              (100, "offline", "cleared", None, "W-1")],
             defaults={"still_s": 60, "offline_after_s": 30}, until_s=125),
    Scenario("a fix too old to clear offline does not anchor", [LAB],
             [Fx(0, "W-1", *HERE), Fx(0, "W-2", 300, 300), Fx(100, "W-2", 300, 300),
              Fx(65, "W-1", *FAR), *every("W-1", 101, 161, 10, FAR)],
             [(30, "offline", "raised", None, "W-1"), (30, "offline", "raised", None, "W-2"),
              (100, "offline", "cleared", None, "W-2"), (101, "offline", "cleared", None, "W-1"),
              (130, "offline", "raised", None, "W-2"), (161, "stillness", "raised", None, "W-1")],
             terminals=[{"id": "W-2", "kind": "vehicle", "roles": [], "name": "Truck 2"}],
             defaults={"still_s": 60, "offline_after_s": 30}, until_s=161),
    Scenario("vehicles are not watched by default", [LAB],
             [Fx(0, "TR-1", *HERE)], [],
             terminals=[{"id": "TR-1", "kind": "vehicle", "roles": [], "name": "Truck 1"}],
             defaults=SITE, until_s=1000),
    Scenario("still_kinds can include vehicles", [LAB],
             [Fx(0, "TR-1", *HERE)], [(60, "stillness", "raised", None, "TR-1")],
             terminals=[{"id": "TR-1", "kind": "vehicle", "roles": [], "name": "Truck 1"}],
             defaults={**SITE, "still_kinds": ["vehicle"]}, until_s=1000),
    Scenario("a rejected jump does not move the anchor", [LAB],
             [Fx(0, "W-1", *HERE), Fx(10, "W-1", -500, 50)],
             [(60, "stillness", "raised", None, "W-1")], defaults=SITE, until_s=60,
             jumps_rejected=1),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_stillness(tmp_path: Path, scenario: Scenario) -> None:
    check(tmp_path, scenario)
