"""The fast JSON Lines reader and the lean driver loop against their references.

``read_jsonl`` (chunks through the fast decoder) must give the same items and the same
skip reports as ``read_jsonl_reference`` (line by line, text mode) on any file: good and
malformed lines, blank lines, CR/CRLF ends, no final newline, track recordings, chunk
boundaries anywhere. A whole replay through the fast path must write byte-identical
events to the reference path, on the contract examples, the golden recordings and a
recording written by the engine's own track writer.
"""

from __future__ import annotations

import heapq
import io
import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import replay.readers as readers
from events.evaluator import Evaluator
from events.model import Event
from fence.runtime.tracks import track_line
from gnss.fix import Fix
from gnss.instant import format_instant, parse_instant
from replay.driver import ReplayOptions, run_replay
from replay.opening import InputFormat, InputSpec, OpenedInput, open_input
from replay.readers import (
    READERS,
    REFERENCE_READERS,
    ArrivalBatch,
    ArrivalStream,
    ReaderOptions,
    SkipLog,
    arrival_key,
    read_group,
    read_input,
)
from replay.sinks import JsonlSink
from tests.gnss.test_fixjson_fast import fix_lines
from tests.replay.golden_data import FIXES, GOLDEN_SITE, TRACK
from tests.support.paths import SPEC_EXAMPLES
from zones.index import ZoneIndex
from zones.site import load_site

T0 = parse_instant("2026-11-28T01:00:00.000Z")


def _opened(data: bytes, fmt: InputFormat = InputFormat.JSONL) -> OpenedInput:
    raw = io.BytesIO(data)
    return OpenedInput(InputSpec("gen.jsonl", fmt), fmt, io.BufferedReader(raw, 4096), raw, len(data))


def _read_both(data: bytes, fmt: InputFormat = InputFormat.JSONL) -> tuple[object, object]:
    """(items, skip report) from the fast reader and from the reference reader."""
    results = []
    for table in (READERS, REFERENCE_READERS):
        out = io.StringIO()
        skips = SkipLog(out, shown_per_input=10**9)
        items = [(a.rx_ms, repr(a.fix)) for a in read_input(_opened(data, fmt), skips,
                                                            ReaderOptions(), table)]
        results.append((items, out.getvalue(), dict(skips.counts)))
    return results[0], results[1]


good_fix = st.builds(
    lambda s, k, lat, lon, rx: json.dumps(
        {"t": format_instant(T0 + s), "terminal": f"W-{k}", "lat": lat, "lon": lon, "quality": 4,
         **({} if rx is None else {"rx": format_instant(T0 + s + rx)})}).encode(),
    st.integers(0, 10**6), st.integers(0, 9), st.floats(-90, 90), st.floats(-180, 180),
    st.one_of(st.none(), st.integers(0, 3000)),
)
file_lines = st.lists(st.one_of(good_fix, good_fix, good_fix, fix_lines(),
                                st.sampled_from([b"", b"  ", b"\t", b"{", b"\xff\xfe", b"\x0c"])),
                      max_size=40)
ends = st.sampled_from([b"\n", b"\n", b"\n", b"\r\n", b"\r"])


@settings(max_examples=400, deadline=None)
@given(file_lines, st.lists(ends, min_size=40, max_size=40), st.booleans(), st.integers(1, 300),
       st.sampled_from([InputFormat.JSONL, InputFormat.JSONL, InputFormat.FIXES, InputFormat.TRACK]))
def test_fast_reader_equals_reference_reader(
    lines: list[bytes], line_ends: list[bytes], final_end: bool, chunk_bytes: int, fmt: InputFormat
) -> None:
    data = b"".join(line + end for line, end in zip(lines, line_ends, strict=False))
    if not final_end and data:
        data = data.rstrip(b"\r\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(readers, "JSONL_CHUNK_BYTES", chunk_bytes)
        fast, reference = _read_both(data, fmt)
    assert fast == reference


@given(st.lists(st.sampled_from([b"a", b"bc", b"\r", b"\n", b"\r\n", b" ", b"\xff"]), max_size=30),
       st.integers(1, 8))
def test_lines_are_split_as_text_mode_splits_them(pieces: list[bytes], chunk_bytes: int) -> None:
    data = b"".join(pieces)
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="surrogateescape")
    expected = [line.encode("utf-8", "surrogateescape") for line in text]
    got: list[bytes] = []
    for chunk, ended in readers._line_chunks(io.BufferedReader(io.BytesIO(data)), chunk_bytes):
        got += [line + b"\n" for line in chunk[:-1]]
        got.append(chunk[-1] + (b"\n" if ended else b""))
    assert got == expected


