"""The decoder's fast paths give exactly the reference path's output.

Reference: ``NmeaDecoder(fast=False)`` (general framing scanner, sentence readers, epoch
assembler). Fast: clean-chunk framing (line by line or numpy) and ``gnss.fastpath``'s
steady-cycle reader. Same fixes (all fields, ``sats_in_view`` too), same errors (kind,
detail, line), same order: on the 40 corpus logs, on generated BeiDou streams and on
streams mutated field by field (checksums recomputed so the damage reaches the readers).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gnss import encode
from gnss.decoder import NmeaDecoder
from gnss.errors import DecodeError
from gnss.fastpath import CycleReader, readable_cycle
from gnss.fix import Fix
from gnss.framing import Framer
from gnss.instant import parse_instant
from tests.gnss.gpsd_oracle import log_bytes, log_names

T0 = parse_instant("2026-11-28T23:59:50.000Z")  # crosses midnight
Output = list[Fix | DecodeError]


def decode(data: bytes, *, fast: bool, chunk: int = 0, satellites: bool = False) -> tuple[Output, int]:
    """All output of one decoder fed ``data`` in pieces of ``chunk`` bytes (0: at once),
    and how many epochs went through the fast path."""
    decoder = NmeaDecoder("T-1", fast=fast, satellites=satellites)
    out: Output = []
    step = chunk or max(len(data), 1)
    for start in range(0, len(data), step):
        out += decoder.feed(data[start : start + step])
    out += decoder.flush()
    return out, decoder.fast_epochs


def same(got: Output, expected: Output) -> None:
    """Equal outputs, the fields ``Fix`` equality leaves out included."""
    assert got == expected
    assert [(f.sats_in_view, type(f.lat), type(f.acc_m)) for f in got if isinstance(f, Fix)] == [
        (f.sats_in_view, type(f.lat), type(f.acc_m)) for f in expected if isinstance(f, Fix)
    ]


def cycle_stream(
    epochs: int,
    kinds: tuple[str, ...] = ("GGA", "RMC", "GST"),
    talker: str = "GN",
    quality: int = 4,
    start_ms: int = T0,
    motion: bool = True,
    hdop: bool = True,
) -> bytes:
    """A receiver sending one epoch of ``kinds`` per second, walking north-east
    (``motion``: RMC gives speed and course; ``hdop``: GGA gives HDOP)."""
    parts: list[str] = []
    for k in range(epochs):
        t_ms = start_ms + 1000 * k
        lat, lon = 40.65 + 1e-6 * k, 111.51 + 2e-6 * k
        for kind in kinds:
            if kind == "GGA":
                parts.append(encode.gga(talker, t_ms, lat, lon, quality, sats=24, hdop=0.7 if hdop else None,
                                        alt_m=1012.0))
            elif kind == "RMC":
                parts.append(encode.rmc(talker, t_ms, lat, lon, speed_mps=1.25 if motion else None,
                                        course_deg=87.5 if motion else None,
                                        mode=encode.mode_letter(quality), valid=quality > 0))
            elif kind == "VTG":
                parts.append(encode.vtg(talker, course_deg=88.0 + k, speed_mps=1.5))
            elif kind == "GSA":
                parts.append(encode.gsa(talker, fix_type=3, prns=[1, 3, 5], pdop=1.2, hdop=0.9, vdop=1.1))
            elif kind == "GSV":
                parts += encode.gsv("GB", [(i, 10 + i, 30 * i, 40) for i in range(1, 9)])
            elif kind == "GST":
                parts.append(encode.gst(talker, t_ms, rms=0.2, lat_sd_m=0.012, lon_sd_m=0.015, alt_sd_m=0.03))
            else:
                parts.append(encode.zda(talker, t_ms))
    return "".join(parts).encode("ascii")


@pytest.mark.parametrize("name", log_names())
def test_corpus_fast_equals_reference(name: str) -> None:
    data = log_bytes(name)
    expected, _ = decode(data, fast=False)
    for chunk in (0, 97, 4096):
        got, _ = decode(data, fast=True, chunk=chunk)
        same(got, expected)
    with_sats, _ = decode(data, fast=True, satellites=True)
    same(with_sats, decode(data, fast=False, satellites=True)[0])


@pytest.mark.parametrize(
    "kinds",
    [("GGA", "RMC"), ("RMC", "GGA"), ("GGA", "RMC", "GST"), ("RMC", "GGA", "GST", "ZDA"), ("GGA", "ZDA"),
     ("ZDA", "GGA", "GST"), ("RMC",), ("RMC", "GST")],
)
@pytest.mark.parametrize("talker", ["GN", "BD", "GB"])
def test_steady_beidou_cycles_take_the_fast_path(kinds: tuple[str, ...], talker: str) -> None:
    data = cycle_stream(40, kinds, talker)
    expected, _ = decode(data, fast=False)
    assert sum(isinstance(item, Fix) for item in expected) == 40
    for chunk in (0, 1, 150, 10_000):
        got, fast_epochs = decode(data, fast=True, chunk=chunk)
        same(got, expected)
        if chunk in (0, 10_000):
            assert fast_epochs >= 35  # all but the epochs that teach the closer (and chunk edges)


@pytest.mark.parametrize(
    "kinds",
    [("RMC", "VTG", "GGA", "GSA", "GSA", "GSV", "GST", "ZDA"), ("VTG", "GSA", "GGA", "RMC"),
     ("GGA", "RMC", "GST", "VTG"), ("GGA", "GSA", "RMC", "GSV")],
)
@pytest.mark.parametrize(("motion", "hdop"), [(True, True), (False, True), (True, False), (False, False)])
def test_vtg_and_gsa_in_the_cycle(kinds: tuple[str, ...], motion: bool, hdop: bool) -> None:
    """VTG and GSA are read by the reference only when the epoch lacks speed and course,
    or HDOP: the fast path leaves those epochs to it; the others it decodes itself."""
    data = cycle_stream(30, kinds, "GN", motion=motion, hdop=hdop)
    for satellites in (False, True):
        expected, _ = decode(data, fast=False, satellites=satellites)
        assert sum(isinstance(item, Fix) for item in expected) == 30
        for chunk in (0, 200):
            got, fast_epochs = decode(data, fast=True, chunk=chunk, satellites=satellites)
            same(got, expected)
            needs_vtg = "VTG" in kinds and not motion
            needs_gsa = "GSA" in kinds and not hdop
            if chunk == 0 and not satellites and not needs_vtg and not needs_gsa:
                assert fast_epochs >= 25


@pytest.mark.parametrize("quality", [0, 1, 2, 4, 5, 6])
def test_qualities_and_invalid_epochs(quality: int) -> None:
    data = cycle_stream(12, ("GGA", "RMC", "GST"), "BD", quality)
    expected, _ = decode(data, fast=False)
    got, fast_epochs = decode(data, fast=True)
    same(got, expected)
    assert fast_epochs > 0


def test_one_epoch_per_message_like_mqtt() -> None:
    """The live input: one GGA+RMC+GST epoch per feed, each one fast after the start."""
    decoder = NmeaDecoder("T-1")
    reference = NmeaDecoder("T-1", fast=False)
    data = cycle_stream(30)
    lines = data.split(b"\n")[:-1]
    messages = [b"\n".join(lines[i : i + 3]) + b"\n" for i in range(0, len(lines), 3)]
    for message in messages:
        same(decoder.feed(message), reference.feed(message))
    same(decoder.flush(), reference.flush())
    assert decoder.fast_epochs == 27


def test_a_big_chunk_is_framed_with_numpy_and_matches() -> None:
    data = cycle_stream(400)  # ~100 kB: the numpy framing
    assert len(data) > 64_000
    same(decode(data, fast=True)[0], decode(data, fast=False)[0])
    damaged = data.replace(b"*", b"*0", 1)  # one bad line: the whole chunk goes the general way
    same(decode(damaged, fast=True)[0], decode(damaged, fast=False)[0])


# Field texts that the reference reads, refuses, or reads in a way the fast path must not
# get wrong: limits of coordinates, times and dates, number forms float() accepts.
ODD_FIELDS = [
    b"", b"0", b"-0", b"+1", b" 1", b"1e5", b"nan", b"inf", b"1_0", b".5", b"5.", b"-", b".", b"..",
    b"9000.0000", b"9000.0001", b"8959.9999999999", b"4060.0", b"4059.99999999999999999", b"18000.0",
    b"18000.00001", b"17959.9999", b"04039.1234", b"040.5", b"40", b"4039", b"1" * 400,
    b"235959.99", b"240000.00", b"235960.00", b"120000", b"120000.", b"12000.00", b"120000.1234",
    b"311299", b"290225", b"290224", b"310426", b"000000", b"12", b"2026", b"N", b"S", b"E", b"W",
    b"A", b"V", b"R", b"F", b"D", b"X", b"AD", b"M", b"4", b"9", b"10", b"00",
]


def mutate(data: bytes, picks: list[tuple[int, int, bytes]]) -> bytes:
    """Replace fields (line, field index, text) and recompute the checksums of those lines."""
    lines = data.split(b"\r\n")
    for line_no, field_no, text in picks:
        k = line_no % (len(lines) - 1)
        body = lines[k][1:-3].split(b",")
        body[field_no % len(body)] = text
        joined = b",".join(body)
        lines[k] = b"$" + joined + b"*" + encode.checksum(joined.decode("ascii")).encode("ascii")
    return b"\r\n".join(lines)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([("GGA", "RMC"), ("GGA", "RMC", "GST"), ("RMC", "GGA", "GST", "ZDA"), ("GGA", "ZDA"),
                     ("RMC", "VTG", "GGA", "GSA", "GST", "ZDA")]),
    st.sampled_from(["GN", "BD", "GB"]),
    st.lists(st.tuples(st.integers(0, 80), st.integers(0, 13), st.sampled_from(ODD_FIELDS)), max_size=4),
    st.lists(st.integers(0, 6000), max_size=6),
    st.booleans(),
)
def test_mutated_fields_fast_equals_reference(
    kinds: tuple[str, ...], talker: str, picks: list[tuple[int, int, bytes]], cuts: list[int], motion: bool
) -> None:
    data = mutate(cycle_stream(25, kinds, talker, motion=motion, hdop=motion), picks)
    expected, _ = decode(data, fast=False)
    same(decode(data, fast=True)[0], expected)
    decoder = NmeaDecoder("T-1")
    got: Output = []
    last = 0
    for cut in sorted({c for c in cuts if c <= len(data)}):
        got += decoder.feed(data[last:cut])
        last = cut
    got += decoder.feed(data[last:]) + decoder.flush()
    same(got, expected)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 5000), max_size=5),
    st.lists(st.sampled_from([b"\x00", b"$", b"*", b"\r", b"\n", b",", b"9", b"\r\n", b"$GNGGA,"]), max_size=5),
)
def test_damaged_bytes_fast_equals_reference(positions: list[int], inserts: list[bytes]) -> None:
    data = bytearray(cycle_stream(20))
    for position, insert in zip(positions, inserts, strict=False):
        at = position % len(data)
        data[at:at] = insert
    raw = bytes(data)
    expected, _ = decode(raw, fast=False)
    for chunk in (0, 64):
        same(decode(raw, fast=True, chunk=chunk)[0], expected)


@given(st.binary(max_size=600), st.integers(1, 700))
@settings(max_examples=300, deadline=None)
def test_arbitrary_bytes_fast_equals_reference(data: bytes, chunk: int) -> None:
    stream = cycle_stream(4) + data + cycle_stream(4, start_ms=T0 + 10_000)
    expected, _ = decode(stream, fast=False)
    same(decode(stream, fast=True, chunk=chunk)[0], expected)


@pytest.mark.parametrize("keep", [frozenset((b"GGA", b"RMC", b"GST")), frozenset(), None])
def test_framing_paths_agree_on_line_numbers(keep: frozenset[bytes] | None) -> None:
    data = cycle_stream(200, ("GGA", "RMC", "GST", "ZDA"))
    data = data.replace(b"$GNZDA", b"$GPTXT,01,01,02,text*00\r\n$GNZDA", 50)
    for chunk in (len(data), 700, 1500, 20_000):
        results = []
        for fast in (True, False):
            framer = Framer("T-1", keep, fast=fast)
            seen: list[tuple[bytes | DecodeError, int]] = []
            for start in range(0, len(data), chunk):
                items = framer.feed(data[start : start + chunk])
                bodies = [item for item in items if isinstance(item, bytes)]
                seen += [(body, framer.line_of(k)) for k, body in enumerate(bodies)]
            results.append(seen)
        assert results[0] == results[1]


def test_cycles_the_fast_path_leaves_to_the_reference() -> None:
    assert readable_cycle((b"GNGGA", b"GNRMC", b"GNGST"))
    assert not readable_cycle((b"GNGGA", b"GPGGA"))  # two of a type: merge order matters
    assert not readable_cycle((b"GNGST", b"GNZDA"))  # no position sentence
    assert not readable_cycle((b"GNGNS", b"GNRMC"))  # GNS: reference only
    with pytest.raises(ValueError, match="not a cycle"):
        CycleReader((b"GNVTG",))


FINITE = st.floats(allow_nan=False, allow_infinity=False)


@given(
    st.integers(0, 2**42),
    st.text(min_size=1, max_size=12),
    st.one_of(st.none(), st.tuples(st.floats(-90, 90), st.floats(-180, 180))),
    st.integers(0, 9),
    st.one_of(st.none(), st.floats(0.001, 1e6)),
    st.one_of(st.none(), FINITE),
    st.one_of(st.none(), st.integers(0, 99)),
)
def test_of_checked_with_receiver_details_equals_fix(
    t_ms: int, terminal: str, pos: tuple[float, float] | None, quality: int, acc: float | None,
    value: float | None, sats: int | None,
) -> None:
    lat, lon = pos if pos is not None else (None, None)
    built = Fix.of_checked(t_ms, terminal, lat, lon, quality, acc, value, value, sats, value, value)
    reference = Fix(t_ms, terminal, lat, lon, quality, acc, value, value, sats, value, value, ())
    assert built == reference and built.sats_in_view == () and hash(built) == hash(reference)


def test_short_lines_take_the_general_way() -> None:
    """A 8-9 byte line is checksum-checked by the general scanner whatever its type."""
    short = f"$GPGGA*{encode.checksum('GPGGA')}\r\n$GPTXT*{encode.checksum('GPTXT')}\r\n".encode()
    data = b"$GN,GGA,\r\n" + short + cycle_stream(3)
    expected, _ = decode(data, fast=False)
    assert [item.kind.value for item in expected if isinstance(item, DecodeError)] == ["no_checksum"]
    for chunk in (0, 9, 64):
        same(decode(data, fast=True, chunk=chunk)[0], expected)


def test_fresh_stream_learns_the_cycle_in_the_fast_path() -> None:
    data = cycle_stream(20)
    got, fast_epochs = decode(data, fast=True)
    same(got, decode(data, fast=False)[0])
    assert fast_epochs == 20  # the three learning epochs too


@pytest.mark.parametrize(
    "data",
    [
        cycle_stream(12)[cycle_stream(12).index(b"$GNRMC") :],  # starts in mid-epoch
        b"".join(  # GGA alone before any date, then GGA + RMC: held epochs dated back
            [encode.gga("GB", T0 + 1000 * k, 40.6, 111.5, 4).encode() for k in range(3)]
            + [cycle_stream(8, ("GGA", "RMC"), "GB", start_ms=T0 + 3000)]
        ),
        cycle_stream(6, ("GGA", "RMC")) + cycle_stream(6, ("RMC", "GGA"), start_ms=T0 + 6000),  # cycle changes
        cycle_stream(5, ("VTG", "GGA", "RMC")),  # untimed first: the reference learns
        cycle_stream(3) + cycle_stream(3, start_ms=T0 + 2000),  # a time of day again
    ],
)
def test_fresh_starts_fast_equals_reference(data: bytes) -> None:
    expected, _ = decode(data, fast=False)
    for chunk in (0, 100, 1000):
        same(decode(data, fast=True, chunk=chunk)[0], expected)


def test_decoder_reused_after_flush() -> None:
    """After flush the last dated instant stays: undated epochs of the next stream use it."""
    first = cycle_stream(5)
    undated = b"".join(encode.gga("GN", T0 + 9000 + 1000 * k, 40.6, 111.5, 4).encode() for k in range(5))
    outputs = []
    for fast in (True, False):
        decoder = NmeaDecoder("T-1", fast=fast)
        out = decoder.feed(first) + decoder.flush() + decoder.feed(undated) + decoder.flush()
        out += decoder.feed(first) + decoder.flush()
        outputs.append(out)
    same(outputs[0], outputs[1])
    assert sum(isinstance(item, Fix) for item in outputs[1]) == 15


def test_undated_epochs_take_the_nearest_instant_across_midnight() -> None:
    """RMC without a date after the first epoch: the fast path dates epochs from the
    previous one (through midnight, T0 is 23:59:50) as the reference does."""
    parts = []
    for k in range(25):
        t_ms = T0 + 1000 * k
        parts.append(encode.gga("BD", t_ms, 40.6, 111.5, 4, sats=20, hdop=0.8, alt_m=12.0))
        parts.append(encode.rmc("BD", t_ms, 40.6, 111.5, mode="R", with_date=k == 0))
        parts.append(encode.gst("BD", t_ms, lat_sd_m=0.01, lon_sd_m=0.02))
    data = "".join(parts).encode("ascii")
    expected, _ = decode(data, fast=False)
    got, fast_epochs = decode(data, fast=True)
    same(got, expected)
    assert fast_epochs == 25
    assert [fix.t_ms for fix in got if isinstance(fix, Fix)] == [T0 + 1000 * k for k in range(25)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.sampled_from([b"\r\n", b"\n", b"\r", b"\r\r\n", b"\n\r"])),
             min_size=1, max_size=60),
    st.sampled_from([1, 64, 700, 5000]),
)
def test_line_ends_fast_framing_equals_general(lines: list[tuple[int, bytes]], chunk: int) -> None:
    """Clean sentences with any mix of line ends, small chunks and numpy-sized ones."""
    sentences = cycle_stream(3, ("GGA", "RMC")).split(b"\r\n")[:-1]
    data = b"".join(sentences[k] + end for k, end in lines)
    keep = frozenset((b"GGA", b"RMC"))
    seen = []
    for fast in (True, False):
        framer = Framer("T-1", keep, fast=fast)
        got: list[tuple[bytes | DecodeError, int | None]] = []
        for start in range(0, len(data), chunk):
            items = framer.feed(data[start : start + chunk])
            bodies = [item for item in items if isinstance(item, bytes)]
            got += [(body, framer.line_of(k)) for k, body in enumerate(bodies)]
            got += [(item, item.line) for item in items if isinstance(item, DecodeError)]
        items = framer.flush()
        got += [(item, None) for item in items]
        seen.append(got)
    assert seen[0] == seen[1]
