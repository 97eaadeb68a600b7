"""Decoder semantics: epochs, dates, qualities (BeiDou talkers, RTK), accuracy, errors."""

from __future__ import annotations

import math

import pytest

from gnss import encode
from gnss.decoder import NmeaDecoder, decode_bytes
from gnss.epoch import MAX_UNDATED_EPOCHS
from gnss.errors import DecodeError, DecodeErrorKind
from gnss.fix import Constellation, Fix
from gnss.instant import parse_instant

T0 = parse_instant("2026-11-28T08:00:01.000Z")
LAT, LON = 40.6512345, 111.5123456


def fixes(items: list[Fix | DecodeError]) -> list[Fix]:
    return [i for i in items if isinstance(i, Fix)]


def errors(items: list[Fix | DecodeError]) -> list[DecodeError]:
    return [i for i in items if isinstance(i, DecodeError)]


def ublox_epoch(t_ms: int, lat: float = LAT, lon: float = LON, quality: int = 4) -> str:
    """RMC, VTG, GGA, GSA, GST, ZDA: a u-blox style cycle."""
    return (
        encode.rmc("GN", t_ms, lat, lon, speed_mps=1.5, course_deg=90.0, mode=encode.mode_letter(quality))
        + encode.vtg("GN", course_deg=90.0, speed_mps=1.5)
        + encode.gga("GN", t_ms, lat, lon, quality, sats=18, hdop=0.7, alt_m=1043.25)
        + encode.gsa("GN", fix_type=3, prns=[1, 2, 3], pdop=1.1, hdop=0.7, vdop=0.8)
        + encode.gst("GN", t_ms, rms=0.1, lat_sd_m=0.012, lon_sd_m=0.016, alt_sd_m=0.03)
        + encode.zda("GN", t_ms)
    )


def test_one_fix_per_epoch_with_all_fields() -> None:
    data = "".join(ublox_epoch(T0 + 1000 * k, LAT + 1e-5 * k) for k in range(3)).encode()
    out = decode_bytes("W-017", data)
    assert errors(out) == []
    got = fixes(out)
    assert [f.t_ms for f in got] == [T0, T0 + 1000, T0 + 2000]
    first = got[0]
    assert first.terminal == "W-017" and first.quality == 4
    assert first.lat == pytest.approx(LAT, abs=1e-9) and first.lon == pytest.approx(LON, abs=1e-9)
    assert first.acc_m == pytest.approx(math.hypot(0.012, 0.016))
    assert first.alt_m == 1043.25 and first.hdop == 0.7 and first.sats == 18
    assert first.speed_mps == pytest.approx(1.5, abs=1e-3) and first.course_deg == 90.0
    assert got[2].lat == pytest.approx(LAT + 2e-5, abs=1e-9)


def test_fix_comes_out_on_the_learned_closer() -> None:
    decoder = NmeaDecoder("W-017")
    for k in range(3):
        decoder.feed(ublox_epoch(T0 + 1000 * k).encode())
    assert decoder.cycle_closer == "GNZDA"
    # from now on the fix of an epoch is out as soon as its ZDA arrives
    epoch = ublox_epoch(T0 + 3000)
    before_zda, zda = epoch[: epoch.index("$GNZDA")], epoch[epoch.index("$GNZDA") :]
    assert fixes(decoder.feed(before_zda.encode())) == []
    out = fixes(decoder.feed(zda.encode()))
    assert [f.t_ms for f in out] == [T0 + 3000]
    assert fixes(decoder.flush()) == []


def test_without_closer_the_epoch_is_emitted_by_the_next_one_or_flush() -> None:
    decoder = NmeaDecoder("W-017")
    # the cycle's last sentence changes every time: nothing to learn
    out = fixes(decoder.feed((encode.rmc("GN", T0, LAT, LON) + encode.gga("GN", T0, LAT, LON, 1)).encode()))
    assert out == []
    out = fixes(decoder.feed(encode.gga("GN", T0 + 1000, LAT, LON, 1).encode()))
    assert [f.t_ms for f in out] == [T0]
    assert [f.t_ms for f in fixes(decoder.flush())] == [T0 + 1000]


