"""Field readers for the NMEA sentences the decoder uses, one small record per sentence.

Input is the list of comma-separated fields after the address (``split(b",")[1:]``).
Empty fields are ``None`` (an empty coordinate is no position, never 0.0); a field that is
present but unreadable raises ``FieldError`` naming it, and the whole sentence is refused.
Speeds are converted to m/s, times of day to milliseconds (digits below the millisecond
are truncated, as the contract says for instants).
"""

from __future__ import annotations

from math import isfinite
from typing import NamedTuple

from gnss.civil import days_from_civil, valid_date
from gnss.fix import Quality

MPS_PER_KNOT = 1852.0 / 3600.0
MPS_PER_KMH = 1.0 / 3.6


class FieldError(ValueError):
    """A field that is present but cannot be read."""


# FAA mode indicator (RMC, GLL, VTG, GNS) -> GGA quality, as gpsd maps it
# (gpsd status A->GPS, D/P->DGPS, R->RTK fixed, F->RTK float, E->DR, M->manual, S->sim).
MODE_QUALITY: dict[str, int] = {
    "A": Quality.SINGLE,
    "D": Quality.DGPS,
    "P": Quality.DGPS,
    "R": Quality.RTK_FIXED,
    "F": Quality.RTK_FLOAT,
    "E": Quality.DEAD_RECKONING,
    "M": Quality.MANUAL,
    "S": Quality.SIMULATED,
    "N": Quality.INVALID,
    "V": Quality.INVALID,
}
# Preference between the per-constellation letters of a GNS mode field: the best solution.
_GNS_RANK = "RFDPAEMSNV"


class Gga(NamedTuple):
    """GGA: time, position, quality (None when the field is empty), sats, HDOP, altitude."""

    tod_ms: int | None
    lat: float | None
    lon: float | None
    quality: int | None
    sats: int | None
    hdop: float | None
    alt_m: float | None


class Rmc(NamedTuple):
    """RMC: time, status, position, speed, course, date (day number), mode quality."""

    tod_ms: int | None
    valid: bool
    lat: float | None
    lon: float | None
    speed_mps: float | None
    course_deg: float | None
    day: int | None
    quality: int


class Gns(NamedTuple):
    """GNS: time, position, quality from the mode letters, sats, HDOP, altitude."""

    tod_ms: int | None
    lat: float | None
    lon: float | None
    quality: int
    sats: int | None
    hdop: float | None
    alt_m: float | None


class Gll(NamedTuple):
    """GLL: position, time, status and mode quality."""

    tod_ms: int | None
    valid: bool
    lat: float | None
    lon: float | None
    quality: int


class Vtg(NamedTuple):
    """VTG: course over ground (true) and speed."""

    course_deg: float | None
    speed_mps: float | None


class Gst(NamedTuple):
    """GST: time and the 1-sigma latitude/longitude errors in metres."""

    tod_ms: int | None
    lat_sd_m: float | None
    lon_sd_m: float | None


class Zda(NamedTuple):
    """ZDA: time and full date (day number)."""

    tod_ms: int | None
    day: int | None


class Gsa(NamedTuple):
    """GSA: HDOP of the solution."""

    hdop: float | None


class Gsv(NamedTuple):
    """GSV: satellites in view of one constellation (talker)."""

    talker: str
    in_view: int | None


Record = Gga | Rmc | Gns | Gll | Vtg | Gst | Zda | Gsa | Gsv


def field(fields: list[bytes], index: int) -> bytes:
    """Field ``index`` or b"" when the sentence is shorter."""
    return fields[index] if index < len(fields) else b""


def padded(fields: list[bytes], size: int) -> list[bytes]:
    """``fields`` extended with empty fields to at least ``size`` (short sentences)."""
    if len(fields) >= size:
        return fields
    return fields + [b""] * (size - len(fields))


_TOD_CACHE: dict[bytes, int] = {}
_TOD_CACHE_MAX = 4096


def time_of_day(raw: bytes) -> int | None:
    """``hhmmss[.sss]`` -> milliseconds since midnight (None when empty).

    Several sentences of an epoch (and of many terminals at once) carry the same time
    text, so recent results are remembered (a pure function: the cache is bounded).
    """
    if not raw:
        return None
    cached = _TOD_CACHE.get(raw)
    if cached is not None:
        return cached
    tod = _parse_time_of_day(raw)
    if len(_TOD_CACHE) >= _TOD_CACHE_MAX:
        _TOD_CACHE.clear()
    _TOD_CACHE[raw] = tod
    return tod


