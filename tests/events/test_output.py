"""Event output (contract section 6) and invalid fix lines (1.1) through ``fence replay``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from events.model import Event, EventState, EventType
from events.output import event_to_line, event_to_obj
from fence.cli import main
from gnss.instant import format_instant
from tests.events.scenario import T0_MS, Fx, Scenario, write_site


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    write_site(tmp_path, Scenario("out", [{"id": "Z", "name": "Yard", "rect": (0, 0, 100, 100),
                                           "max_occupancy": 0}], [], [],
                                  [{"id": "W-1", "kind": "person", "roles": [], "name": "Worker 1"}],
                                  {"still_s": 0}))
    return tmp_path


def test_contract_keys_nulls_and_occupancy_keys(site_dir: Path) -> None:
    from zones.site import load_site

    site = load_site(site_dir / "fence.toml")
    offline = event_to_obj(Event(T0_MS + 1, EventType.OFFLINE, EventState.RAISED, None, "W-1", seq=7), site)
    assert offline["t"] == "2026-11-28T00:00:00.001Z"
    assert (offline["type"], offline["state"], offline["zone"], offline["terminal"]) == (
        "offline", "raised", None, "W-1")
    assert "count" not in offline and "limit" not in offline
    assert offline["terminal_name"] == "Worker 1" and offline["severity"] == "minor"
    cleared = Event(T0_MS, EventType.OVERCROWDING, EventState.CLEARED, "Z", None, 0, 0, 8)
    crowd = event_to_obj(cleared, site)
    assert (crowd["zone"], crowd["terminal"], crowd["count"], crowd["limit"]) == ("Z", None, 0, 0)
    assert crowd["zone_name"] == "Yard" and crowd["id"] != offline["id"]
    assert json.loads(event_to_line(cleared, site)) == crowd


def test_an_invalid_line_is_not_heard_and_does_not_move_the_clock(
    site_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = Fx(0, "W-1", -10, 50).fix()
    lines = [
        json.dumps({"t": format_instant(good.t_ms), "terminal": "W-1", "lat": good.lat,
                    "lon": good.lon, "quality": 4}),
        # W-1 at +100 s, but latitude out of range: skipped, not heard, clock unmoved
        json.dumps({"t": format_instant(T0_MS + 100_000), "terminal": "W-1", "lat": 95.0,
                    "lon": good.lon, "quality": 4}),
        "{not json",
        json.dumps({"t": format_instant(T0_MS + 20_000), "terminal": "W-2", "lat": good.lat,
                    "lon": good.lon, "quality": 4}),
    ]
    log = site_dir / "fixes.jsonl"
    log.write_text("\n".join(lines) + "\n")
    status = main(["replay", "--config", str(site_dir / "fence.toml"), "--no-progress",
                   "--until", format_instant(T0_MS + 35_000), str(log)])
    out, err = capsys.readouterr()
    assert status == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert [(e["t"], e["type"], e["state"], e["terminal"]) for e in events] == [
        (format_instant(T0_MS + 30_000), "offline", "raised", "W-1")]
    assert "fixes.jsonl:2" in err and "fixes.jsonl:3" in err