def test_repeated_gga_time_is_not_a_new_fix() -> None:
    gga = encode.gga("GP", T0, LAT, LON, 1, sats=8)
    data = (encode.rmc("GP", T0, LAT, LON) + gga + gga + gga).encode()
    assert [f.t_ms for f in fixes(decode_bytes("t", data))] == [T0]


@pytest.mark.parametrize(
    ("sentences", "quality"),
    [
        (lambda t: encode.gga("BD", t, LAT, LON, 4) + encode.rmc("GB", t, LAT, LON, mode="R"), 4),
        (lambda t: encode.gga("BD", t, LAT, LON, 5) + encode.rmc("GB", t, LAT, LON, mode="F"), 5),
        (lambda t: encode.rmc("GB", t, LAT, LON, mode="R"), 4),
        (lambda t: encode.rmc("BD", t, LAT, LON, mode="F"), 5),
        (lambda t: encode.rmc("GB", t, LAT, LON, mode="D"), 2),
        (lambda t: encode.rmc("GB", t, LAT, LON, mode="E"), 6),
        (lambda t: encode.rmc("GB", t, LAT, LON, mode=None), 1),
        (lambda t: encode.gns("BD", t, LAT, LON, "RR") + encode.zda("GB", t), 4),
        (lambda t: encode.gns("GB", t, LAT, LON, "FN") + encode.zda("BD", t), 5),
        (lambda t: encode.gns("BD", t, LAT, LON, "NR", sats=20) + encode.rmc("GB", t, LAT, LON, mode="F"), 4),
        (lambda t: encode.gll("GB", t, LAT, LON, mode="R") + encode.zda("GB", t), 4),
        # GGA quality rules over the mode letters (Trimble: quality 4 with RMC mode D)
        (lambda t: encode.gga("GN", t, LAT, LON, 4) + encode.rmc("GN", t, LAT, LON, mode="D"), 4),
    ],
)
def test_beidou_talkers_and_rtk_qualities(sentences: object, quality: int) -> None:
    data = "".join(sentences(T0 + 1000 * k) for k in range(2)).encode()  # type: ignore[operator]
    got = fixes(decode_bytes("B-1", data))
    assert [f.quality for f in got] == [quality, quality]
    assert all(f.lat == pytest.approx(LAT, abs=1e-9) and f.lon == pytest.approx(LON, abs=1e-9) for f in got)
    assert [f.t_ms for f in got] == [T0, T0 + 1000]


def test_invalid_reports_have_no_position() -> None:
    data = (
        encode.rmc("GN", T0, LAT, LON, valid=False, mode="N")
        + encode.gga("GN", T0, LAT, LON, 0)
        + encode.rmc("GN", T0 + 1000, None, None, valid=False, mode="N")
        + encode.gga("GN", T0 + 1000, None, None, 0)
        + encode.rmc("GN", T0 + 2000, LAT, LON)
        + encode.gga("GN", T0 + 2000, None, None, 1)
    ).encode()
    got = fixes(decode_bytes("t", data))
    assert [(f.quality, f.lat, f.lon) for f in got[:2]] == [(0, None, None), (0, None, None)]
    # GGA without coordinates: the RMC's position stands (never 0.0)
    assert got[2].quality == 1 and got[2].lat == pytest.approx(LAT, abs=1e-9)


def test_empty_coordinates_are_no_position_never_zero() -> None:
    data = (encode.gga("GN", T0, None, None, 1) + encode.zda("GN", T0)).encode()
    (fix,) = fixes(decode_bytes("t", data))
    assert fix.lat is None and fix.lon is None and fix.quality == 1


