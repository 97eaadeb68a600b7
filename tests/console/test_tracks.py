"""Reading track recordings for history: file choice by arrival time, late fixes, torn or
bad lines, downsampling and the point cap. Real files in the recording format."""

from __future__ import annotations

import json
from pathlib import Path

from fence.console.tracks import files_for_range, read_range
from gnss.instant import format_instant, parse_instant

T0 = parse_instant("2026-11-28T08:00:00Z")


def line(t_ms: int, terminal: str, rx_ms: int, lat: float | None = 40.65) -> str:
    obj = {"t": format_instant(t_ms), "terminal": terminal, "lat": lat,
           "lon": None if lat is None else 111.5, "quality": 4, "rx": format_instant(rx_ms)}
    return json.dumps(obj)


def write(folder: Path, name: str, lines: list[str], tail: str = "") -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("".join(x + "\n" for x in lines) + tail)


def test_files_are_chosen_by_arrival_span_with_room_for_late_fixes(tmp_path: Path) -> None:
    write(tmp_path, "track-20261128T080000Z.jsonl", [])
    write(tmp_path, "track-20261128T090000Z.jsonl", [])
    write(tmp_path, "track-20261128T100000Z.jsonl", [])
    (tmp_path / "notes.txt").write_text("not a recording")
    names = lambda a, b: [p.name for p in files_for_range(tmp_path, a, b)]  # noqa: E731
    hour = 3_600_000
    assert names(T0 + 10 * 60_000, T0 + 20 * 60_000) == ["track-20261128T080000Z.jsonl"]
    # a fix of 08:55 may arrive late, in the file started at 09:00
    assert names(T0 + 50 * 60_000, T0 + 55 * 60_000) == [
        "track-20261128T080000Z.jsonl", "track-20261128T090000Z.jsonl"]
    assert names(T0 + 2 * hour + 120_000, T0 + 3 * hour) == ["track-20261128T100000Z.jsonl"]
    assert files_for_range(tmp_path / "missing", T0, T0 + 1) == []


def test_read_range_filters_downsamples_and_caps(tmp_path: Path) -> None:
    lines = [line(T0 + 1000 * i, "W-1", T0 + 1000 * i + 50) for i in range(60)]
    lines += [line(T0 + 1000 * i, "W-2", T0 + 1000 * i + 60) for i in range(60)]
    lines += [line(T0 + 5000, "W-3", T0 + 5060, lat=None), "{not json", '{"t": "x"}']
    write(tmp_path, "track-20261128T080000Z.jsonl", lines, tail='{"t": "2026-11-28T08:01:00.000Z", "termi')
    read = read_range(tmp_path, T0 + 10_000, T0 + 39_999, None, 10_000, 1000)
    assert not read.truncated and read.skipped_lines == 4  # no position, bad JSON, no fields, torn
    assert [(p.terminal, p.t_ms - T0) for p in read.points] == [
        ("W-1", 10_000), ("W-1", 20_000), ("W-1", 30_000),
        ("W-2", 10_000), ("W-2", 20_000), ("W-2", 30_000)]
    one = read_range(tmp_path, T0, T0 + 60_000, "W-2", 1000, 1000)
    assert {p.terminal for p in one.points} == {"W-2"} and len(one.points) == 60
    capped = read_range(tmp_path, T0, T0 + 60_000, None, 1000, 25)
    assert capped.truncated and len(capped.points) == 25
