"""The C extension (``gnss/_scan.c``) gives exactly what the pure Python paths give.

Three decoders side by side: reference (``fast=False``), pure Python fast path
(``native=False``) and the C fast path (default when the extension is built). Outputs
are compared by ``repr`` (every field, float bits, ``Quality`` members against plain
ints), on generated BeiDou cycles, on streams mutated field by field, on arbitrary bytes
and on any split. The extension's two functions are also driven directly with hostile
input (arbitrary bytes, wrong types) to check it refuses instead of crashing.
"""

from __future__ import annotations

import gc
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gnss import native
from gnss.decoder import READERS, NmeaDecoder
from gnss.errors import DecodeError
from gnss.fastpath import _NATIVE_TABLE, CycleReader
from gnss.fix import Fix
from gnss.framing import Framer, _clean_lines_small, _clean_lines_vector, _type_codes
from tests.gnss.gpsd_oracle import log_bytes, log_names
from tests.gnss.test_fastpath import ODD_FIELDS, T0, cycle_stream, mutate

Output = list[Fix | DecodeError]
BUILT = native.frame_clean is not None and native.run_cycle is not None
needs_c = pytest.mark.skipif(not BUILT, reason="C extension not built (FENCE_PURE_PYTHON=1)")
KEEP = frozenset((b"GGA", b"RMC", b"GST", b"ZDA", b"VTG", b"GSA"))


def test_extension_is_built_unless_pure_python_is_asked_for() -> None:
    """CI must notice when ``pip install -e .`` silently skipped the optional build."""
    if native.PURE_PYTHON:
        assert not BUILT
    else:
        assert BUILT, "gnss._scan missing: install gcc and the Python headers, then pip install -e ."


def decode(data: bytes, mode: str, cuts: list[int] | None = None) -> Output:
    """Everything one decoder gives for ``data`` fed in pieces cut at ``cuts``.
    ``mode``: ``reference``, ``python`` (fast, no C) or ``c``."""
    decoder = NmeaDecoder("T-1", fast=mode != "reference", native=mode == "c")
    out: Output = []
    last = 0
    for cut in sorted({c for c in cuts or [] if 0 < c <= len(data)}):
        out += decoder.feed(data[last:cut])
        last = cut
    return out + decoder.feed(data[last:]) + decoder.flush()


def bits(item: Fix | DecodeError) -> tuple[object, ...]:
    """Every field of a fix shown exactly (float reprs round-trip their bits), the
    quality as its number (the reference may hold a ``Quality`` member where the fast
    path holds the equal int); an error as its repr."""
    if isinstance(item, DecodeError):
        return (repr(item),)
    return tuple(
        int(getattr(item, name)) if name == "quality" else repr(getattr(item, name))
        for name in Fix.__dataclass_fields__
    )


def all_same(data: bytes, cuts: list[int] | None = None) -> Output:
    """The three decoders agree to the bit; C and the Python fast path even in the
    types of their values (repr of every fix and error)."""
    expected = decode(data, "reference", cuts)
    python = decode(data, "python", cuts)
    c = decode(data, "c", cuts)
    assert [repr(item) for item in c] == [repr(item) for item in python]
    assert [bits(item) for item in c] == [bits(item) for item in expected]
    assert c == expected
    return expected


KINDS = [
    ("GGA", "RMC"), ("RMC", "GGA"), ("GGA", "RMC", "GST"), ("RMC", "GST"), ("GGA",), ("GST", "RMC", "GGA"),
    ("GGA", "RMC", "GST", "ZDA"), ("RMC", "GGA", "GST", "ZDA"), ("ZDA", "GGA", "RMC"), ("GGA", "ZDA"),
    ("ZDA", "GGA", "GST"), ("RMC", "VTG", "GGA", "GSA", "GST", "ZDA"), ("GGA", "VTG", "RMC", "GSA"),
    ("VTG", "GSA", "GGA", "RMC"), ("GGA", "RMC", "VTG", "GSA"),
]
"""Cycles: GGA, RMC, GST and ZDA in several orders, VTG and GSA before, between, after."""


