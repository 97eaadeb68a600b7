"""Report numbers on the hand-written scenario (tests/replay/scenario.py), where every
number is known by hand, and the plots that come with them."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib import image as mpimg
from pyproj import Geod

from tests.replay.scenario import CONFIG, EXPECTED_EVENTS, OUT, P1, P2, T1, at, write_fix_log
from tests.replay.support import fence_replay, keys_of_lines


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    fixes = write_fix_log(tmp / "mini.jsonl")
    done = fence_replay("--config", CONFIG, fixes, "--out", tmp / "out")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # with --out the events go to the folder
    return tmp / "out"


@pytest.fixture(scope="module")
def report(out_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((out_dir / "report.json").read_text())
    return loaded


def _by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in rows}


def _metres(*points: tuple[float, float]) -> float:
    geod = Geod(ellps="GRS80")
    return float(sum(geod.inv(a[0], a[1], b[0], b[1])[2] for a, b in zip(points, points[1:], strict=False)))


def test_events_file_holds_the_hand_computed_events(out_dir: Path) -> None:
    lines = (out_dir / "events.jsonl").read_text().splitlines()
    assert Counter(keys_of_lines(lines)) == Counter(EXPECTED_EVENTS)


def test_zone_numbers(report: dict[str, Any]) -> None:
    zones = _by_id(report["zones"])
    yard, tank = zones["YARD"], zones["TANK"]
    assert yard["entries"] == 3  # A-1, B-1 and the forklift
    assert (yard["peak_occupancy"], yard["peak_at"]) == (2, at(40))  # forklift not counted
    assert yard["over_max_s"] == 30.0  # two persons from 40 s to 70 s
    assert yard["under_min_staffed_s"] == 30.0  # empty from 120 s to the end at 150 s
    assert yard["trespass_count"] == 0
    assert yard["terminal_time_inside_s"] == 110.0 + 30.0 + 10.0
    assert (tank["entries"], tank["peak_occupancy"], tank["peak_at"]) == (1, 1, at(80))
    assert tank["trespass_count"] == 1
    assert tank["over_max_s"] is None and tank["under_min_staffed_s"] is None


def test_terminal_numbers(report: dict[str, Any]) -> None:
    terminals = _by_id(report["terminals"])
    a, b, v = terminals["A-1"], terminals["B-1"], terminals["V-1"]
    assert a["zone_time_s"] == {"YARD": 110.0}
    assert b["zone_time_s"] == {"TANK": 20.0, "YARD": 30.0}
    assert v["zone_time_s"] == {"YARD": 10.0}
    assert b["events"] == {"trespass": 1} and a["events"] == {} and v["events"] == {}
    assert [t["fixes"] for t in (a, b, v)] == [16, 16, 16]
    # distances in the site's Gauss-Krueger CRS agree with the ellipsoid to a few cm here
    assert a["distance_m"] == pytest.approx(_metres(OUT, P1, P2, P1, OUT), abs=0.3)
    assert b["distance_m"] == pytest.approx(_metres(OUT, P1, OUT, T1, OUT), abs=0.3)
    assert v["distance_m"] == pytest.approx(_metres(OUT, P1, OUT), abs=0.3)
    assert (a["name"], v["kind"]) == ("Operator A", "vehicle")


def test_event_type_numbers(report: dict[str, Any]) -> None:
    types = {row["type"]: row for row in report["event_types"]}
    over, tres, under = types["overcrowding"], types["trespass"], types["undermanning"]
    assert (over["raised"], over["cleared"], over["duration_max_s"]) == (1, 1, 30.0)
    assert (tres["raised"], tres["cleared"], tres["duration_mean_s"]) == (1, 1, 20.0)
    assert (under["raised"], under["cleared"], under["open_at_end"]) == (1, 0, 1)
    assert types["offline"]["raised"] == 0 and types["stillness"]["raised"] == 0


def test_span_and_counts(report: dict[str, Any]) -> None:
    assert report["span"] == {"start": at(0), "end": at(150), "duration_s": 150.0}
    assert report["fixes"]["fed"] == 48 and report["fixes"]["skipped_lines"] == 0
    assert report["events"] == {"written": 5, "total": 5}


def test_markdown_report_shows_the_numbers(out_dir: Path) -> None:
    text = (out_dir / "report.md").read_text()
    assert "| YARD | Yard | open | 3 | 2 | " + at(40) in text
    assert "| overcrowding | 1 | 1 | 0 | 30.0 | 30.0 | 30.0 |" in text
    assert "| B-1 | Fitter B | person | 16 |" in text
    assert "![map](map.png)" in text and "![timeline](timeline.png)" in text


@pytest.mark.parametrize("name", ["map.png", "occupancy.png", "timeline.png"])
def test_plots_are_real_pictures(out_dir: Path, name: str) -> None:
    path = out_dir / name
    assert path.stat().st_size > 10_000
    pixels = np.asarray(mpimg.imread(path))[..., :3]
    height, width = pixels.shape[:2]
    assert width >= 800 and height >= 300
    # not blank: many distinct colours, and a good share of the picture is not background
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50
    assert float((pixels.min(axis=2) < 0.9).mean()) > 0.02


def test_map_shows_zone_colours_and_event_marker_colours(out_dir: Path) -> None:
    pixels = (np.asarray(mpimg.imread(out_dir / "map.png"))[..., :3] * 255).astype(int)

    def near(rgb: tuple[int, int, int], tol: int = 40) -> int:
        return int((np.abs(pixels - np.array(rgb)).sum(axis=2) < tol).sum())

    assert near((0xD6, 0x27, 0x28)) > 20  # a trespass marker
    assert near((0x94, 0x67, 0xBD)) > 20  # an overcrowding marker
    assert near((248, 210, 204), 30) > 1000  # the restricted zone's fill (alpha 0.25)


@pytest.mark.parametrize(
    ("staffed", "under_s", "undermanning"),
    [
        (["10:02-24:00"], 30.0, [(at(120), "undermanning", "raised", "YARD", None, 0, 1)]),
        (["10:00-10:02"], 0.0, []),  # the yard empties just as the window ends
        (["22:00-10:01"], 0.0, []),  # crosses midnight, ends before the yard empties
    ],
)
def test_time_under_min_counts_only_while_staffed(
        tmp_path: Path, staffed: list[str], under_s: float, undermanning: list[tuple[Any, ...]]) -> None:
    from tests.replay.scenario import MINI

    zones = json.loads((MINI / "zones.geojson").read_text())
    zones["features"][0]["properties"]["staffed"] = staffed  # site time: T0 is 10:00
    variant = tmp_path / "staffed.geojson"
    variant.write_text(json.dumps(zones))
    done = fence_replay("--config", CONFIG, write_fix_log(tmp_path / "mini.jsonl"),
                        "--zones", variant, "--out", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert _by_id(report["zones"])["YARD"]["under_min_staffed_s"] == under_s
    events = keys_of_lines((tmp_path / "out" / "events.jsonl").read_text().splitlines())
    assert [e for e in events if e[1] == "undermanning"] == undermanning


def test_html_report_holds_the_tables_and_the_plots(out_dir: Path) -> None:
    from html.parser import HTMLParser

    class Cells(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.cells: list[str] = []
            self.images: list[str] = []
            self._in_cell = False

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self._in_cell = tag in ("td", "th")
            if tag == "img":
                self.images += [v or "" for k, v in attrs if k == "src"]

        def handle_data(self, data: str) -> None:
            if self._in_cell:
                self.cells.append(data)

    page = Cells()
    page.feed((out_dir / "report.html").read_text())
    assert page.images == ["map.png", "occupancy.png", "timeline.png"]
    assert all((out_dir / name).is_file() for name in page.images)
    assert at(40) in page.cells and "Fitter B" in page.cells and "under min, staffed (s)" in page.cells


def test_peak_is_taken_on_the_state_a_step_leaves(tmp_path: Path) -> None:
    """A-1 goes offline inside the yard, B-1 comes in, A-1 is heard again from outside:
    in that step A-1 is back online and out of the yard at once, so the count never
    reaches 2 at an evaluation (and the evaluator raises no overcrowding)."""
    from tests.replay.scenario import OUT

    fixes: list[dict[str, object]] = []
    for s in range(0, 71, 10):
        if s in (0, 10, 60, 70):  # A-1 silent from 20 s to 50 s: offline at 40 s
            lon, lat = P1 if s == 10 else OUT
            fixes.append({"t": at(s), "terminal": "A-1", "lat": lat, "lon": lon, "quality": 4})
        lon, lat = P1 if s >= 50 else OUT
        fixes.append({"t": at(s), "terminal": "B-1", "lat": lat, "lon": lon, "quality": 4})
    log = tmp_path / "offline.jsonl"
    log.write_text("".join(json.dumps(f) + "\n" for f in fixes))
    done = fence_replay("--config", CONFIG, log, "--out", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    events = keys_of_lines((tmp_path / "out" / "events.jsonl").read_text().splitlines())
    assert Counter(events) == Counter([
        (at(40), "offline", "raised", None, "A-1", None, None),
        (at(40), "undermanning", "raised", "YARD", None, 0, 1),
        (at(50), "undermanning", "cleared", "YARD", None, 1, 1),
        (at(60), "offline", "cleared", None, "A-1", None, None),
    ])
    yard = _by_id(json.loads((tmp_path / "out" / "report.json").read_text())["zones"])["YARD"]
    assert (yard["peak_occupancy"], yard["peak_at"], yard["over_max_s"]) == (1, at(10), 0.0)
    assert yard["under_min_staffed_s"] == 10.0  # empty from 40 s (A-1 offline) to 50 s
