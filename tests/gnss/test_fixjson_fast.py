"""The fast fix JSON path against the reference parser (contract 1.1).

Whatever line ``decode_fix_lines`` takes, the reference parser must parse to the same
fix (same field values and types, ``-0.0`` kept) and the same ``rx``; a line it does not
take goes to the reference, so errors stay the reference's. Lines are generated well
formed and malformed: wrong types, missing keys, bad times, extra and duplicate keys,
NaN and Infinity, booleans for numbers, huge integers, unicode ids, broken bytes.
"""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gnss.fix import Fix, FixValueError
from gnss.fixjson import FixLineError, decode_fix_lines, parse_fix_line
from gnss.instant import format_instant, parse_instant

EPOCH_2100_MS = 4_102_444_800_000


def _fields(fix: Fix) -> list[tuple[str, str]]:
    """Every field as (type name, repr): 1 and 1.0, 0.0 and -0.0 are told apart."""
    return [(type(v).__name__, repr(v)) for v in (
        fix.t_ms, fix.terminal, fix.lat, fix.lon, fix.quality, fix.acc_m, fix.alt_m, fix.hdop,
        fix.sats, fix.speed_mps, fix.course_deg, fix.sats_in_view)]


def _reference(line: bytes) -> tuple[Fix, Any] | FixLineError | UnicodeError:
    """The reference on a line as the replay reader gives it: UTF-8 text or an error."""
    try:
        text = line.decode("utf-8")
    except UnicodeError as exc:
        return exc
    try:
        fix = parse_fix_line(text)
    except FixLineError as exc:
        return exc
    obj = json.loads(text)
    return fix, obj.get("rx", msgspec.UNSET)


def _assert_agrees(line: bytes) -> bool:
    """The fast path on one line agrees with the reference; True when it took the line."""
    fast = decode_fix_lines([line])
    if not fast.taken:
        return False
    reference = _reference(line)
    assert isinstance(reference, tuple), f"fast path took a line the reference refuses: {reference}"
    fix, rx = reference
    assert _fields(fast.fixes[0]) == _fields(fix)
    assert fast.fixes[0] == fix and hash(fast.fixes[0]) == hash(fix)
    assert fast.rx[0] == rx
    return True