@needs_c
@pytest.mark.parametrize("kinds", KINDS)
@pytest.mark.parametrize("quality", [0, 1, 2, 4, 5, 6])
@pytest.mark.parametrize("details", [True, False])
def test_generated_cycles(kinds: tuple[str, ...], quality: int, details: bool) -> None:
    """``details`` False: no speed, course, HDOP (the VTG and GSA are read then)."""
    out = all_same(cycle_stream(40, kinds, "BD", quality=quality, motion=details, hdop=details))
    assert len(out) == 40 or ("RMC" not in kinds and "ZDA" not in kinds)


@needs_c
@pytest.mark.parametrize("name", log_names())
def test_corpus(name: str) -> None:
    data = log_bytes(name)
    all_same(data)
    all_same(data, list(range(0, len(data), 97)))


@needs_c
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([("GGA", "RMC"), ("GGA", "RMC", "GST"), ("RMC", "GGA"), ("RMC", "GST"),
                     ("GGA", "RMC", "GST", "ZDA"), ("RMC", "VTG", "GGA", "GSA", "GST")]),
    st.sampled_from(["GN", "BD", "GB"]),
    st.lists(st.tuples(st.integers(0, 80), st.integers(0, 13), st.sampled_from(ODD_FIELDS)), max_size=4),
    st.lists(st.integers(0, 6000), max_size=6),
    st.sampled_from([0, 1, 4, 5]),
)
def test_mutated_fields(
    kinds: tuple[str, ...], talker: str, picks: list[tuple[int, int, bytes]], cuts: list[int], quality: int
) -> None:
    all_same(mutate(cycle_stream(25, kinds, talker, quality=quality), picks), cuts)


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(0, 3000), max_size=6))
def test_arbitrary_bytes_between_clean_epochs(data: bytes, cuts: list[int]) -> None:
    all_same(cycle_stream(5) + data + cycle_stream(5, start_ms=T0 + 10_000), cuts)


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 4000), max_size=6), st.lists(st.binary(min_size=1, max_size=3), max_size=6))
def test_bytes_replaced_inside_clean_epochs(positions: list[int], texts: list[bytes]) -> None:
    data = bytearray(cycle_stream(12, ("GGA", "RMC", "GST")))
    for position, text in zip(positions, texts, strict=False):
        at = position % len(data)
        data[at : at + len(text)] = text
    all_same(bytes(data), [700, 1400])


def number_texts() -> st.SearchStrategy[bytes]:
    """Decimal texts around the C converter's exact path (at most 15 digits in all) and
    past it: signs, leading zeros, 1-17 digits before the point, 0-17 after it."""
    return st.builds(
        lambda sign, whole, point, decimals: sign + whole + (b"." + decimals if point else b""),
        st.sampled_from([b"", b"-"]),
        st.text("0123456789", min_size=1, max_size=17).map(str.encode),
        st.booleans(),
        st.text("0123456789", max_size=17).map(str.encode),
    )


@needs_c
@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from([(0, 8), (0, 9), (0, 11), (2, 6), (2, 7), (2, 8)]),
                          number_texts()), min_size=1, max_size=6),
       st.lists(st.tuples(st.integers(0, 3), st.sampled_from([(2, b"40"), (4, b"111")]),
                          st.text("0123456789", max_size=12).map(str.encode)), max_size=3))
def test_numbers_convert_as_float_does(
    numbers: list[tuple[int, tuple[int, int], bytes]], coordinates: list[tuple[int, tuple[int, bytes], bytes]]
) -> None:
    """Numbers in GGA (HDOP, altitude, geoid) and GST (errors) fields, and GGA
    coordinates ``ddmm.m`` / ``dddmm.m`` with drawn fractions, give the bits Python's
    float() gives, on the C converter's exact path and past it."""
    picks = [(3 * epoch + line, field, text) for epoch, (line, field), text in numbers]
    picks += [(3 * epoch, field, degrees + b"39." + fraction) for epoch, (field, degrees), fraction in coordinates]
    all_same(mutate(cycle_stream(4, ("GGA", "RMC", "GST"), hdop=True), picks))


@needs_c
def test_long_numbers_take_the_fast_path() -> None:
    """Fifteen digits in all (the exact path's limit), sixteen (Python's converter) and
    a negative zero, in fixes the C path reads."""
    texts = [b"1234567890.12345", b"12345678901.12345", b"-0.0", b"0.000000000000001", b"-99999.9999999999"]
    picks = [(3 * k, 9, text) for k, text in enumerate(texts)]
    data = mutate(cycle_stream(len(texts) + 1, ("GGA", "RMC", "GST"), hdop=True), picks)
    out = all_same(data)
    decoder = NmeaDecoder("T-1")
    decoder.feed(data)
    assert [repr(f.alt_m) for f in out[: len(texts)] if isinstance(f, Fix)] == [repr(float(t)) for t in texts]
    assert decoder.fast_epochs >= len(texts) - 1


