"""Track recording: the fast line encoder, rotation, torn tails, reading after a position."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fence.runtime.tracks import (
    NATIVE_TRACK_LINES,
    FsyncPolicy,
    TrackPosition,
    TrackRecorder,
    read_recording,
    reference_track_line,
    repair_tail,
    track_files,
    track_line,
    track_lines,
)
from gnss.fix import Fix
from gnss.native import PURE_PYTHON

T0 = 1_795_881_185_925

optional_float = st.none() | st.floats(allow_nan=False, allow_infinity=False, width=64)
fixes = st.builds(
    Fix,
    t_ms=st.integers(0, 4_102_444_800_000),
    terminal=st.text(min_size=1, max_size=12),
    lat=st.just(None),
    lon=st.just(None),
    quality=st.integers(0, 9),
    acc_m=optional_float,
    alt_m=optional_float,
    hdop=optional_float,
    sats=st.none() | st.integers(0, 99),
    speed_mps=optional_float,
    course_deg=optional_float,
) | st.builds(
    Fix,
    t_ms=st.integers(0, 4_102_444_800_000),
    terminal=st.sampled_from(["W-017", "车-1", 'q"uote', "back\\slash"]),
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180),
    quality=st.integers(0, 9),
    acc_m=optional_float,
)


@settings(max_examples=400)
@given(fix=fixes, rx_delta=st.integers(-5000, 5000))
def test_fast_line_equals_generic_encoder(fix: Fix, rx_delta: int) -> None:
    rx = max(0, fix.t_ms + rx_delta)
    fast = track_line(fix, rx)
    assert json.loads(fast) == json.loads(reference_track_line(fix, rx))
    assert fast.endswith(b"\n") and fast.count(b"\n") == 1


NATIVE = pytest.mark.skipif(
    NATIVE_TRACK_LINES is None and PURE_PYTHON,
    reason="FENCE_PURE_PYTHON=1: the C extension is not used",
)

any_fix = fixes | st.builds(
    Fix,
    t_ms=st.integers(-62_135_596_800_000, 253_402_300_799_999),  # years 1-9999; before 1970: Python
    terminal=st.text(min_size=1, max_size=6) | st.sampled_from(["W-1", "a\x7fb", "tab\t", "é"]),
    lat=st.floats(-90, 90) | st.integers(-90, 90),
    lon=st.floats(-180, 180) | st.integers(-180, 180),
    quality=st.integers(0, 9),
    alt_m=optional_float | st.integers(-10**20, 10**20),
    sats=st.none() | st.integers(0, 99) | st.booleans(),
)


def test_the_c_extension_is_built_unless_pure_python_is_asked_for() -> None:
    if PURE_PYTHON:
        assert NATIVE_TRACK_LINES is None
    else:
        assert NATIVE_TRACK_LINES is not None, (
            "fence.runtime._tracks is not built: pip install -e . (with gcc and the Python"
            " headers) or set FENCE_PURE_PYTHON=1")


@NATIVE
@settings(max_examples=500)
@given(batch=st.lists(any_fix, max_size=8), rx_ms=st.integers(-62_135_596_800_000, 253_402_300_799_999))
def test_c_lines_are_byte_equal_to_the_python_lines(batch: list[Fix], rx_ms: int) -> None:
    assert NATIVE_TRACK_LINES is not None
    assert NATIVE_TRACK_LINES(batch, rx_ms, track_line) == b"".join(track_line(f, rx_ms) for f in batch)
    assert track_lines(batch, rx_ms) == b"".join(track_line(f, rx_ms) for f in batch)


@NATIVE
def test_c_lines_fall_back_only_where_needed() -> None:
    assert NATIVE_TRACK_LINES is not None
    plain = Fix(T0, "W-017", 40.65, 111.5, 4, 0.02, alt_m=1012.5, sats=28)
    odd = Fix(T0, "车-1", 40.65, 111.5, 4)
    asked: list[Fix] = []

    def fallback(fix: Fix, rx: int) -> bytes:
        asked.append(fix)
        return track_line(fix, rx)

    out = NATIVE_TRACK_LINES([plain, odd, plain], T0 + 80, fallback)
    assert asked == [odd]  # the id JSON escapes
    assert out == b"".join(track_line(f, T0 + 80) for f in (plain, odd, plain))
    with pytest.raises(TypeError, match="fallback must return bytes"):
        NATIVE_TRACK_LINES([odd], T0, lambda fix, rx: cast(bytes, "text"))
    with pytest.raises(ZeroDivisionError):
        NATIVE_TRACK_LINES([odd], T0, lambda fix, rx: bytes(1 // 0))


def _fix(i: int) -> Fix:
    return Fix(T0 + i * 1000, f"W-{i % 3}", 40.65 + i * 1e-6, 111.5, 4, 0.02)


def test_rotation_reading_and_positions(tmp_path: Path) -> None:
    rec = TrackRecorder(tmp_path, rotate_bytes=600, rotate_s=3600, fsync=FsyncPolicy.ALWAYS)
    positions = [rec.append(_fix(i), T0 + i * 1000 + 50) for i in range(20)]
    rec.close()
    files = track_files(tmp_path)
    assert len(files) > 2
    got = list(read_recording(tmp_path))
    assert [r.fix for r in got] == [_fix(i) for i in range(20)]
    assert [r.rx_ms for r in got] == [T0 + i * 1000 + 50 for i in range(20)]
    assert [r.position for r in got] == positions
    after = list(read_recording(tmp_path, positions[6]))
    assert [r.fix for r in after] == [_fix(i) for i in range(7, 20)]
    assert list(read_recording(tmp_path, positions[-1])) == []


def test_torn_tail_is_cut_and_appending_resumes(tmp_path: Path) -> None:
    rec = TrackRecorder(tmp_path)
    for i in range(3):
        rec.append(_fix(i), T0 + i * 1000)
    rec.close()
    last = track_files(tmp_path)[-1]
    with open(last, "ab") as handle:
        handle.write(b'{"t": "2026-11-28T')  # a write cut by a crash
    assert len(list(read_recording(tmp_path))) == 3  # the reader stops before it
    assert repair_tail(tmp_path) == len(b'{"t": "2026-11-28T')
    assert repair_tail(tmp_path) == 0
    rec = TrackRecorder(tmp_path)
    position = rec.append(_fix(3), T0 + 10)  # same second as the file's name: appended to it
    rec.close()
    assert position == TrackPosition(last.name, os.path.getsize(last))
    assert [r.fix for r in read_recording(tmp_path)] == [_fix(i) for i in range(4)]


def test_repair_tail_reads_backwards_across_chunks(tmp_path: Path) -> None:
    rec = TrackRecorder(tmp_path)
    rec.append(_fix(0), T0)
    rec.close()
    last = track_files(tmp_path)[-1]
    good = last.stat().st_size
    with open(last, "ab") as handle:
        handle.write(b"x" * 300)  # a long torn line, longer than the chunk below
    assert repair_tail(tmp_path, chunk_bytes=64) == 300
    assert last.stat().st_size == good
    last.write_bytes(b"no newline at all")
    assert repair_tail(tmp_path, chunk_bytes=4) == len(b"no newline at all")
    assert last.read_bytes() == b""
