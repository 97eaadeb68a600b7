"""Each input format read from real files: good lines become fixes, malformed lines are
skipped, reported with file and line, and counted; gzip is read transparently."""

from __future__ import annotations

import gzip
import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gnss import encode
from gnss.instant import parse_instant
from replay.opening import InputError, InputFormat, InputSpec, format_from_bytes, open_input
from replay.readers import (
    Arrival,
    ReaderOptions,
    SkipLog,
    arrival_key,
    merge_arrivals,
    read_input,
)

T0 = parse_instant("2026-11-28T08:00:00.000Z")


def _read(path: Path, options: ReaderOptions | None = None,
          fmt: InputFormat | None = None) -> tuple[list[Arrival], SkipLog, str]:
    report = io.StringIO()
    skips = SkipLog(report)
    items = list(read_input(open_input(InputSpec(str(path), fmt)), skips, options or ReaderOptions()))
    return items, skips, report.getvalue()


def _fix_line(s: int, terminal: str = "W-1", **extra: object) -> str:
    obj = {"t": f"2026-11-28T08:00:{s:02d}.000Z", "terminal": terminal, "lat": 40.65,
           "lon": 111.5, "quality": 4, **extra}
    return json.dumps(obj)


JSONL_LINES = [
    _fix_line(0),
    "{not json",
    _fix_line(1),
    json.dumps({"terminal": "W-1", "lat": 40.65, "lon": 111.5, "quality": 4}),  # no t
    "",  # blank: ignored, not counted
    json.dumps({"t": "2026-11-28T08:00:02Z", "terminal": "W-1", "lat": 91.0, "lon": 111.5, "quality": 4}),
    json.dumps({"t": "2026-11-28T08:00:03", "terminal": "W-1", "quality": 4}),  # no offset
    json.dumps({"t": "2026-11-28T08:00:04Z", "terminal": "W-1", "quality": 4}),  # no position: valid
    _fix_line(5),
]


def test_fix_jsonl_skips_and_reports_malformed_lines(tmp_path: Path) -> None:
    path = tmp_path / "fixes.jsonl"
    path.write_text("\n".join(JSONL_LINES) + "\n")
    items, skips, report = _read(path)
    assert [a.fix.t_ms - T0 for a in items] == [0, 1000, 4000, 5000]
    assert all(a.rx_ms is None for a in items)
    assert items[2].fix.lat is None  # a fix without a position is still a fix (it is heard)
    assert skips.counts == {str(path): 4}
    for line in (2, 4, 6, 7):
        assert f"{path}:{line}: " in report
    assert f"{path}:6: lat 91.0 out of range" in report
    assert "bad JSON" in report and "'t'" in report


def test_gzip_is_read_transparently_with_the_same_result(tmp_path: Path) -> None:
    plain = tmp_path / "fixes.jsonl"
    plain.write_text("\n".join(JSONL_LINES) + "\n")
    packed = tmp_path / "fixes.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    odd_name = tmp_path / "upload.bin"  # told from the gzip magic and the first bytes
    odd_name.write_bytes(packed.read_bytes())
    base, base_skips, _ = _read(plain)
    for path in (packed, odd_name):
        items, skips, report = _read(path)
        assert items == base
        assert sum(skips.counts.values()) == base_skips.total
        assert f"{path}:2: bad JSON" in report


def test_track_recording_carries_arrival_times_and_needs_them(tmp_path: Path) -> None:
    path = tmp_path / "track-20261128T080000Z.jsonl"
    lines = [
        _fix_line(0, rx="2026-11-28T08:00:00.150Z"),
        _fix_line(1),  # a recording line without rx
        _fix_line(2, rx="yesterday"),
        _fix_line(1, rx="2026-11-28T08:00:03.000Z"),  # late: kept in file order
    ]
    path.write_text("\n".join(lines) + "\n")
    items, skips, report = _read(path)
    assert [(a.rx_ms - T0 if a.rx_ms else None, a.fix.t_ms - T0) for a in items] == [
        (150, 0), (3000, 1000)]
    assert skips.total == 2
    assert f"{path}:2: track recording line without a string 'rx'" in report
    assert f"{path}:3: 'rx': " in report
    by_fix_time, _, _ = _read(path, fmt=InputFormat.FIXES)  # the same file by fix times alone
    assert [a.rx_ms for a in by_fix_time] == [None] * 4


