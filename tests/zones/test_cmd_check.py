"""``fence check`` through the real command line: summary and exit 0 on valid sites,
every message on stderr and exit 2 on a refused one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.paths import DEMO_CONFIG, REPO, SPEC_EXAMPLES
from tests.zones.sitefiles import feature, write_site


def fence(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fence.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )


def test_check_demo_site() -> None:
    result = fence("check", str(DEMO_CONFIG))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "site: Shaerqin chemical cluster (demo)" in out
    assert "metric CRS: EPSG:4546 (CGCS2000 / 3-degree Gauss-Kruger CM 111E; the GK zone nearest to the zones)" in out
    assert "zones: 36" in out
    assert "CONTROL-1        restricted        1,000 m²  Polygon  Central control room" in out
    assert "limits: max 8, min 2 (06:00-22:00), counts person, hold 120s, margin 1m" in out
    assert "permit: roles contractor|maintenance [daily 07:30-18:30; from 2026-10-31T16:00:00.000Z; until 2027-04-30T16:00:00.000Z]" in out
    assert "permits: none (nobody may enter)" in out
    assert "terminals: 160" in out
    assert "vehicle: 30 (driver 25, fire-crew 2, hazmat 15, security 3)" in out
    assert "warnings: 0" in out
    assert out.rstrip().endswith("valid")


def test_check_example_with_named_crs_and_warning(tmp_path: Path) -> None:
    toml = '[site]\nname = "t"\ncrs = "EPSG:4546"\nzones = "zones.geojson"\n'
    path = write_site(tmp_path, toml, [feature({"id": "A", "stroke": "#000"})], csv=None)
    result = fence("check", str(path))
    assert result.returncode == 0, result.stderr
    assert "EPSG:4546 (CGCS2000 / 3-degree Gauss-Kruger CM 111E; the GK zone nearest to the zones)" in result.stdout
    assert "warnings: 1" in result.stdout
    assert f"  {tmp_path}/zones.geojson: features[0] (id 'A'): property 'stroke': unknown property, kept but not used" in result.stdout


def test_check_spec_example() -> None:
    result = fence("check", str(SPEC_EXAMPLES / "s11" / "fence.toml"))
    assert result.returncode == 0, result.stderr
    assert "zones: 12" in result.stdout and "terminals: 20" in result.stdout


def test_check_refused_site_lists_every_problem(tmp_path: Path) -> None:
    path = write_site(
        tmp_path,
        features=[feature({"id": "A", "max_occupancy": -1}), feature({"id": "A"})],
        csv="id,kind,roles,name\nW-1,robot,,X\n",
    )
    result = fence("check", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f"fence check: {path}: refused, 3 problem(s):"
    assert lines[1:] == [
        f"  {tmp_path}/zones.geojson: features[0] (id 'A'): property 'max_occupancy': must be an integer >= 0, got -1",
        f"  {tmp_path}/zones.geojson: features[1] (id 'A'): property 'id': duplicate of features[0]",
        f"  {tmp_path}/terminals.csv: line 2: column 'kind': unknown kind \"robot\" (expected \"person\" or \"vehicle\")",
    ]


def test_check_missing_file(tmp_path: Path) -> None:
    result = fence("check", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert f"{tmp_path}/nope.toml: cannot read: no such file" in result.stderr