def test_first_epochs_before_any_date_are_dated_back() -> None:
    ggas = "".join(encode.gga("GN", T0 + 1000 * k, LAT, LON, 4) for k in range(3))
    decoder = NmeaDecoder("t")
    assert fixes(decoder.feed(ggas.encode())) == []  # held: no date yet
    out = decoder.feed((encode.gga("GN", T0 + 3000, LAT, LON, 4) + encode.zda("GN", T0 + 3000)).encode())
    out += decoder.flush()
    assert [f.t_ms for f in fixes(out)] == [T0, T0 + 1000, T0 + 2000, T0 + 3000]


def test_epochs_never_dated_are_dropped_with_no_date_errors() -> None:
    n = MAX_UNDATED_EPOCHS + 5
    data = "".join(encode.gga("GN", T0 + 1000 * k, LAT, LON, 4) for k in range(n)).encode()
    out = decode_bytes("t", data)
    assert fixes(out) == []
    assert [e.kind for e in errors(out)] == [DecodeErrorKind.NO_DATE] * n
    assert "08:00:01.000" in errors(out)[0].detail


def test_midnight_rollover_without_date_sentences() -> None:
    before = parse_instant("2026-11-28T23:59:59.000Z")
    data = encode.rmc("GN", before, LAT, LON) + encode.gga("GN", before, LAT, LON, 1)
    data += "".join(encode.gga("GN", before + 1000 * k, LAT, LON, 1) for k in range(1, 4))
    got = [f.t_ms for f in fixes(decode_bytes("t", data.encode()))]
    assert got == [before, before + 1000, before + 2000, before + 3000]
    assert got[1] == parse_instant("2026-11-29T00:00:00.000Z")


def test_rmc_date_rolls_with_each_sentence() -> None:
    t = parse_instant("2026-12-31T23:59:59.500Z")
    data = (encode.rmc("GN", t, LAT, LON) + encode.rmc("GN", t + 1000, LAT, LON)).encode()
    got = [f.t_ms for f in fixes(decode_bytes("t", data))]
    assert got == [t, parse_instant("2027-01-01T00:00:00.500Z")]


def test_two_talkers_in_one_epoch_make_one_fix() -> None:
    data = (
        encode.gga("GP", T0, LAT, LON, 1, sats=8)
        + encode.gga("GL", T0, LAT, LON, 1, sats=2)
        + encode.rmc("GN", T0, LAT, LON)
    ).encode()
    got = fixes(decode_bytes("t", data))
    assert len(got) == 1 and got[0].sats == 2


@pytest.mark.parametrize(
    "sentence",
    [
        "$GNGGA,080001.00,40xx.1234,N,11130.7407,E,1,08,0.9,10.0,M,,M,,*",
        "$GNGGA,080001.00,4039.1234,Q,11130.7407,E,1,08,0.9,10.0,M,,M,,*",
        "$GNGGA,080001.00,4069.1234,N,11130.7407,E,1,08,0.9,10.0,M,,M,,*",
        "$GNGGA,080001.00,4039.1234,N,11130.7407,E,X,08,0.9,10.0,M,,M,,*",
        "$GNGGA,250001.00,4039.1234,N,11130.7407,E,1,08,0.9,10.0,M,,M,,*",
        "$GNRMC,080001.00,A,4039.1234,N,11130.7407,E,0.0,0.0,321126,,,A*",
        "$GNRMC,080001.00,Z,4039.1234,N,11130.7407,E,0.0,0.0,281126,,,A*",
        "$GNZDA,080001.00,28,13,2026,00,00*",
        "$GNGST,080001.00,1.0,,,,nan,0.2,0.3*",
        "$GBGNS,080001.00,4039.1234,N,11130.7407,E,RX,08,0.9,10.0,,,*",
    ],
)
def test_bad_fields_are_typed_errors(sentence: str) -> None:
    body = sentence[1:-1]
    line = f"{sentence}{encode.checksum(body)}\r\n".encode()
    out = decode_bytes("t", line + encode.rmc("GN", T0 + 5000, LAT, LON).encode())
    assert [e.kind for e in errors(out)] == [DecodeErrorKind.BAD_FIELD]
    assert [f.t_ms for f in fixes(out)] == [T0 + 5000]