def test_csv_with_header_and_malformed_rows(tmp_path: Path) -> None:
    path = tmp_path / "fixes.csv"
    path.write_text(
        "time,terminal,lat,lon,quality,acc\n"
        "2026-11-28T08:00:00Z,W-1,40.65,111.5,4,0.02\n"
        "2026-11-28T08:00:01Z,W-1,,,0,\n"             # no position: a valid fix
        "2026-11-28T08:00:02Z,W-1,forty,111.5,4,\n"   # bad latitude
        "2026-11-28T08:00:03Z,W-1,40.65,111.5,four,\n"  # bad quality
        "2026-11-28T08:00:04Z,W-1,40.65\n"            # too few columns
        "\n"
        "2026-11-28T08:00:05Z,W-2,40.66,111.6,1,\n"
    )
    items, skips, report = _read(path)
    assert [(a.fix.terminal, a.fix.t_ms - T0) for a in items] == [
        ("W-1", 0), ("W-1", 1000), ("W-2", 5000)]
    assert items[0].fix.acc_m == 0.02 and items[1].fix.lat is None and items[2].fix.acc_m is None
    assert skips.total == 3
    assert f"{path}:4: lat 'forty' is not a number" in report
    assert f"{path}:5: quality 'four' is not an integer 0-9" in report
    assert f"{path}:6: " in report


def test_csv_without_header_uses_the_column_order(tmp_path: Path) -> None:
    path = tmp_path / "raw.csv"
    path.write_text("2026-11-28T08:00:00Z,W-1,40.65,111.5,4\n2026-11-28T08:00:01Z,W-1,40.65,111.5,5\n")
    items, skips, _ = _read(path)
    assert [a.fix.quality for a in items] == [4, 5] and skips.total == 0


def test_csv_header_without_a_required_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("t,terminal,lat,quality\n2026-11-28T08:00:00Z,W-1,40.65,4\n")
    with pytest.raises(InputError, match=r"bad.csv:1: CSV header lacks column\(s\) lon"):
        _read(path)


GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
  <trk><name>W-7</name><trkseg>
    <trkpt lat="40.65" lon="111.5"><time>2026-11-28T08:00:00Z</time></trkpt>
    <trkpt lat="40.65" lon="111.5"><ele>1010</ele></trkpt>
    <trkpt lat="north" lon="111.5"><time>2026-11-28T08:00:02Z</time></trkpt>
    <trkpt lat="40.65" lon="111.5"><time>2026-11-28T08:00:03Z</time><fix>dgps</fix></trkpt>
  </trkseg></trk>
  <trk><trkseg>
    <trkpt lat="40.66" lon="111.6"><time>2026-11-28T08:00:04Z</time></trkpt>
  </trkseg></trk>