def _parse_time_of_day(raw: bytes) -> int:
    if len(raw) < 6 or not raw[:6].isdigit() or (len(raw) > 6 and raw[6] != 0x2E):
        raise FieldError(f"time {raw!r} is not hhmmss.ss")
    hh = int(raw[0:2])
    mm = int(raw[2:4])
    ss = int(raw[4:6])
    if hh > 23 or mm > 59 or ss > 60:
        raise FieldError(f"time {raw!r} out of range")
    ms = 0
    frac = raw[7:10]
    if frac:
        if not frac.isdigit():
            raise FieldError(f"time {raw!r} has a bad fraction")
        ms = int(frac) * (1, 100, 10, 1)[len(frac)]
    if len(raw) > 10 and not raw[10:].isdigit():
        raise FieldError(f"time {raw!r} has a bad fraction")
    return ((hh * 60 + mm) * 60 + ss) * 1000 + ms


def coordinate(raw: bytes, hemi: bytes, limit: int, name: str) -> float | None:
    """``[d]ddmm.mmmm`` + hemisphere -> signed degrees (None when the value is empty)."""
    if not raw:
        return None
    if raw.translate(None, b"0123456789."):  # signs, exponents, nan, spaces...
        raise FieldError(f"{name} {raw!r} is not ddmm.mmmm")
    try:
        value = float(raw)
    except ValueError:  # more than one dot
        raise FieldError(f"{name} {raw!r} is not ddmm.mmmm") from None
    dot = raw.find(b".")
    if 0 <= dot < 3 or len(raw) < 3:
        raise FieldError(f"{name} {raw!r} is not ddmm.mmmm")
    degrees = int(value) // 100
    minutes = value - degrees * 100
    if minutes >= 60.0:
        raise FieldError(f"{name} {raw!r} has minutes >= 60")
    value = degrees + minutes / 60.0
    if value > limit:
        raise FieldError(f"{name} {raw!r} beyond {limit} degrees")
    if hemi == b"N" or hemi == b"E":
        return value
    if hemi == b"S" or hemi == b"W":
        return -value
    raise FieldError(f"{name} hemisphere {hemi!r} is not N/S/E/W")


def position(fields: list[bytes], at: int) -> tuple[float | None, float | None]:
    """Latitude and longitude from the four fields starting at ``at`` (padded); both or neither."""
    lat = coordinate(fields[at], fields[at + 1], 90, "latitude")
    lon = coordinate(fields[at + 2], fields[at + 3], 180, "longitude")
    if lat is None or lon is None:
        return None, None
    return lat, lon


def number(raw: bytes, name: str) -> float | None:
    """A decimal field (None when empty)."""
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise FieldError(f"{name} {raw!r} is not a number") from None
    if not isfinite(value):
        raise FieldError(f"{name} {raw!r} is not finite")
    return value


def count(raw: bytes, name: str) -> int | None:
    """A non-negative integer field (None when empty)."""
    if not raw:
        return None
    if not raw.isdigit():
        raise FieldError(f"{name} {raw!r} is not a count")
    return int(raw)


def mode_quality(raw: bytes, name: str = "mode") -> int:
    """A one-letter FAA mode -> GGA quality."""
    quality = MODE_QUALITY.get(raw.decode("ascii"))
    if quality is None:
        raise FieldError(f"{name} {raw!r} is not an FAA mode letter")
    return quality


def status_quality(valid: bool, mode: bytes) -> int:
    """The quality of an RMC or GLL: invalid for status V, else its FAA mode letter's, else single."""
    if not valid:
        return Quality.INVALID
    return mode_quality(mode) if mode else Quality.SINGLE


def rmc_date(raw: bytes) -> int | None:
    """``ddmmyy`` -> day number; years 80-99 are 19xx, 00-79 are 20xx (None when empty)."""
    if not raw:
        return None
    if len(raw) != 6 or not raw.isdigit():
        raise FieldError(f"date {raw!r} is not ddmmyy")
    day, month, yy = int(raw[0:2]), int(raw[2:4]), int(raw[4:6])
    year = 1900 + yy if yy >= 80 else 2000 + yy
    if not valid_date(year, month, day):
        raise FieldError(f"date {raw!r} is not a calendar date")
    return days_from_civil(year, month, day)


def read_gga(f: list[bytes]) -> Gga:
    """GGA fields: time, lat, N/S, lon, E/W, quality, sats, HDOP, alt, M, sep, M, age, station."""
    f = padded(f, 9)
    lat, lon = position(f, 1)
    quality_raw = f[5]
    quality: int | None = None
    if quality_raw:
        if len(quality_raw) != 1 or not quality_raw.isdigit():
            raise FieldError(f"GGA quality {quality_raw!r} is not 0-9")
        quality = int(quality_raw)
    return Gga(
        time_of_day(f[0]),
        lat,
        lon,
        quality,
        count(f[6], "satellites"),
        number(f[7], "HDOP"),
        number(f[8], "altitude"),
    )