instants = st.one_of(
    st.integers(0, EPOCH_2100_MS).map(format_instant),
    st.sampled_from([
        "2026-11-28T08:00:01Z", "2026-11-28T16:00:01.5+08:00", "2026-11-28T08:00:01.999999Z",
        "2026-11-28 08:00:01.000Z", "2026-11-28T08:00:01,123Z", "2026-11-28t08:00:01.000Z",
        "2026-11-28T08:00:60.000Z", "2026-13-28T08:00:01.000Z", "2026-11-28T08:00:01.00aZ",
        "2026-11-28T08:00:01.000", "2026-11-28T08:00:٠١.000Z", "2026-11-28T08:00:01.٠٠٠Z",
        "2026-02-30T08:00:01.000Z", "2026-11-28T08:00:01.000z", "", "now",
    ]),
    st.text(max_size=30),
)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-200, 200),
    st.integers(-(10**30), 10**30),
    st.integers(-200, 200),
    st.sampled_from([0.0, -0.0, 90.0, -90.0, 180.0, -180.0, 90.00000000000001, 1e-320, 5e-324,
                     10**400]),
)
wrong = st.one_of(st.none(), st.booleans(), st.text(max_size=8), st.lists(st.integers(), max_size=2),
                  st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
values: dict[str, st.SearchStrategy[Any]] = {
    "t": st.one_of(instants, wrong, numbers),
    "terminal": st.one_of(st.text(max_size=12), st.sampled_from(["W-017", "", "Ω-1", "\ud800x"]),
                          wrong, numbers),
    "lat": st.one_of(st.floats(-90, 90), numbers, wrong),
    "lon": st.one_of(st.floats(-180, 180), numbers, wrong),
    "quality": st.one_of(st.integers(0, 9), st.integers(-3, 12), st.integers(2**63 - 2, 2**64 + 2),
                         numbers, wrong),
    "acc": st.one_of(st.floats(0, 100), numbers, wrong),
    "rx": st.one_of(instants, wrong),
}
KEYS = ["t", "terminal", "lat", "lon", "quality", "acc", "rx"]


good_values: dict[str, st.SearchStrategy[Any]] = {
    "t": st.integers(0, EPOCH_2100_MS).map(format_instant),
    "terminal": st.text(min_size=1, max_size=12),
    "lat": st.floats(-90, 90),
    "lon": st.floats(-180, 180),
    "quality": st.integers(0, 9),
    "acc": st.one_of(st.floats(-1, 100), st.integers(-1, 5)),
    "rx": st.integers(0, EPOCH_2100_MS).map(format_instant),
}


@st.composite
def fix_lines(draw: st.DrawFn) -> bytes:
    """A JSON object line: a well-formed fix with a few changes (a bad value, a key
    dropped, extra or duplicate keys), sometimes damaged bytes."""
    members = [(k, draw(good_values[k])) for k in KEYS if k in ("t", "terminal", "quality")
               or draw(st.booleans())]
    for _ in range(draw(st.integers(0, 3))):
        change = draw(st.sampled_from(["value", "drop", "add", "swap"]))
        if change == "value" and members:
            at = draw(st.integers(0, len(members) - 1))
            members[at] = (members[at][0], draw(values.get(members[at][0], wrong)))
        elif change == "drop" and members:
            del members[draw(st.integers(0, len(members) - 1))]
        elif change == "add":
            key = draw(st.sampled_from([*KEYS, "alt", "extra", "T", "rx"]))
            members.insert(draw(st.integers(0, len(members))), (key, draw(values.get(key, wrong))))
        elif change == "swap" and len(members) > 1:
            members.reverse()
    ascii_only = draw(st.booleans())
    text = "{" + ", ".join(
        f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=ascii_only)}" for k, v in members) + "}"
    data = text.encode("utf-8", "surrogatepass")
    damage = draw(st.sampled_from(["none", "none", "none", "cut", "byte", "trail"]))
    if damage == "cut" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif damage == "byte":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=2)) + data[at:]
    elif damage == "trail":
        data += draw(st.sampled_from([b" ", b"\r", b"\t", b" x", b"{}", b" {}", b"\x00", b"\x0c"]))
    return data


@settings(max_examples=3000, deadline=None)
@given(fix_lines())
@example(b'{"t": "2026-11-28T08:00:01.000Z", "terminal": "W", "quality": 4, "quality": 5}')
@example(b'{"t": "2026-11-28T08:00:01.000Z", "terminal": "W", "quality": 4, "lat": NaN, "lon": 1}')
@example(b'{"t": "2026-11-28T08:00:01.000Z", "terminal": "W", "quality": true}')
@example(b'{"t": "2026-11-28T08:00:01.000Z", "terminal": "W", "quality": 4.0}')
@example(b'{"t": "2026-11-28T08:00:01.000Z", "terminal": "W", "quality": 4, "lat": 40, "lon": 1e1}')
@example(b'{"t": "2026-11-28T08:00:01.000Z", "terminal": "W", "quality": 4, "lat": 1, "lon": 2,'
         b' "acc": -0.0}')
@example(b'{"t": "2026-11-28T08:00:01.000Z", "terminal": "W", "quality": 4, "rx": null}')
@example(b'{"\\u0074": "2026-11-28T08:00:01.000Z", "terminal": "\\u00e9", "quality": 4}')
@example(b'{"t": "2026-11-28T08:00:01.000Z", "terminal": "W\xff", "quality": 4}')
@example(b'{"t": "2026-11-28T08:00:01.000Z", "terminal": "\\ud800", "quality": 4}')
@example(b'{"t": "2026-11-28T08:00:01.000Z", "\x80alt": null, "terminal": "W", "quality": 4}')
@example(b'{"t": "2026-11-28T08:00:01.000Z", "alt": "\xed\xa0\x80", "terminal": "W", "quality": 4}')
def test_fast_path_takes_only_what_the_reference_parses_the_same(line: bytes) -> None:
    _assert_agrees(line)


coordinates = st.tuples(st.floats(-90, 90), st.floats(-180, 180))


