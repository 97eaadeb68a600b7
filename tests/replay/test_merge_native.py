"""The C merge step (``gnss._scan.merge_into``) merges as the reference ``_merge_batches``.

Both are driven over the same inputs and must give the same batches (same items, same
boundaries, same arrival instants) and, from files, the same skipped lines: on generated
batches (ties, late fixes, items with and without arrival instants, empty batches), on
generated per-terminal NMEA files (ties in time, errors mid-file, files of different
lengths, small read buffers so that each file gives many batches) and on the corpus logs
merged. The step itself is driven with inconsistent arguments to check it refuses them.
"""

from __future__ import annotations

import io
import re
from array import array
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import replay.readers as readers
from gnss import encode, native
from gnss.fix import Fix
from replay.opening import InputSpec
from replay.readers import (
    ArrivalBatch,
    ArrivalStream,
    ReaderOptions,
    SkipLog,
    merge_arrivals,
    read_group,
)
from tests.gnss.gpsd_oracle import log_names
from tests.replay.test_fast_path import T0, batched_inputs
from tests.support.paths import CORPUS_NMEA

needs_c = pytest.mark.skipif(native.merge_into is None, reason="C extension not built (FENCE_PURE_PYTHON=1)")
Batches = list[tuple[list[int] | None, list[Fix]]]


def merged(inputs: list[list[ArrivalBatch]], use_native: bool) -> Batches:
    """The batches out of the merge of these inputs, as plain values."""
    stream = merge_arrivals([ArrivalStream(iter(batches)) for batches in inputs], native=use_native)
    assert isinstance(stream, ArrivalStream)
    return [(batch.rx_ms, batch.fixes) for batch in stream.batches()]


@needs_c
@settings(max_examples=400, deadline=None)
@given(st.lists(batched_inputs(), min_size=1, max_size=3).map(lambda groups: [i for g in groups for i in g]),
       st.integers(1, 7))
def test_native_merge_gives_the_reference_batches(inputs: list[list[ArrivalBatch]], batch: int) -> None:
    """Same batches, to their boundaries, for any batch size (inputs of up to 18 streams)."""
    if len(inputs) < 2:
        inputs = [*inputs, []]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(readers, "BATCH", batch)
        assert merged(inputs, True) == merged(inputs, False)


def nmea_file(start_s: int, epochs: int, damage: list[tuple[int, int]], seed: int) -> bytes:
    """One terminal's NMEA: ``epochs`` GGA+RMC epochs from ``start_s``; ``damage`` (epoch,
    kind): 0 a wrong checksum, 1 a line of garbage, 2 a bad latitude field, 3 the epoch
    repeated (a time going back)."""
    texts = []
    for s in range(epochs):
        t_ms = T0 + (start_s + s) * 1000
        lat, lon = 40.6 + (seed * 7 + s) % 50 * 1e-5, 111.5 + (seed * 3 + s) % 40 * 1e-5
        texts.append(encode.gga("GN", t_ms, lat, lon, 4, sats=20, hdop=0.7, alt_m=1000.0)
                     + encode.rmc("GN", t_ms, lat, lon, mode="R"))
    for at, kind in damage:
        k = at % len(texts)
        if kind == 0:
            texts[k] = re.sub(r"\*([0-9A-F]{2})", lambda m: f"*{int(m.group(1), 16) ^ 0x5A:02X}", texts[k], count=1)
        elif kind == 1:
            texts[k] += "$GN#garbage, not a sentence\r\n"
        elif kind == 2:
            body = texts[k].split("\r\n")[0][1:].split("*")[0].split(",")
            body[2] = "40x9.1"
            joined = ",".join(body)
            texts[k] = f"${joined}*{encode.checksum(joined)}\r\n" + texts[k].split("\r\n", 1)[1]
        else:
            texts[k] += texts[max(k - 1, 0)]
    return "".join(texts).encode("ascii")


def merge_files(paths: list[Path], buffer_bytes: int, use_native: bool) -> tuple[Batches, str, int]:
    """The merged batches of per-terminal files, and the skip log's report and count."""
    report = io.StringIO()
    skips = SkipLog(report)
    groups = [read_group((InputSpec(str(p), None, buffer_bytes),), skips, ReaderOptions()) for p in paths]
    stream = merge_arrivals(groups, native=use_native)
    assert isinstance(stream, ArrivalStream)
    return [(batch.rx_ms, batch.fixes) for batch in stream.batches()], report.getvalue(), skips.total


