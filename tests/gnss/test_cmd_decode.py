"""``fence decode``: fix JSON Lines on stdout, error counts on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fence.cli import main
from gnss.fixjson import parse_fix_line
from tests.support.paths import CORPUS_NMEA, REPO


def test_decodes_a_gpsd_log(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--terminal", "RTK-1", str(CORPUS_NMEA / "nmea-rtk.log")]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 122
    fixes = [parse_fix_line(line) for line in lines]
    assert {f.terminal for f in fixes} == {"RTK-1"}
    assert sum(f.quality == 4 for f in fixes) == 18
    first = json.loads(lines[0])
    assert first["t"] == "2020-03-18T13:28:19.600Z" and first["quality"] == 2
    assert "122 fixes; decode errors: none" in err


def test_counts_errors_by_kind(capsys: pytest.CaptureFixture[str]) -> None:
    log = CORPUS_NMEA / "gp-320fw-2019-04-07-coldboot.log"
    assert main(["decode", str(log)]) == 0
    out, err = capsys.readouterr()
    assert all(json.loads(line)["terminal"] == "gp-320fw-2019-04-07-coldboot" for line in out.splitlines())
    assert "decode errors: bad_checksum 17, cut 6, no_checksum 1" in err


def test_prints_each_error_with_its_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--errors", str(CORPUS_NMEA / "firefly-II.log")]) == 0
    _out, err = capsys.readouterr()
    first = err.splitlines()[0]
    assert "firefly-II line " in first and "bad_checksum" in first and "$GPGGA" in first


def test_reads_stdin() -> None:
    data = (CORPUS_NMEA / "skytraq-PX1172RH_DS.log").read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "fence.cli", "decode", "--terminal", "BD-9", "-"],
        input=data,
        capture_output=True,
        cwd=REPO,
        timeout=60,
        check=True,
    )
    fixes = [parse_fix_line(line) for line in done.stdout.splitlines()]
    assert len(fixes) == 9 and {f.quality for f in fixes} == {5}  # BeiDou RTK float
    assert b"9 fixes" in done.stderr


def test_missing_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", str(tmp_path / "nope.nmea")]) == 2
    assert "nope.nmea: no such file" in capsys.readouterr().err


def test_satellites_option_adds_in_view(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--satellites", str(CORPUS_NMEA / "unicore-um621.log")]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[-2]["in_view"] == {"GPS": 13, "GLONASS": 8, "Galileo": 9, "BeiDou": 14}
