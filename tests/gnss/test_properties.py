"""Property tests: no exception on any bytes, chunking never matters, values round-trip."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from gnss import encode
from gnss.decoder import NmeaDecoder, decode_bytes
from gnss.errors import DecodeError
from gnss.fix import Fix
from gnss.instant import parse_instant

T0 = parse_instant("2026-11-28T08:00:00.000Z")
TALKERS = st.sampled_from(["GP", "GN", "BD", "GB", "GL", "GA", "GI", "GQ"])
LATS = st.floats(min_value=-89.9, max_value=89.9, allow_nan=False)
LONS = st.floats(min_value=-179.9, max_value=179.9, allow_nan=False)


@st.composite
def sentences(draw: st.DrawFn) -> str:
    """One valid sentence of a random type, talker and epoch."""
    talker = draw(TALKERS)
    t_ms = T0 + 1000 * draw(st.integers(0, 5)) + 10 * draw(st.integers(0, 99))
    lat, lon = draw(LATS), draw(LONS)
    quality = draw(st.sampled_from([0, 1, 2, 4, 5, 6]))
    kind = draw(st.sampled_from(["GGA", "RMC", "GNS", "GST", "ZDA", "VTG", "GLL", "GSA"]))
    if kind == "GGA":
        return encode.gga(talker, t_ms, lat, lon, quality, sats=12, hdop=0.9, alt_m=12.5)
    if kind == "RMC":
        return encode.rmc(talker, t_ms, lat, lon, valid=quality > 0, mode=encode.mode_letter(quality))
    if kind == "GNS":
        return encode.gns(talker, t_ms, lat, lon, encode.mode_letter(quality) * 2)
    if kind == "GST":
        return encode.gst(talker, t_ms, lat_sd_m=0.02, lon_sd_m=0.03)
    if kind == "ZDA":
        return encode.zda(talker, t_ms)
    if kind == "VTG":
        return encode.vtg(talker, course_deg=10.0, speed_mps=1.0)
    if kind == "GLL":
        return encode.gll(talker, t_ms, lat, lon, mode=encode.mode_letter(quality))
    return encode.gsa(talker, fix_type=3, prns=[1, 2], hdop=1.0)


SEGMENTS = st.one_of(
    sentences().map(lambda s: s.encode()),
    sentences().map(lambda s: s.encode().replace(b"\r\n", b"\n")),
    sentences().map(lambda s: s.encode().replace(b"\r\n", b"\r")),
    sentences().map(lambda s: b"$" + s.encode().replace(b"\r\n", b"\r\r\n")),
    sentences().map(lambda s: s.encode()[: len(s) // 2]),  # cut
    TALKERS.map(lambda t: "".join(encode.gsv(t, [(1, 20, 30, 40)] * 5)).encode()),
    st.binary(max_size=40),
    st.sampled_from([b"\x00", b"\xb5\x62\x01\x07", b"\xd3\x00\x13", b"\xba\xce", b"$", b"*", b"\r\n"]),
)


def whole(data: bytes, satellites: bool = False) -> list[Fix | DecodeError]:
    decoder = NmeaDecoder("prop", satellites=satellites)
    return decoder.feed(data) + decoder.flush()


def feed_in_pieces(data: bytes, cuts: list[int], satellites: bool = False) -> list[Fix | DecodeError]:
    decoder = NmeaDecoder("prop", satellites=satellites)
    out: list[Fix | DecodeError] = []
    last = 0
    for cut in sorted(set(cuts)):
        out += decoder.feed(data[last:cut])
        last = cut
    out += decoder.feed(data[last:])
    return out + decoder.flush()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    out = decode_bytes("prop", data)
    assert all(isinstance(item, (Fix, DecodeError)) for item in out)


@settings(max_examples=300, deadline=None)
@given(st.lists(SEGMENTS, max_size=40), st.lists(st.integers(0, 5000), max_size=30))
def test_any_split_gives_the_same_output(segments: list[bytes], cuts: list[int]) -> None:
    data = b"".join(segments)
    cuts = [c for c in cuts if c <= len(data)]
    for satellites in (False, True):
        expected = whole(data, satellites)
        got = feed_in_pieces(data, cuts, satellites)
        assert got == expected
        # sats_in_view is not part of Fix equality: compare it explicitly
        assert [f.sats_in_view for f in got if isinstance(f, Fix)] == [
            f.sats_in_view for f in expected if isinstance(f, Fix)
        ]


@settings(max_examples=100, deadline=None)
@given(st.lists(SEGMENTS, min_size=1, max_size=30))
def test_byte_at_a_time_gives_the_same_output(segments: list[bytes]) -> None:
    data = b"".join(segments)
    assert feed_in_pieces(data, list(range(len(data)))) == decode_bytes("prop", data)


@settings(max_examples=300, deadline=None)
@given(
    TALKERS,
    # RMC writes a 2-digit year, read as 1980-2079
    st.integers(parse_instant("1980-01-01T00:00:00Z") // 10, parse_instant("2079-12-31T23:59:59Z") // 10).map(
        lambda v: v * 10
    ),
    LATS,
    LONS,
    st.sampled_from([1, 2, 4, 5]),
    st.floats(0.001, 50.0),
    st.floats(0.001, 50.0),
    st.floats(0.0, 60.0),
    st.floats(0.0, 359.99),
)
def test_valid_sentences_round_trip(
    talker: str,
    t_ms: int,
    lat: float,
    lon: float,
    quality: int,
    lat_sd: float,
    lon_sd: float,
    speed: float,
    course: float,
) -> None:
    data = (
        encode.rmc(talker, t_ms, lat, lon, speed_mps=speed, course_deg=course, mode=encode.mode_letter(quality))
        + encode.gga(talker, t_ms, lat, lon, quality, sats=17, hdop=0.75, alt_m=-12.125)
        + encode.gst(talker, t_ms, lat_sd_m=lat_sd, lon_sd_m=lon_sd)
    ).encode()
    out = decode_bytes("rt", data)
    assert len(out) == 1 and isinstance(out[0], Fix)
    fix = out[0]
    assert fix.t_ms == t_ms and fix.quality == quality and fix.terminal == "rt"
    assert fix.lat is not None and fix.lon is not None
    assert abs(fix.lat - lat) < 2e-9 and abs(fix.lon - lon) < 2e-9  # 7-decimal minutes
    assert fix.sats == 17 and fix.hdop == 0.75 and fix.alt_m == -12.125
    assert fix.acc_m is not None
    assert abs(fix.acc_m - math.hypot(round(lat_sd, 3), round(lon_sd, 3))) < 1e-9
    assert fix.speed_mps is not None and abs(fix.speed_mps - speed) < 1e-3
    assert fix.course_deg is not None and abs(fix.course_deg - course) < 0.006