def general_framing(buf: bytes, keep: frozenset[bytes] | None) -> list[tuple[bytes, int]]:
    """Bodies and line numbers from the reference scanner."""
    framer = Framer("T-1", keep, fast=False)
    items = framer.feed(buf)
    bodies = [item for item in items if isinstance(item, bytes)]
    return [(body, framer.line_of(k)) for k, body in enumerate(bodies)]


def keep_bytes(keep: frozenset[bytes] | None) -> bytes | None:
    """The ``keep`` argument of ``frame_clean``."""
    return None if keep is None else b"".join(sorted(k for k in keep if len(k) == 3))


LINES = cycle_stream(3, ("GGA", "RMC", "GST", "ZDA")).split(b"\r\n")[:-1] + [b"$GPTXT,01,01,02,a*00", b"$$", b""]


@needs_c
@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(LINES), st.sampled_from([b"\r\n", b"\n", b"\r", b"\r\r\n", b"x\n"])),
             min_size=1, max_size=30),
    st.sampled_from([KEEP, frozenset((b"GGA",)), frozenset(), None]),
    st.binary(max_size=8),
)
def test_frame_clean_equals_the_general_scanner(
    lines: list[tuple[bytes, bytes]], keep: frozenset[bytes] | None, noise: bytes
) -> None:
    buf = b"".join(line + end for line, end in lines)
    for data in (buf, noise + buf, buf + noise):
        assert native.frame_clean is not None
        found = native.frame_clean(data, keep_bytes(keep))
        small = _clean_lines_small(data, keep) if data.endswith(b"\n") else None
        codes = None if keep is None else _type_codes(keep)
        vector = _clean_lines_vector(data, codes) if data.endswith(b"\n") else None
        if small is not None or (vector is not None and data.count(b"\r") == data.count(b"\r\n")):
            assert found is not None  # C takes at least every chunk Python took
        if found is not None:
            bodies, indexes, total = found
            assert total == data.count(b"\n")
            rows = range(total) if indexes is None else indexes
            assert list(zip(bodies, [k + 1 for k in rows], strict=True)) == general_framing(data, keep)


@needs_c
@given(st.binary(max_size=400), st.sampled_from([b"GGARMC", b"", None]))
@settings(max_examples=500, deadline=None)
def test_frame_clean_on_arbitrary_bytes(data: bytes, keep: bytes | None) -> None:
    assert native.frame_clean is not None
    found = native.frame_clean(data, keep)
    if found is not None:
        kept = None if keep is None else frozenset(keep[k : k + 3] for k in range(0, len(keep), 3))
        bodies, indexes, total = found
        rows = range(total) if indexes is None else indexes
        assert list(zip(bodies, [k + 1 for k in rows], strict=True)) == general_framing(data, kept)


def framed(data: bytes) -> list[bytes | object]:
    """The framer's output for a whole stream."""
    framer = Framer("T-1", KEEP, fast=False)
    return list(framer.feed(data) + framer.flush())


CYCLE = (b"GNGGA", b"GNRMC", b"GNGST")
TYPES = bytes((1, 2, 3))


def run_c(items: list[bytes | object], prev_tod: int | None, ref_ms: int | None) -> tuple[int, list[object]]:
    """``run_cycle`` over ``items`` from 0: index reached and fixes, the same whether
    the extension builds the fixes itself (``Fix``, bound) or calls ``Fix.of_checked``."""
    assert native.run_cycle is not None
    results = []
    for make_fix in (Fix, Fix.of_checked):
        out: list[object] = []
        i, epochs, _tod, _ref = native.run_cycle(
            items, 0, CYCLE, TYPES, prev_tod, ref_ms, "T-1", make_fix, math.hypot, _NATIVE_TABLE, out
        )
        assert epochs == len(out) and i == 3 * epochs
        results.append((i, out))
    assert results[0][0] == results[1][0]
    assert [repr(fix) for fix in results[0][1]] == [repr(fix) for fix in results[1][1]]
    assert all(type(fix) is Fix for fix in results[0][1])
    return results[0]