def test_recording_by_the_engines_track_writer_reads_the_same_both_ways() -> None:
    fixes = [Fix(T0 + 1000 * (i // 3), f"W-{i % 3}", 40.65 + i * 1e-6, 111.5, 4,
                 acc_m=0.02 if i % 2 else None, alt_m=1012.5, hdop=0.7, sats=24, speed_mps=1.25,
                 course_deg=90.0) for i in range(3000)]
    data = b"".join(track_line(fix, fix.t_ms + 80 + (i * 37) % 2500) for i, fix in enumerate(fixes))
    fast, reference = _read_both(data)
    assert fast == reference
    items = fast[0]  # type: ignore[index]
    assert len(items) == 3000 and all(rx is not None for rx, _ in items)
    batches = list(read_input(_opened(data), SkipLog(None), ReaderOptions()).batches())
    assert all(b.rx_ms is not None and len(b.rx_ms) == len(b.fixes) for b in batches)


class _Observer:
    """Sees every step (its presence makes the driver take the general loop)."""

    def __init__(self) -> None:
        self.fixes = 0

    def on_events(self, events: Sequence[Event]) -> None:
        """Events are written by the sink; nothing to keep here."""

    def on_fix(self, fix: Fix, step_ms: int) -> None:
        """Count the fixes fed."""
        self.fixes += 1

    def on_end(self, end_ms: int) -> None:
        """The end needs nothing here."""


def _replay(config: Path, inputs: Sequence[Path], table: dict[InputFormat, readers.Reader],
            observer: _Observer | None = None, merged: bool = False) -> tuple[str, str]:
    site = load_site(config)
    evaluator = Evaluator(site, ZoneIndex.build(site))
    out, report = io.StringIO(), io.StringIO()
    skips = SkipLog(report)
    streams = [read_group([InputSpec(str(p))], skips, ReaderOptions(), readers=table) for p in inputs]
    arrivals = readers.merge_arrivals(streams) if merged else streams[0]
    if not merged:
        assert isinstance(arrivals, ArrivalStream)
    stats = run_replay(evaluator, arrivals, ReplayOptions(), JsonlSink(out, site), observer)
    assert observer is None or observer.fixes == stats.fixes_fed
    return out.getvalue(), report.getvalue()


GOLDEN = [(GOLDEN_SITE, FIXES), (GOLDEN_SITE, TRACK),
          *[(SPEC_EXAMPLES / n / "fence.toml", SPEC_EXAMPLES / n / "fixes.jsonl.gz")
            for n in ("s11", "s12", "s13")]]


@pytest.mark.parametrize(("config", "path"), GOLDEN, ids=lambda p: p.parent.name + "/" + p.name)
def test_replay_through_the_fast_path_is_byte_identical_to_the_reference(config: Path, path: Path) -> None:
    reference = _replay(config, [path], REFERENCE_READERS, _Observer())
    fast = _replay(config, [path], READERS)
    assert fast == reference
    assert reference[0].count("\n") > 5


def test_merged_inputs_replay_the_same_both_ways() -> None:
    reference = _replay(GOLDEN_SITE, [FIXES, TRACK], REFERENCE_READERS, merged=True)
    fast = _replay(GOLDEN_SITE, [FIXES, TRACK], READERS, merged=True)
    assert fast == reference and reference[0].count("\n") > 5


def test_damaged_golden_log_reports_the_same_lines_both_ways(tmp_path: Path) -> None:
    """The golden fix log with damaged lines spread through it, CRLF ends and a truncated
    tail: same events, same skip report."""
    import gzip

    lines = gzip.decompress(FIXES.read_bytes()).splitlines()
    for at in range(7, len(lines), 97):
        lines[at] = lines[at][: len(lines[at]) // 2]
    lines[50] = lines[50].replace(b'"quality": 4', b'"quality": true')
    path = tmp_path / "damaged.jsonl"
    path.write_bytes(b"\r\n".join(lines)[:-20])
    reference = _replay(GOLDEN_SITE, [path], REFERENCE_READERS)
    fast = _replay(GOLDEN_SITE, [path], READERS)
    assert fast == reference
    assert f"{path}:51: 'quality' must be an integer 0-9, got True" in fast[1]


@st.composite
def batched_inputs(draw: st.DrawFn) -> list[list[ArrivalBatch]]:
    """Inputs as batches: items with and without arrival instants, times in any order
    (late fixes), many ties, batches of any size (empty ones too)."""
    inputs = []
    for k in range(draw(st.integers(1, 6))):
        batches = []
        for b in range(draw(st.integers(0, 4))):
            recorded = draw(st.booleans())
            times = draw(st.lists(st.integers(-3, 12), max_size=6))
            fixes = [Fix(T0 + 1000 * t, f"I{k}-{b}-{i}", 40.6, 111.5, 4) for i, t in enumerate(times)]
            rx = [T0 + 1000 * t + draw(st.sampled_from([0, 500, 1000])) for t in times]
            batches.append(ArrivalBatch(rx if recorded else None, fixes))
        inputs.append(batches)
    return inputs


@given(batched_inputs(), st.integers(1, 5))
def test_batch_merge_is_heapq_merge_of_the_items(inputs: list[list[ArrivalBatch]], batch: int) -> None:
    expected = list(heapq.merge(*[[a for b in batches for a in b.arrivals()] for batches in inputs],
                                key=arrival_key))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(readers, "BATCH", batch)
        merged = readers.merge_arrivals([ArrivalStream(iter(batches)) for batches in inputs])
        out = list(merged.batches()) if isinstance(merged, ArrivalStream) else []
    assert [a for b in out for a in b.arrivals()] == expected
    assert all(b.fixes and len(b.fixes) <= max(batch, 1) for b in out) or len(inputs) == 1
    assert all(b.rx_ms is None or len(b.rx_ms) == len(b.fixes) for b in out)


def test_open_input_reads_gzip_through_the_fast_reader() -> None:
    opened = open_input(InputSpec(str(TRACK)))
    batches = list(read_input(opened, SkipLog(None), ReaderOptions()).batches())
    assert sum(len(b.fixes) for b in batches) > 1000