@needs_c
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 60),
                       st.lists(st.tuples(st.integers(0, 60), st.integers(0, 3)), max_size=3)),
             min_size=2, max_size=8),
    st.sampled_from([1500, 2048, 4096]),
    st.integers(1, 50),
)
def test_native_merge_of_nmea_files_equals_the_reference(
    tmp_path_factory: pytest.TempPathFactory, files: list[tuple[int, int, list[tuple[int, int]]]],
    buffer_bytes: int, batch: int,
) -> None:
    """Per-terminal files that start together or apart (ties in time), of different
    lengths (empty too), with errors mid-file: the same batches and skipped lines."""
    folder = tmp_path_factory.mktemp("nmea")
    paths = []
    for k, (start_s, epochs, damage) in enumerate(files):
        path = folder / f"T-{k:03d}.nmea"
        path.write_bytes(nmea_file(start_s, epochs, damage, k) if epochs else b"")
        paths.append(path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(readers, "BATCH", batch)
        fast = merge_files(paths, buffer_bytes, True)
        reference = merge_files(paths, buffer_bytes, False)
    assert fast == reference
    assert sum(len(fixes) for _, fixes in fast[0]) == sum(
        len(batch.fixes) for p in paths
        for batch in read_group((InputSpec(str(p), None, buffer_bytes),), SkipLog(None), ReaderOptions()).batches())


@needs_c
def test_native_merge_of_the_corpus_logs_equals_the_reference(tmp_path: Path) -> None:
    """Every corpus log as one terminal's file, all merged (their own times, ties and
    late fixes as recorded), with small buffers: the same batches and skipped lines."""
    paths = []
    for name in log_names():
        path = tmp_path / f"{name}.nmea"
        path.write_bytes((CORPUS_NMEA / f"{name}.log").read_bytes())
        paths.append(path)
    fast = merge_files(paths, 2048, True)
    assert fast == merge_files(paths, 2048, False)
    assert sum(len(fixes) for _, fixes in fast[0]) > 1000 and fast[2] > 0


@needs_c
def test_merge_step_refuses_inconsistent_arguments() -> None:
    """Wrong sizes, a heap entry naming no input, a position past a batch, a batch
    whose instants do not match its fixes, a time that is not a 64-bit int: errors,
    not a crash."""
    step = native.merge_into
    assert step is not None
    fix = Fix(T0, "T-1", 40.6, 111.5, 4)
    heap, pos = array("q", [T0, 0, T0, 1]), array("q", [0, 0])

    def call(keys: list[list[int] | None], fixes: list[list[Fix]], heap: array[int] | bytes = heap,
             pos: array[int] = pos, live: int = 2, settle: int = 0) -> tuple[int, int]:
        return step(heap, live, keys, fixes, pos, [], None, 10, settle)

    with pytest.raises(ValueError):
        call([None], [[fix], [fix]])  # keys and fixes of different lengths
    with pytest.raises(ValueError):
        call([None, None], [[fix], [fix]], live=3)
    with pytest.raises(ValueError):
        call([None, None], [[fix], [fix]], heap=array("q", [T0, 5, T0, 1]))
    with pytest.raises(ValueError):
        call([None, None], [[fix], [fix]], pos=array("q", [4, 0]))
    with pytest.raises(ValueError):  # two instants for one fix
        step(array("q", [T0, 0, T0, 1]), 2, [[T0, T0], None], [[fix], [fix]], array("q", [0, 0]), [], [], 10, 0)
    with pytest.raises(ValueError):
        call([None, None], [[fix], [fix]], settle=3)
    with pytest.raises(TypeError):
        call([None, None], [[fix], [fix]], heap=b"\0" * 32)  # not writable
    big = Fix(2**70, "T-1", 40.6, 111.5, 4)
    with pytest.raises(OverflowError):
        call([None, None], [[fix, big], [fix]], pos=array("q", [0, 0]))
    # consistent: both items out, in (time, input) order, each input used up in turn
    out: list[Fix] = []
    other = Fix(T0, "T-2", 40.6, 111.5, 4)
    live, stop = step(array("q", [T0, 0, T0, 1]), 2, [None, None], [[fix], [other]], array("q", [0, 0]),
                      out, None, 10, 0)
    assert (live, stop, out) == (2, 0, [fix])


@st.composite
def step_arguments(draw: st.DrawFn) -> tuple[object, ...]:
    """Arguments of the merge step, mostly consistent, some not: heap entries naming an
    input or not, positions inside a batch or past it, instants as many as the fixes or
    not (huge ints, text), items that are fixes or other objects."""
    objects = [Fix(T0, "T-1", 40.6, 111.5, 4), Fix(T0 - 5000, "T-2", 40.6, 111.5, 4), object(), 7]
    width = draw(st.integers(1, 4))
    fixes = [draw(st.lists(st.sampled_from(objects), min_size=draw(st.sampled_from([0, 1, 1, 1])), max_size=4))
             for _ in range(width)]
    instant = st.one_of(st.integers(T0 - 9000, T0 + 9000), st.integers(-(2**65), 2**65), st.text(max_size=1))
    keys = [draw(st.one_of(st.none(), st.lists(instant, min_size=len(batch), max_size=len(batch)),
                           st.lists(instant, max_size=4))) for batch in fixes]
    live = draw(st.sampled_from([width, width, width, max(width - 1, 0), 0, width + 1]))
    orders = draw(st.one_of(st.permutations(range(width)), st.lists(st.integers(-1, width), min_size=live,
                                                                    max_size=live)))
    heap = [n for order in orders[:live] for n in (draw(st.integers(T0 - 9000, T0 + 9000)), order)]
    pos = [draw(st.sampled_from([0, 0, 0, 1, 2, 4, -1])) for _ in range(draw(st.sampled_from([width] * 4 + [0])))]
    recorded = bool(heap) and 0 <= heap[1] < width and keys[heap[1]] is not None
    kinds: list[list[int] | None] = [[] if recorded else None, [] if recorded else None, None, []]
    out_rx = draw(st.sampled_from(kinds))
    return (array("q", heap), live, keys, fixes, array("q", pos), [], out_rx,
            draw(st.sampled_from([3, 6, 6, 1, 0])), draw(st.sampled_from([0, 0, 0, 1, 2, 3])))


@needs_c
@settings(max_examples=1000, deadline=None)
@given(step_arguments())
def test_merge_step_survives_arbitrary_arguments(arguments: tuple[object, ...]) -> None:
    """The step returns or raises a Python error, never reads or writes out of bounds
    (this test was also run under -fsanitize=address,undefined, see docs/gnss.md)."""
    assert native.merge_into is not None
    try:
        live, stop = native.merge_into(*arguments)
    except (ValueError, TypeError, OverflowError, AttributeError):
        return
    out, limit, fixes = arguments[5], arguments[7], arguments[3]
    assert isinstance(out, list) and isinstance(limit, int) and isinstance(fixes, list)
    assert 0 <= live <= len(fixes) and -2 <= stop < len(fixes)
    assert len(out) <= limit