@needs_c
@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from(KINDS),
    st.lists(st.tuples(st.integers(0, 80), st.integers(0, 13), st.sampled_from(ODD_FIELDS)), max_size=3),
    st.one_of(st.none(), st.integers(-(2**70), 2**70)),
    st.one_of(st.none(), st.integers(0, 86_400_000)),
    st.booleans(),
    st.booleans(),
)
def test_run_cycle_equals_the_python_reader(
    kinds: tuple[str, ...], picks: list[tuple[int, int, bytes]], ref_ms: int | None, prev_tod: int | None,
    details: bool, untimed: bool,
) -> None:
    """Epoch by epoch: what C reads, the pure Python reader reads the same (and takes
    the same items)."""
    assert native.run_cycle is not None
    items = framed(mutate(cycle_stream(15, kinds, motion=details, hdop=details), picks))
    cycle = tuple(b"GN" + kind.encode() for kind in kinds if kind not in ("VTG", "GSA"))
    reader = CycleReader(cycle)
    assert reader.native_types is not None
    fixes: list[object] = []
    i, _epochs, _tod, _ref = native.run_cycle(
        items, 0, cycle, reader.native_types, prev_tod, ref_ms, "T-1", Fix, math.hypot, _NATIVE_TABLE,
        fixes, -1, untimed,
    )
    at, tod, ref = 0, prev_tod, ref_ms
    for fix in fixes:
        got = reader.epoch(items, at, tod, ref, "T-1", untimed)
        assert got is not None
        assert repr(got[0]) == repr(fix)
        _fix, tod, ref, at = got
    assert at == i


@needs_c
def test_run_cycle_reads_a_clean_stream_whole() -> None:
    items = framed(cycle_stream(30, ("GGA", "RMC", "GST")))
    i, fixes = run_c(items, None, None)
    assert i == len(items) and len(fixes) == 30


@needs_c
def test_run_cycle_reads_vtg_gsa_zda_cycles_whole() -> None:
    """u-blox-like epochs: VTG and GSA among the timed sentences, ZDA closing."""
    assert native.run_cycle is not None
    items = framed(cycle_stream(30, ("RMC", "VTG", "GGA", "GSA", "GST", "ZDA")))
    cycle = (b"GNRMC", b"GNGGA", b"GNGST", b"GNZDA")
    out: list[object] = []
    i, epochs, _tod, _ref = native.run_cycle(
        items, 0, cycle, bytes((2, 1, 3, 4)), None, None, "T-1", Fix, math.hypot, _NATIVE_TABLE, out
    )
    assert (i, epochs) == (len(items), 30)
    out.clear()
    assert native.run_cycle(
        items, 0, cycle, bytes((2, 1, 3, 4)), None, None, "T-1", Fix, math.hypot, _NATIVE_TABLE, out, -1, False
    )[:2] == (0, 0)  # without ``untimed`` the VTG stops it


@needs_c
@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=120), st.sampled_from([b"GNGGA,", b"GNRMC,1", b"GNGST,"]),
                          st.integers(), st.none()), max_size=9))
def test_run_cycle_refuses_hostile_items(items: list[object]) -> None:
    """Arbitrary bodies and non-bytes items: no crash, no fix from garbage."""
    i, fixes = run_c(items, None, 0)
    assert i == 3 * len(fixes)