def test_bad_checksum_is_never_a_fix() -> None:
    good = encode.gga("GN", T0, LAT, LON, 4) + encode.zda("GN", T0)
    text = good.replace("4039.", "4038.", 1)  # data changed, checksum kept
    out = decode_bytes("t", text.encode())
    assert [e.kind for e in errors(out)] == [DecodeErrorKind.BAD_CHECKSUM]
    assert fixes(out) == []  # the ZDA alone reports no position: no fix at all


def test_deferred_vtg_and_gsa_fill_gaps() -> None:
    data = (
        encode.gga("GN", T0, LAT, LON, 1)  # no HDOP in GGA
        + encode.vtg("GN", course_deg=12.5, speed_mps=2.0)
        + encode.gsa("GN", fix_type=3, prns=[1], hdop=1.3)
        + encode.zda("GN", T0)
    ).encode()
    (fix,) = fixes(decode_bytes("t", data))
    assert fix.hdop == 1.3 and fix.course_deg == 12.5 and fix.speed_mps == pytest.approx(2.0, abs=1e-3)


def test_unknown_and_proprietary_sentences_are_ignored() -> None:
    body = "PUBX,00,080001.00,4039.0740,N"
    data = f"${body}*{encode.checksum(body)}\r\n" + encode.sentence("GN", "TXT", ["01", "01", "02", "hello"])
    data += encode.rmc("GN", T0, LAT, LON)
    out = decode_bytes("t", data.encode())
    assert errors(out) == [] and len(fixes(out)) == 1


def test_decoder_needs_a_terminal_id() -> None:
    with pytest.raises(ValueError, match="terminal"):
        NmeaDecoder("")


def test_satellites_in_view_per_constellation_when_asked() -> None:
    sats = [(i, 20, 10 * i, 40) for i in range(1, 12)]
    epoch = (
        encode.rmc("GN", T0, LAT, LON, mode="R")
        + encode.gga("GN", T0, LAT, LON, 4)
        + "".join(encode.gsv("GP", sats[:9]))
        + "".join(encode.gsv("GB", sats))
        + "".join(encode.gsv("GB", sats[:5]))  # NMEA 4.11: another signal of the same system
        + "".join(encode.gsv("GA", []))
        + encode.zda("GN", T0)
    ).encode()
    counting = NmeaDecoder("t", satellites=True)
    (with_sats,) = fixes(counting.feed(epoch) + counting.flush())
    assert [(c, n) for c, n in with_sats.sats_in_view] == [
        (Constellation.GPS, 9),
        (Constellation.GALILEO, 0),
        (Constellation.BEIDOU, 11),
    ]
    decoder = NmeaDecoder("t")
    (plain,) = fixes(decoder.feed(epoch) + decoder.flush())
    assert plain.sats_in_view == () and plain == with_sats  # informational: not compared


@pytest.mark.parametrize("clean", [True, False])
def test_bad_field_errors_name_the_line(clean: bool) -> None:
    body = "GNGGA,080001.00,40xx.1234,N,11130.7407,E,1,08,0.9,10.0,M,,M,,"
    bad = f"${body}*{encode.checksum(body)}\r\n"
    text = encode.rmc("GN", T0, LAT, LON) + encode.rmc("GN", T0 + 1000, LAT, LON) + bad
    data = text.encode() + (b"" if clean else b"\x00")  # a NUL takes the general path
    decoder = NmeaDecoder("W-9")
    out = decoder.feed(data) + decoder.flush()
    (error,) = errors(out)
    assert (error.kind, error.terminal, error.line) == (DecodeErrorKind.BAD_FIELD, "W-9", 3)