@settings(max_examples=1500, deadline=None)
@given(st.integers(0, EPOCH_2100_MS), st.text(min_size=1, max_size=12), st.one_of(st.none(), coordinates),
       st.integers(0, 9), st.one_of(st.none(), st.floats(-1, 100)), st.one_of(st.none(), st.integers(0, EPOCH_2100_MS)),
       st.booleans())
def test_well_formed_lines_take_the_fast_path(
    t_ms: int, terminal: str, position: tuple[float, float] | None, quality: int, acc: float | None,
    rx_ms: int | None, ascii_only: bool,
) -> None:
    """Lines as the engine and the simulator write them (any unicode id, every float) are
    all taken by the fast path, with the reference's fix."""
    obj: dict[str, Any] = {"t": format_instant(t_ms), "terminal": terminal, "quality": quality}
    if position is not None:
        obj["lat"], obj["lon"] = position
    if acc is not None:
        obj["acc"] = acc
    if rx_ms is not None:
        obj["rx"] = format_instant(rx_ms)
    line = json.dumps(obj, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in terminal) and not ascii_only:
        return  # not UTF-8: the reference's "not UTF-8 text"
    assert _assert_agrees(line)


@given(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["{!r}", "{:.8f}", "{:e}", "{:.17g}"]))
def test_numbers_are_read_as_python_reads_them(value: float, form: str) -> None:
    """Every float text the fast decoder takes is the float Python's json makes of it."""
    text = form.format(value)
    if text in ("inf", "-inf", "nan"):
        return
    line = f'{{"t": "2026-11-28T08:00:01.000Z", "terminal": "W", "quality": 1, "acc": {text}}}'
    _assert_agrees(line.encode())


def test_a_chunk_keeps_line_indexes_and_time_cache_per_line() -> None:
    good = b'{"t": "2026-11-28T08:00:01.000Z", "terminal": "W", "quality": 4}'
    other = b'{"t": "2026-11-28T08:00:02.500Z", "terminal": "W", "quality": 4, "rx": "x"}'
    bad_time = b'{"t": "2026-11-28T08:00:61.000Z", "terminal": "W", "quality": 4}'
    fast = decode_fix_lines([good, b"", bad_time, other, good, b"{", other])
    assert fast.taken == [0, 3, 4, 6]
    assert [f.t_ms - parse_instant("2026-11-28T08:00:01.000Z") for f in fast.fixes] == [0, 1500, 0, 1500]
    assert fast.rx == [msgspec.UNSET, "x", msgspec.UNSET, "x"]


def test_reference_reports_huge_numbers_and_deep_nesting_instead_of_crashing() -> None:
    base = '"t": "2026-11-28T08:00:01.000Z", "terminal": "W", "quality": 4'
    with pytest.raises(FixLineError, match="lat 1000"):
        parse_fix_line(f'{{{base}, "lat": 1{"0" * 400}, "lon": 1}}')
    fix = parse_fix_line(f'{{{base}, "acc": 1{"0" * 400}}}')
    assert fix.acc_m is None
    with pytest.raises(FixLineError, match="nested too deep"):
        parse_fix_line("[" * 100_000)


@given(st.integers(0, EPOCH_2100_MS), st.text(min_size=1, max_size=8),
       st.one_of(st.none(), coordinates), st.integers(0, 9),
       st.one_of(st.none(), st.floats(0.001, 100)))
def test_of_checked_equals_the_checked_constructor(
    t_ms: int, terminal: str, position: tuple[float, float] | None, quality: int, acc: float | None
) -> None:
    lat, lon = position if position is not None else (None, None)
    built = Fix.of_checked(t_ms, terminal, lat, lon, quality, acc)
    checked = Fix(t_ms, terminal, lat, lon, quality, acc)
    assert _fields(built) == _fields(checked) and built == checked and hash(built) == hash(checked)
    assert repr(built) == repr(checked)


def test_checked_constructor_still_checks() -> None:
    for args in [(1, "", 1.0, 1.0, 4), (1, "W", 1.0, None, 4), (1, "W", 91.0, 1.0, 4),
                 (1, "W", math.nan, 1.0, 4), (1, "W", 1.0, 1.0, 10)]:
        with pytest.raises(FixValueError):
            Fix(*args)