def read_rmc(f: list[bytes]) -> Rmc:
    """RMC fields: time, status, lat, N/S, lon, E/W, knots, course, ddmmyy, var, E/W, mode[, nav]."""
    f = padded(f, 12)
    status = f[1]
    if status != b"A" and status != b"V":
        raise FieldError(f"RMC status {status!r} is not A/V")
    valid = status == b"A"
    lat, lon = position(f, 2)
    knots = number(f[6], "speed")
    mode = f[11]
    quality = status_quality(valid, mode)
    return Rmc(
        time_of_day(f[0]),
        valid,
        lat,
        lon,
        None if knots is None else knots * MPS_PER_KNOT,
        number(f[7], "course"),
        rmc_date(f[8]),
        quality,
    )


def gns_quality(mode: bytes) -> int:
    """The best solution among a GNS mode field's per-constellation letters."""
    if not mode:
        return Quality.INVALID
    text = mode.decode("ascii")
    best = len(_GNS_RANK)
    for letter in text:
        rank = _GNS_RANK.find(letter)
        if rank < 0:
            raise FieldError(f"GNS mode {mode!r} has a letter that is not an FAA mode")
        best = min(best, rank)
    return MODE_QUALITY[_GNS_RANK[best]]


def read_gns(f: list[bytes]) -> Gns:
    """GNS fields: time, lat, N/S, lon, E/W, mode letters, sats, HDOP, alt, sep, age, station."""
    f = padded(f, 9)
    lat, lon = position(f, 1)
    return Gns(
        time_of_day(f[0]),
        lat,
        lon,
        gns_quality(f[5]),
        count(f[6], "satellites"),
        number(f[7], "HDOP"),
        number(f[8], "altitude"),
    )


def read_gll(f: list[bytes]) -> Gll:
    """GLL fields: lat, N/S, lon, E/W, time, status[, mode]."""
    f = padded(f, 7)
    lat, lon = position(f, 0)
    status = f[5]
    if status not in (b"A", b"V"):
        raise FieldError(f"GLL status {status!r} is not A/V")
    valid = status == b"A"
    mode = f[6]
    quality = status_quality(valid, mode)
    return Gll(time_of_day(f[4]), valid, lat, lon, quality)


def read_vtg(f: list[bytes]) -> Vtg:
    """VTG fields: course T, T, course M, M, knots, N, km/h, K[, mode] (old form: no units)."""
    if field(f, 1) == b"T":
        knots = number(field(f, 4), "speed")
        kmh = number(field(f, 6), "speed")
    else:  # NMEA 1.x: course T, course M, knots, km/h
        knots = number(field(f, 2), "speed")
        kmh = number(field(f, 3), "speed")
    speed = knots * MPS_PER_KNOT if knots is not None else None
    if speed is None and kmh is not None:
        speed = kmh * MPS_PER_KMH
    return Vtg(number(field(f, 0), "course"), speed)


def read_gst(f: list[bytes]) -> Gst:
    """GST fields: time, rms, major, minor, orientation, lat sd, lon sd, alt sd."""
    f = padded(f, 7)
    return Gst(time_of_day(f[0]), number(f[5], "latitude sd"), number(f[6], "longitude sd"))


def read_zda(f: list[bytes]) -> Zda:
    """ZDA fields: time, day, month, year, zone hours, zone minutes."""
    tod = time_of_day(f[0])
    d, m, y = field(f, 1), field(f, 2), field(f, 3)
    if not (d and m and y):
        return Zda(tod, None)
    if not (d.isdigit() and m.isdigit() and y.isdigit() and len(y) == 4):
        raise FieldError(f"ZDA date {d!r}/{m!r}/{y!r} is not dd,mm,yyyy")
    year, month, day = int(y), int(m), int(d)
    if not valid_date(year, month, day):
        raise FieldError(f"ZDA date {y!r}-{m!r}-{d!r} is not a calendar date")
    return Zda(tod, days_from_civil(year, month, day))


def read_gsa(f: list[bytes]) -> Gsa:
    """GSA fields: mode, fix type, 12 satellites, PDOP, HDOP, VDOP[, system id]."""
    return Gsa(number(field(f, 15), "HDOP"))


def read_gsv(talker: str, f: list[bytes]) -> Gsv:
    """GSV fields: sentence count, number, satellites in view, then satellites."""
    return Gsv(talker, count(field(f, 2), "satellites in view"))