</gpx>
"""


def test_gpx_points_terminal_quality_and_malformed_points(tmp_path: Path) -> None:
    path = tmp_path / "walk.gpx"
    path.write_text(GPX)
    items, skips, report = _read(path)
    assert [(a.fix.terminal, a.fix.t_ms - T0, a.fix.quality) for a in items] == [
        ("W-7", 0, 1), ("W-7", 3000, 2), ("walk", 4000, 1)]
    assert skips.total == 2
    assert f"{path}:5: trkpt without <time>" in report
    assert f"{path}:6: lat 'north' is not a number" in report
    forced, _, _ = _read(path, ReaderOptions(terminal_id="P-9", gpx_quality=4))
    assert {(a.fix.terminal, a.fix.quality) for a in forced} == {("P-9", 4)}


def test_gpx_syntax_error_ends_the_file_with_a_report(tmp_path: Path) -> None:
    path = tmp_path / "cut.gpx"
    path.write_text(GPX.split("<trk><trkseg>")[0] + "<trkpt lat='1' <oops>\n")
    items, skips, report = _read(path)
    assert len(items) == 2 and skips.total == 3  # two good points, two bad, then the cut
    assert "XML syntax error, rest of file not read" in report


def _nmea_epoch(s: int, lat: float = 40.65, lon: float = 111.5) -> str:
    t_ms = T0 + s * 1000
    return encode.gga("GN", t_ms, lat, lon, 4, sats=20, hdop=0.7, alt_m=1000.0) + encode.rmc(
        "GN", t_ms, lat, lon, mode="R")


def test_nmea_terminal_from_file_name_and_bad_sentences_reported(tmp_path: Path) -> None:
    epochs = [_nmea_epoch(s) for s in range(5)]
    # both sentences of epoch 2 get a wrong checksum
    broken = re.sub(r"\*([0-9A-F]{2})", lambda m: f"*{int(m.group(1), 16) ^ 0xFF:02X}", epochs[2])
    path = tmp_path / "W-042.nmea.gz"
    path.write_bytes(gzip.compress("".join(epochs[:2] + [broken] + epochs[3:]).encode()))
    items, skips, report = _read(path)
    assert {a.fix.terminal for a in items} == {"W-042"}
    assert [a.fix.t_ms - T0 for a in items] == [0, 1000, 3000, 4000]
    assert skips.total == 2
    assert f"{path}:5: bad_checksum" in report and f"{path}:6: bad_checksum" in report
    named, _, _ = _read(path, ReaderOptions(terminal_id="P-1"))
    assert {a.fix.terminal for a in named} == {"P-1"}


def test_format_told_from_first_bytes() -> None:
    assert format_from_bytes(b'{"t": "x"}') is InputFormat.JSONL
    assert format_from_bytes(b"# gpsd log\n$GPGGA,") is InputFormat.NMEA
    assert format_from_bytes(b"<?xml version='1.0'?><gpx>") is InputFormat.GPX
    assert format_from_bytes(b"t,terminal,lat,lon,quality\n") is InputFormat.CSV
    assert format_from_bytes(b"hello world") is None


def test_unknown_format_is_refused_with_the_input_named(tmp_path: Path) -> None:
    path = tmp_path / "notes"
    path.write_text("hello world\n")
    with pytest.raises(InputError, match="notes: cannot tell the input format"):
        open_input(InputSpec(str(path)))


def _arrivals(*pairs: tuple[int | None, int], terminal: str) -> list[Arrival]:
    from gnss.fix import Fix

    return [Arrival(rx, Fix(T0 + t, terminal, 40.65, 111.5, 4)) for rx, t in pairs]


def test_merge_by_replay_time_keeps_each_input_in_its_own_order() -> None:
    a = _arrivals((None, 0), (None, 2000), (None, 1000), (None, 5000), terminal="A")  # one late
    b = _arrivals((None, 1000), (None, 2000), (None, 3000), terminal="B")
    c = _arrivals((T0 + 2500, 1500), terminal="C")  # a recording: keyed by arrival
    merged = [(x.fix.terminal, x.fix.t_ms - T0) for x in merge_arrivals([a, b, c])]
    assert [m for m in merged if m[0] == "A"] == [("A", 0), ("A", 2000), ("A", 1000), ("A", 5000)]
    # ties go to the earlier input; A's late fix comes right after A's 2000 (its order)
    assert merged == [("A", 0), ("B", 1000), ("A", 2000), ("A", 1000), ("B", 2000),
                      ("C", 1500), ("B", 3000), ("A", 5000)]
    assert list(merge_arrivals([a])) == a  # one input: passed through exactly


def test_fix_line_that_is_not_utf8_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        b'{"t": "2026-11-28T08:00:00Z", "terminal": "W-\xff", "quality": 1}\n'
        b'{"t": "2026-11-28T08:00:00Z", "terminal": "W-\xc3\xa9", "quality": 1}\n')
    items, skips, report = _read(path)
    assert [a.fix.terminal for a in items] == ["W-\u00e9"]
    assert skips.total == 1 and f"{path}:1: not UTF-8 text" in report


@given(st.lists(st.lists(st.tuples(st.booleans(), st.integers(0, 50)), max_size=12), min_size=1,
                max_size=5))
def test_merge_is_a_stable_interleaving_sorted_where_inputs_are(
        inputs: list[list[tuple[bool, int]]]) -> None:
    """Every input's items come out in their own order; ties go to the earlier input; when
    each input is sorted by replay time, the merge is sorted too."""
    streams = [
        _arrivals(*[((T0 + s * 1000) if recorded else None, s * 1000) for recorded, s in items],
                  terminal=f"I{k}")
        for k, items in enumerate(inputs)
    ]
    merged = list(merge_arrivals(streams))
    assert sorted(map(id, merged)) == sorted(id(a) for s in streams for a in s)
    for k, stream in enumerate(streams):
        assert [a for a in merged if a.fix.terminal == f"I{k}"] == stream
    if all(s == sorted(s, key=arrival_key) for s in streams):
        keys = [arrival_key(a) for a in merged]
        assert keys == sorted(keys)
        tagged = [(arrival_key(a), int(a.fix.terminal[1:])) for a in merged]
        assert tagged == sorted(tagged)  # ties: the earlier input first


def test_truncated_gzip_replays_what_was_read_and_reports_the_break(tmp_path: Path) -> None:
    lines = "".join(_fix_line(s % 60, terminal=f"W-{s}") + "\n" for s in range(5000)).encode()
    packed = gzip.compress(lines)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(packed[: len(packed) * 2 // 3])  # a copy taken while still being written
    items, skips, report = _read(path)
    assert 100 < len(items) < 5000
    assert [a.fix.terminal for a in items] == [f"W-{s}" for s in range(len(items))]
    assert skips.total == 1 and f"{path}: input breaks off, rest not read" in report