@needs_c
def test_run_cycle_rejects_bad_arguments() -> None:
    assert native.run_cycle is not None and native.frame_clean is not None
    with pytest.raises(TypeError):
        native.run_cycle([], 0, CYCLE, TYPES, None, None, "T-1", Fix.of_checked, math.hypot, (), [])
    with pytest.raises(ValueError):
        native.run_cycle([], 0, (b"GN",), b"\x01", None, None, "T-1", Fix.of_checked, math.hypot, _NATIVE_TABLE, [])
    with pytest.raises(ValueError):
        native.run_cycle([], 0, CYCLE, b"\x01\x02\x09", None, None, "T-1", Fix.of_checked, math.hypot,
                         _NATIVE_TABLE, [])
    with pytest.raises(ValueError, match="letters only"):
        native.run_cycle([], 0, (b"G1GGA",), b"\x01", None, None, "T-1", Fix, math.hypot, _NATIVE_TABLE, [])
    assert CycleReader((b"G1GGA", b"G1RMC")).native_types is None
    with pytest.raises(ValueError, match="twice"):
        native.run_cycle([], 0, (b"GNGGA", b"GPGGA"), b"\x01\x01", None, None, "T-1", Fix, math.hypot,
                         _NATIVE_TABLE, [])
    with pytest.raises(TypeError):
        native.run_cycle([], 0)
    with pytest.raises(TypeError):
        native.frame_clean(b"$GNGGA*00\n", b"GG")
    assert native.frame_clean(b"", None) is None
    assert native.run_cycle([], -5, CYCLE, TYPES, None, None, "T-1", Fix.of_checked, math.hypot,
                            _NATIVE_TABLE, [])[:2] == (-5, 0)


@needs_c
def test_bind_fix_refuses_classes_it_cannot_fill() -> None:
    """Only a class whose 12 fields are writable object slots of its own."""
    from gnss import _scan

    names = tuple(f"f{k}" for k in range(12))
    loose = type("Loose", (), dict.fromkeys(names, 0))  # class attributes, not slots
    with pytest.raises(ValueError, match="object slot"):
        _scan.bind_fix(loose, names)
    with pytest.raises(AttributeError):
        _scan.bind_fix(Fix, names)
    with pytest.raises(ValueError, match="12 fields"):
        _scan.bind_fix(Fix, names[:3])
    assert native.make_fix is Fix  # the decoder's binding stands


def test_keep_set_covers_the_decoder() -> None:
    assert frozenset(READERS) <= KEEP | {b"GNS", b"GLL"}


@needs_c
@pytest.mark.parametrize("limit", [0, 1, 3, 29, 30, 31, -1])
def test_run_cycle_limit(limit: int) -> None:
    """``limit`` epochs at most (the fresh start reads exactly three)."""
    assert native.run_cycle is not None
    items = framed(cycle_stream(30, ("GGA", "RMC", "GST")))
    out: list[object] = []
    i, epochs, tod, ref = native.run_cycle(
        items, 0, CYCLE, TYPES, None, None, "T-1", Fix, math.hypot, _NATIVE_TABLE, out, limit
    )
    expected = 30 if limit < 0 else min(limit, 30)
    assert (i, epochs, len(out)) == (3 * expected, expected, expected)
    if expected:
        last = out[-1]
        assert isinstance(last, Fix) and ref == last.t_ms
        assert tod == last.t_ms % 86_400_000
    else:
        assert (tod, ref) == (None, None)


@needs_c
def test_run_cycle_survives_callbacks_that_change_the_items() -> None:
    """``make_fix`` and ``hypot`` are Python code: emptying the list under the reader
    stops it at the next epoch instead of reading freed bodies."""
    assert native.run_cycle is not None
    items = framed(cycle_stream(10, ("GGA", "RMC", "GST")))

    def clearing_hypot(a: float, b: float) -> float:
        items.clear()
        return math.hypot(a, b)

    out: list[object] = []
    i, epochs, _tod, _ref = native.run_cycle(
        items, 0, CYCLE, TYPES, None, None, "T-1", Fix, clearing_hypot, _NATIVE_TABLE, out
    )
    assert (i, epochs, len(out)) == (3, 1, 1) and not items
    with pytest.raises(ZeroDivisionError):
        native.run_cycle(framed(cycle_stream(3)), 0, CYCLE, TYPES, None, None, "T-1",
                         lambda *_values: 1 / 0, math.hypot, _NATIVE_TABLE, [])


@needs_c
def test_fixes_built_in_c_are_left_to_reference_counting() -> None:
    """A fix of numbers, text and None cannot be in a reference cycle: the C path does not
    hand it to the cycle collector (a merged replay holds thousands decoded)."""
    fixes = [item for item in decode(cycle_stream(30, ("GGA", "RMC")), "c") if isinstance(item, Fix)]
    built_in_c = fixes[-10:]  # the first epochs go through Python while the cycle is learned
    assert built_in_c and not any(gc.is_tracked(fix) for fix in built_in_c)
    assert all(gc.is_tracked(fix) for fix in decode(cycle_stream(3, ("GGA", "RMC")), "reference"))
