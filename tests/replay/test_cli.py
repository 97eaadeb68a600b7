"""``fence replay`` options on the hand-written scenario (tests/replay/scenario.py):
window, --until, filters, what-if zones and limits, CSV output, mixed input formats,
track recordings (file and rotated directory), errors, and the progress line."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.replay.scenario import CONFIG, EXPECTED_EVENTS, MINI, at, fix_objects, write_fix_log
from tests.replay.support import EventKey, fence_replay, keys_of_lines
from tests.support.paths import REPO


@pytest.fixture
def fixes(tmp_path: Path) -> Path:
    return write_fix_log(tmp_path / "mini.jsonl")


def _events(*args: str | Path) -> Counter[EventKey]:
    done = fence_replay("--config", CONFIG, *args)
    assert done.returncode == 0, done.stderr
    return Counter(keys_of_lines(done.stdout.splitlines()))


def test_plain_replay_gives_the_hand_computed_events(fixes: Path) -> None:
    assert _events(fixes) == Counter(EXPECTED_EVENTS)


def test_until_runs_the_clock_on_and_due_timers_fire(fixes: Path) -> None:
    offline = [(at(180), "offline", "raised", None, t, None, None) for t in ("A-1", "B-1", "V-1")]
    assert _events(fixes, "--until", at(200)) == Counter([*EXPECTED_EVENTS, *offline])
    assert _events(fixes, "--until", at(179.999)) == Counter(EXPECTED_EVENTS)
    assert _events(fixes, "--until", at(180)) == Counter([*EXPECTED_EVENTS, *offline])


def test_window_selects_inputs_by_time(fixes: Path) -> None:
    # first step at 60 s: A-1 and B-1 are both first seen inside the yard
    assert _events(fixes, "--from", at(60), "--to", at(100)) == Counter([
        (at(60), "overcrowding", "raised", "YARD", None, 2, 1),
        (at(70), "overcrowding", "cleared", "YARD", None, 1, 1),
        (at(80), "trespass", "raised", "TANK", "B-1", None, None),
    ])


def test_terminal_filter_feeds_only_matching_terminals(fixes: Path) -> None:
    undermanning = [e for e in EXPECTED_EVENTS if e[1] == "undermanning"]
    assert _events(fixes, "--terminal", "A-1,V-*") == Counter(undermanning)
    assert _events(fixes, "--terminal", "A-1", "--terminal", "V-1") == Counter(undermanning)


def test_zone_filter_applies_to_output_events(fixes: Path) -> None:
    assert _events(fixes, "--zone", "TANK") == Counter(e for e in EXPECTED_EVENTS if e[3] == "TANK")


def test_what_if_limits(fixes: Path) -> None:
    no_crowd = Counter(e for e in EXPECTED_EVENTS if e[1] != "overcrowding")
    assert _events(fixes, "--set", "YARD.max_occupancy=2") == no_crowd
    # hold_s applies to both occupancy conditions of the yard
    trespass = Counter(e for e in EXPECTED_EVENTS if e[1] == "trespass")
    assert _events(fixes, "--set", "YARD.hold_s=30.001") == trespass  # held 30 s only
    held = _events(fixes, "--set", "YARD.hold_s=30")  # raised when the hold ends, before input
    assert held == trespass + Counter([
        (at(70), "overcrowding", "raised", "YARD", None, 2, 1),
        (at(70), "overcrowding", "cleared", "YARD", None, 1, 1),
        (at(150), "undermanning", "raised", "YARD", None, 0, 1),
    ])
    later = _events(fixes, "--set", "defaults.offline_after_s=60", "--until", at(300))
    assert (at(210), "offline", "raised", None, "A-1", None, None) in later


def test_what_if_zones_file(fixes: Path, tmp_path: Path) -> None:
    zones = json.loads((MINI / "zones.geojson").read_text())
    zones["features"][1]["properties"]["access"] = "open"
    alternative = tmp_path / "open-tank.geojson"
    alternative.write_text(json.dumps(zones))
    assert _events(fixes, "--zones", alternative) == Counter(
        e for e in EXPECTED_EVENTS if e[1] != "trespass")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "NOPE.max_occupancy=1"], "no zone 'NOPE'"),
        (["--set", "YARD.colour=red"], "zone key 'colour' cannot be overridden"),
        (["--set", "YARD.max_occupancy=-1"], "max_occupancy must be a non-negative integer"),
        (["--set", "YARD.min_occupancy=5"], "min_occupancy above max_occupancy"),
        (["--set", "YARD"], "expected ZONE.KEY=VALUE"),
        (["--zone", "NOPE"], "--zone: no zone 'NOPE'"),
        (["--from", at(100), "--to", at(50)], "--from must be before --to"),
        (["missing.jsonl"], "missing.jsonl: no such file or directory"),
    ],
)
def test_bad_options_fail_with_a_clear_message(fixes: Path, args: list[str], message: str) -> None:
    inputs = [] if args[0] == "missing.jsonl" else [str(fixes)]
    done = fence_replay("--config", CONFIG, *inputs, *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_site_and_bad_zones_file_are_named(fixes: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [}')
    done = fence_replay("--config", CONFIG, fixes, "--zones", broken)
    assert done.returncode == 2 and "broken.geojson" in done.stderr and "not valid JSON" in done.stderr
    done = fence_replay("--config", tmp_path / "nowhere.toml", fixes)
    assert done.returncode == 2 and "nowhere.toml" in done.stderr


def test_csv_output(fixes: Path) -> None:
    done = fence_replay("--config", CONFIG, fixes, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [(r["t"], r["type"], r["state"], r["zone"], r["terminal"], r["count"]) for r in rows] == [
        (t, ty, st, z or "", term or "", "" if c is None else str(c))
        for t, ty, st, z, term, c, _ in EXPECTED_EVENTS
    ]
    assert rows[2]["terminal_name"] == "Fitter B" and rows[2]["severity"] == "critical"


def test_mixed_formats_merge_to_the_same_events(tmp_path: Path) -> None:
    """A-1 as CSV, B-1 as GPX (terminal from the track name), V-1 as gzip JSON Lines."""
    objs = fix_objects()
    a_csv = tmp_path / "a.csv"
    a_csv.write_text("t,terminal,lat,lon,quality\n" + "".join(
        f"{o['t']},{o['terminal']},{o['lat']},{o['lon']},{o['quality']}\n"
        for o in objs if o["terminal"] == "A-1"))
    b_gpx = tmp_path / "b.gpx"
    points = "".join(
        f'<trkpt lat="{o["lat"]}" lon="{o["lon"]}"><time>{o["t"]}</time></trkpt>\n'
        for o in objs if o["terminal"] == "B-1")
    b_gpx.write_text(f'<?xml version="1.0"?>\n<gpx version="1.1"><trk><name>B-1</name><trkseg>\n'
                     f"{points}</trkseg></trk></gpx>\n")
    v_jsonl = tmp_path / "v.jsonl.gz"
    import gzip

    v_jsonl.write_bytes(gzip.compress("".join(
        json.dumps(o) + "\n" for o in objs if o["terminal"] == "V-1").encode()))
    assert _events(a_csv, b_gpx, v_jsonl, "--gpx-quality", "4") == Counter(EXPECTED_EVENTS)


TRACK_A = [  # (fix second, arrival second): the fix of 20 s arrives late, at 45 s
    (0, 0.1), (10, 10.1), (20, 45.0), (50, 50.1),
]
TRACK_EVENTS = [  # with ticks at the arrival times (contract section 2)
    (at(30.1), "undermanning", "raised", "YARD", None, 0, 1),  # grace from the first tick
    (at(40), "offline", "raised", None, "A-1", None, None),    # heard at 10 s
    (at(45), "offline", "cleared", None, "A-1", None, None),   # the late fix is heard
    (at(50), "offline", "raised", None, "A-1", None, None),    # heard at 20 s
    (at(50.1), "offline", "cleared", None, "A-1", None, None),
]
FIX_TIME_EVENTS = [  # the same lines by fix times alone
    (at(30), "undermanning", "raised", "YARD", None, 0, 1),
    (at(50), "offline", "raised", None, "A-1", None, None),  # due at 50, before the fix of 50
    (at(50), "offline", "cleared", None, "A-1", None, None),
]


def _track_lines() -> list[str]:
    from tests.replay.scenario import OUT

    return [json.dumps({"t": at(t), "terminal": "A-1", "lat": OUT[1], "lon": OUT[0],
                        "quality": 4, "rx": at(rx)}) + "\n" for t, rx in TRACK_A]


def test_track_recording_replays_with_its_arrival_ticks(tmp_path: Path) -> None:
    track = tmp_path / "track-20261128T020000Z.jsonl"
    track.write_text("".join(_track_lines()))
    assert _events(track) == Counter(TRACK_EVENTS)
    assert _events(track, "--input-format", "fixes") == Counter(FIX_TIME_EVENTS)


def test_track_directory_is_read_in_file_name_order(tmp_path: Path) -> None:
    lines = _track_lines()
    folder = tmp_path / "tracks"
    folder.mkdir()
    (folder / "track-20261128T020000Z.jsonl").write_text("".join(lines[:2]))
    import gzip

    (folder / "track-20261128T020045Z.jsonl.gz").write_bytes(gzip.compress("".join(lines[2:]).encode()))
    (folder / "README.txt").write_text("not a track file")
    assert _events(folder) == Counter(TRACK_EVENTS)


def test_no_progress_line_when_stderr_is_not_a_terminal(fixes: Path) -> None:
    done = fence_replay("--config", CONFIG, fixes)
    assert done.stderr == ""


def test_progress_line_on_a_terminal(fixes: Path) -> None:
    master, slave = os.openpty()
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "fence.cli", "replay", "--config", str(CONFIG), str(fixes)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=slave, timeout=120, check=False)
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
    assert proc.returncode == 0
    assert b"\r[" in seen and b"100% 48 fixes" in seen
    assert proc.stdout.count(b"\n") == len(EXPECTED_EVENTS)  # events only on stdout
