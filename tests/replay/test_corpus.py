"""The real-receiver NMEA corpus (shared/corpus/nmea/gpsd) as replay inputs."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest

from gnss.decoder import decode_bytes
from gnss.fix import Fix
from replay.opening import InputSpec, open_input
from replay.readers import ReaderOptions, SkipLog, read_input
from tests.replay.support import fence_replay, fence_replay_shell, keys_of_lines
from tests.support.paths import CORPUS_NMEA

LOGS = sorted(CORPUS_NMEA.glob("*.log"))

DOCK_ZONES = {  # a restricted quay around the BeiDou captures near Shanghai, nobody allowed
    "type": "FeatureCollection",
    "features": [{
        "type": "Feature",
        "properties": {"id": "DOCK", "access": "restricted", "max_occupancy": 0},
        "geometry": {"type": "Polygon", "coordinates": [[
            [121.5864, 31.2471], [121.5884, 31.2471], [121.5884, 31.2491],
            [121.5864, 31.2491], [121.5864, 31.2471]]]},
    }],
}


@pytest.fixture
def dock(tmp_path: Path) -> Path:
    (tmp_path / "zones.geojson").write_text(json.dumps(DOCK_ZONES))
    config = tmp_path / "fence.toml"
    config.write_text('[site]\nname = "Dock"\nzones = "zones.geojson"\n')
    return config


def test_corpus_is_present() -> None:
    assert len(LOGS) == 40


@pytest.mark.parametrize("log", LOGS, ids=[p.stem for p in LOGS])
def test_replay_reader_gives_the_decoder_fixes_and_reports_its_errors(log: Path) -> None:
    decoded = decode_bytes(log.stem, log.read_bytes())
    report = io.StringIO()
    skips = SkipLog(report, shown_per_input=1000)
    fixes = [a.fix for a in read_input(open_input(InputSpec(str(log))), skips, ReaderOptions())]
    assert fixes == [item for item in decoded if isinstance(item, Fix)]
    errors = [item for item in decoded if not isinstance(item, Fix)]
    assert skips.total == len(errors)
    assert report.getvalue().count(f"skipped {log}:") == len(errors)


def test_beidou_capture_trespasses_and_goes_offline(dock: Path) -> None:
    done = fence_replay("--config", dock, CORPUS_NMEA / "beidou-bd.log",
                        "--until", "2015-02-25T07:43:00Z")
    assert done.returncode == 0, done.stderr
    # first fix with a position at 07:41:55.799 (quality 1); last heard 07:41:59.799
    assert Counter(keys_of_lines(done.stdout.splitlines())) == Counter([
        ("2015-02-25T07:41:55.799Z", "trespass", "raised", "DOCK", "beidou-bd", None, None),
        ("2015-02-25T07:41:55.799Z", "overcrowding", "raised", "DOCK", None, 1, 0),
        ("2015-02-25T07:42:29.799Z", "offline", "raised", None, "beidou-bd", None, None),
        ("2015-02-25T07:42:29.799Z", "overcrowding", "cleared", "DOCK", None, 0, 0),
    ])


def test_whole_corpus_merged_in_one_replay(dock: Path, tmp_path: Path) -> None:
    done = fence_replay("--config", dock, *LOGS, "--until", "2030-01-01T00:00:00Z",
                        "--out", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    decoded = [decode_bytes(p.stem, p.read_bytes()) for p in LOGS]
    n_fixes = sum(isinstance(i, Fix) for items in decoded for i in items)
    assert report["fixes"]["fed"] == n_fixes
    assert report["fixes"]["skipped_lines"] == sum(
        not isinstance(i, Fix) for items in decoded for i in items)
    events = [json.loads(line) for line in (tmp_path / "out" / "events.jsonl").read_text().splitlines()]
    last_offline = {}
    for e in events:
        if e["type"] == "offline":
            last_offline[e["terminal"]] = e["state"]
    # every capture was heard, and the clock ran on: each ends offline
    assert last_offline == {p.stem: "raised" for p in LOGS}
    assert [e["t"] for e in events] == sorted(e["t"] for e in events)


def test_nmea_through_a_pipe_needs_a_terminal_id(dock: Path) -> None:
    log = CORPUS_NMEA / "beidou-bd.log"
    done = fence_replay_shell('fence replay --config "$1" - < "$2"', dock, log)
    assert done.returncode == 2
    assert "name its terminal with --terminal-id" in done.stderr
    done = fence_replay_shell('fence replay --config "$1" --terminal-id BD-7 <(cat "$2")', dock, log)
    assert done.returncode == 0, done.stderr
    assert {k[4] for k in keys_of_lines(done.stdout.splitlines())} == {"BD-7", None}
