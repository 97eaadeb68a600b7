"""Differential test against pynmea2 on every corpus sentence both libraries read."""

from __future__ import annotations

import datetime as dt

import pynmea2
import pytest

from gnss.civil import days_from_civil
from gnss.sentences import (
    MPS_PER_KNOT,
    FieldError,
    read_gga,
    read_gll,
    read_gns,
    read_gst,
    read_rmc,
    read_vtg,
    read_zda,
)
from tests.gnss.gpsd_oracle import accepted, log_names

READERS = {
    "GGA": read_gga,
    "RMC": read_rmc,
    "GNS": read_gns,
    "GLL": read_gll,
    "GST": read_gst,
    "ZDA": read_zda,
    "VTG": read_vtg,
}


def corpus_sentences() -> list[str]:
    out = []
    for name in log_names():
        for sentence in accepted(name):
            text = sentence.decode("ascii")
            if text[3:6] in READERS and not text.startswith("$P"):
                out.append(text)
    return out


def tod_ms(value: dt.time | None) -> int | None:
    if value is None:
        return None
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1000 + value.microsecond // 1000


def close(a: float | None, b: float | None, tol: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol


def number_or_none(value: object) -> float | None:
    if value in (None, ""):
        return None
    return float(value)  # type: ignore[arg-type]


def coordinates(msg: pynmea2.NMEASentence, raw_lat: str) -> tuple[float | None, float | None]:
    if not raw_lat:
        return None, None
    return msg.latitude, msg.longitude


def compare(text: str) -> str | None:
    """None when both agree (or pynmea2 cannot read it); else what differs."""
    try:
        msg = pynmea2.parse(text, check=True)
    except (pynmea2.ParseError, ValueError, AttributeError):
        return None
    kind = text[3:6]
    fields = text[7 : text.rindex("*")].split(",")
    try:
        rec = READERS[kind]([f.encode() for f in fields])
    except FieldError as exc:
        return f"we refuse what pynmea2 reads: {exc}"
    if kind == "GGA":
        lat, lon = coordinates(msg, msg.lat)
        ok = (
            rec.tod_ms == tod_ms(msg.timestamp)
            and close(rec.lat, lat)
            and close(rec.lon, lon)
            and rec.quality == (msg.gps_qual if msg.gps_qual not in (None, "") else None)
            and rec.sats == (int(msg.num_sats) if msg.num_sats else None)
            and close(rec.hdop, number_or_none(msg.horizontal_dil))
            and close(rec.alt_m, number_or_none(msg.altitude))
        )
    elif kind == "RMC":
        lat, lon = coordinates(msg, msg.lat)
        date = msg.datestamp
        day = None if date is None else days_from_civil(date.year, date.month, date.day)
        speed = number_or_none(msg.spd_over_grnd)
        ok = (
            rec.tod_ms == tod_ms(msg.timestamp)
            and rec.valid == (msg.status == "A")
            and close(rec.lat, lat)
            and close(rec.lon, lon)
            and close(rec.speed_mps, None if speed is None else speed * MPS_PER_KNOT)
            and close(rec.course_deg, number_or_none(msg.true_course))
            and rec.day == day
        )
    elif kind in ("GNS", "GLL"):
        lat, lon = coordinates(msg, msg.lat)
        ok = rec.tod_ms == tod_ms(msg.timestamp) and close(rec.lat, lat) and close(rec.lon, lon)
    elif kind == "GST":
        ok = (
            rec.tod_ms == tod_ms(msg.timestamp)
            and close(rec.lat_sd_m, number_or_none(msg.std_dev_latitude))
            and close(rec.lon_sd_m, number_or_none(msg.std_dev_longitude))
        )
    elif kind == "ZDA":
        day = None
        if msg.day and msg.month and msg.year:
            day = days_from_civil(int(msg.year), int(msg.month), int(msg.day))
        ok = rec.tod_ms == tod_ms(msg.timestamp) and rec.day == day
    else:  # VTG
        ok = close(rec.course_deg, number_or_none(msg.true_track))
    return None if ok else f"differs: ours {rec}"


SENTENCES = corpus_sentences()


def test_corpus_has_many_sentences_to_compare() -> None:
    assert len(SENTENCES) > 4000


@pytest.mark.parametrize("kind", sorted(READERS))
def test_agrees_with_pynmea2(kind: str) -> None:
    subset = [s for s in SENTENCES if s[3:6] == kind]
    assert subset, kind
    problems = [(s, why) for s in subset if (why := compare(s)) is not None]
    assert problems == []
    readable = sum(1 for s in subset if _pynmea2_reads(s))
    assert readable == len(subset), "every corpus sentence we accept is compared"


def _pynmea2_reads(text: str) -> bool:
    try:
        pynmea2.parse(text, check=True)
    except (pynmea2.ParseError, ValueError, AttributeError):
        return False
    return True
