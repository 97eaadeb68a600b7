"""Build NMEA 0183 sentences with correct checksums (tests, terminal simulator).

Every builder returns one complete sentence ``$TTSSS,...*HH\\r\\n`` for any two-letter
talker (``GP``, ``BD``, ``GB``, ``GN``, ``GL``, ``GA``, ``GI``, ``GQ``...). Times are epoch
milliseconds (UTC); fractions of a second below the chosen precision are truncated.
A ``None`` value gives an empty field (an absent position is empty coordinate fields,
never zeros). Bad arguments raise ``EncodeError`` naming the argument.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from gnss.civil import MS_PER_DAY, civil_from_days

KNOTS_PER_MPS = 3600.0 / 1852.0
KMH_PER_MPS = 3.6
_TALKER = re.compile(r"[A-Z]{2}\Z")
_TYPE = re.compile(r"[A-Z]{3}\Z")
_RESERVED = re.compile(r"[$*,\r\n!]|[^\x00-\x7f]")

# GGA quality -> RMC/GNS/GLL/VTG mode indicator (NMEA 2.3+), as receivers write it.
MODE_BY_QUALITY: dict[int, str] = {
    0: "N",
    1: "A",
    2: "D",
    3: "P",
    4: "R",
    5: "F",
    6: "E",
    7: "M",
    8: "S",
}


class EncodeError(ValueError):
    """An argument that cannot be written into a sentence."""


def checksum(body: str) -> str:
    """The two upper-case hex digits of the XOR of ``body`` (text between ``$`` and ``*``)."""
    data = body.encode("ascii")
    value, width = int.from_bytes(data, "little"), len(data)
    while width > 1:  # fold the byte string onto itself: XOR of its halves, same XOR
        width = (width + 1) // 2
        value = (value >> (8 * width)) ^ (value & ((1 << (8 * width)) - 1))
    return f"{value:02X}"


def sentence(talker: str, kind: str, fields: Sequence[str]) -> str:
    """``$`` + talker + kind + comma-joined fields + ``*`` checksum + CRLF."""
    if not _TALKER.match(talker):
        raise EncodeError(f"talker must be two upper-case letters, got {talker!r}")
    if not _TYPE.match(kind):
        raise EncodeError(f"sentence type must be three upper-case letters, got {kind!r}")
    for field in fields:
        if _RESERVED.search(field):
            raise EncodeError(f"field {field!r} contains a reserved character")
    body = ",".join([talker + kind, *fields])
    return f"${body}*{checksum(body)}\r\n"


def _number(value: float | int | None, decimals: int, name: str) -> str:
    if value is None:
        return ""
    if not math.isfinite(value):
        raise EncodeError(f"{name} must be finite, got {value!r}")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{value:.{decimals}f}"


def _check_day_time(t_ms: int) -> None:
    if isinstance(t_ms, bool) or not isinstance(t_ms, int):
        raise EncodeError(f"t_ms must be an int of epoch milliseconds, got {t_ms!r}")
    if t_ms < 0:
        raise EncodeError(f"t_ms must not be negative, got {t_ms}")


def time_field(t_ms: int, decimals: int = 2) -> str:
    """``hhmmss.ss`` of the UTC time of day (``decimals`` 0-3, truncated)."""
    _check_day_time(t_ms)
    if not 0 <= decimals <= 3:
        raise EncodeError(f"time decimals must be 0-3, got {decimals}")
    ms = t_ms % MS_PER_DAY
    hh, rest = divmod(ms, 3_600_000)
    mm, rest = divmod(rest, 60_000)
    ss, frac = divmod(rest, 1000)
    text = f"{hh:02d}{mm:02d}{ss:02d}"
    if decimals:
        text += "." + f"{frac:03d}"[:decimals]
    return text


def date_fields(t_ms: int) -> tuple[int, int, int]:
    """(year, month, day) of the UTC date of ``t_ms``."""
    _check_day_time(t_ms)
    return civil_from_days(t_ms // MS_PER_DAY)


def _coordinate(value: float | None, limit: float, width: int, hemis: str, decimals: int,
                name: str) -> tuple[str, str]:
    if value is None:
        return "", ""
    if not (math.isfinite(value) and -limit <= value <= limit):
        raise EncodeError(f"{name} {value!r} out of range")
    if not 1 <= decimals <= 10:
        raise EncodeError(f"minute decimals must be 1-10, got {decimals}")
    scale = 10**decimals
    total = round(abs(value) * 60 * scale)
    degrees, minutes_scaled = divmod(total, 60 * scale)
    whole, frac = divmod(minutes_scaled, scale)
    text = f"{degrees:0{width}d}{whole:02d}.{frac:0{decimals}d}"
    return text, hemis[0] if value >= 0 else hemis[1]


def lat_fields(lat: float | None, decimals: int = 7) -> tuple[str, str]:
    """``ddmm.mmmmmmm`` and ``N``/``S`` (empty strings when ``lat`` is None)."""
    return _coordinate(lat, 90.0, 2, "NS", decimals, "latitude")


def lon_fields(lon: float | None, decimals: int = 7) -> tuple[str, str]:
    """``dddmm.mmmmmmm`` and ``E``/``W`` (empty strings when ``lon`` is None)."""
    return _coordinate(lon, 180.0, 3, "EW", decimals, "longitude")


def mode_letter(quality: int) -> str:
    """The mode indicator a receiver writes for a GGA quality (R for 4, F for 5...)."""
    try:
        return MODE_BY_QUALITY[quality]
    except KeyError:
        raise EncodeError(f"no mode letter for quality {quality}") from None


def gga(
    talker: str,
    t_ms: int,
    lat: float | None,
    lon: float | None,
    quality: int,
    *,
    sats: int | None = None,
    hdop: float | None = None,
    alt_m: float | None = None,
    geoid_sep_m: float | None = None,
    age_s: float | None = None,
    station: str = "",
    time_decimals: int = 2,
    minute_decimals: int = 7,
) -> str:
    """A GGA sentence (time, position, quality, satellites, HDOP, altitude)."""
    if not 0 <= quality <= 9:
        raise EncodeError(f"GGA quality must be 0-9, got {quality}")
    return sentence(
        talker,
        "GGA",
        [
            time_field(t_ms, time_decimals),
            *lat_fields(lat, minute_decimals),
            *lon_fields(lon, minute_decimals),
            str(quality),
            "" if sats is None else f"{sats:02d}",
            _number(hdop, 2, "hdop"),
            _number(alt_m, 3, "alt_m"),
            "" if alt_m is None else "M",
            _number(geoid_sep_m, 3, "geoid_sep_m"),
            "" if geoid_sep_m is None else "M",
            _number(age_s, 1, "age_s"),
            station,
        ],
    )


def rmc(
    talker: str,
    t_ms: int,
    lat: float | None,
    lon: float | None,
    *,
    valid: bool = True,
    speed_mps: float | None = None,
    course_deg: float | None = None,
    mode: str | None = "A",
    nav_status: str | None = None,
    with_date: bool = True,
    time_decimals: int = 2,
    minute_decimals: int = 7,
) -> str:
    """An RMC sentence; ``mode`` None omits the mode field (NMEA < 2.3)."""
    year, month, day = date_fields(t_ms)
    fields = [
        time_field(t_ms, time_decimals),
        "A" if valid else "V",
        *lat_fields(lat, minute_decimals),
        *lon_fields(lon, minute_decimals),
        _number(None if speed_mps is None else speed_mps * KNOTS_PER_MPS, 3, "speed_mps"),
        _number(course_deg, 2, "course_deg"),
        f"{day:02d}{month:02d}{year % 100:02d}" if with_date else "",
        "",
        "",
    ]
    if mode is not None:
        fields.append(mode)
        if nav_status is not None:
            fields.append(nav_status)
    return sentence(talker, "RMC", fields)


def gns(
    talker: str,
    t_ms: int,
    lat: float | None,
    lon: float | None,
    mode: str,
    *,
    sats: int | None = None,
    hdop: float | None = None,
    alt_m: float | None = None,
    geoid_sep_m: float | None = None,
    age_s: float | None = None,
    station: str = "",
    nav_status: str | None = None,
    time_decimals: int = 2,
    minute_decimals: int = 7,
) -> str:
    """A GNS sentence; ``mode`` holds one letter per constellation (e.g. ``"RR"``)."""
    if not mode or not mode.isalpha():
        raise EncodeError(f"GNS mode must be letters, got {mode!r}")
    fields = [
        time_field(t_ms, time_decimals),
        *lat_fields(lat, minute_decimals),
        *lon_fields(lon, minute_decimals),
        mode,
        "" if sats is None else f"{sats:02d}",
        _number(hdop, 2, "hdop"),
        _number(alt_m, 3, "alt_m"),
        _number(geoid_sep_m, 3, "geoid_sep_m"),
        _number(age_s, 1, "age_s"),
        station,
    ]
    if nav_status is not None:
        fields.append(nav_status)
    return sentence(talker, "GNS", fields)


def gst(
    talker: str,
    t_ms: int,
    *,
    rms: float | None = None,
    major_m: float | None = None,
    minor_m: float | None = None,
    orient_deg: float | None = None,
    lat_sd_m: float | None = None,
    lon_sd_m: float | None = None,
    alt_sd_m: float | None = None,
    time_decimals: int = 2,
) -> str:
    """A GST sentence (pseudorange error statistics, standard deviations in metres)."""
    return sentence(
        talker,
        "GST",
        [
            time_field(t_ms, time_decimals),
            _number(rms, 3, "rms"),
            _number(major_m, 3, "major_m"),
            _number(minor_m, 3, "minor_m"),
            _number(orient_deg, 1, "orient_deg"),
            _number(lat_sd_m, 3, "lat_sd_m"),
            _number(lon_sd_m, 3, "lon_sd_m"),
            _number(alt_sd_m, 3, "alt_sd_m"),
        ],
    )


def zda(talker: str, t_ms: int, *, time_decimals: int = 2) -> str:
    """A ZDA sentence (UTC time and full date; local zone fields 00,00)."""
    year, month, day = date_fields(t_ms)
    return sentence(
        talker,
        "ZDA",
        [time_field(t_ms, time_decimals), f"{day:02d}", f"{month:02d}", f"{year:04d}", "00", "00"],
    )


def vtg(
    talker: str,
    *,
    course_deg: float | None = None,
    speed_mps: float | None = None,
    mode: str | None = "A",
) -> str:
    """A VTG sentence (course over ground, speed in knots and km/h)."""
    knots = None if speed_mps is None else speed_mps * KNOTS_PER_MPS
    kmh = None if speed_mps is None else speed_mps * KMH_PER_MPS
    fields = [
        _number(course_deg, 2, "course_deg"),
        "T",
        "",
        "M",
        _number(knots, 3, "speed_mps"),
        "N",
        _number(kmh, 3, "speed_mps"),
        "K",
    ]
    if mode is not None:
        fields.append(mode)
    return sentence(talker, "VTG", fields)


def gll(
    talker: str,
    t_ms: int,
    lat: float | None,
    lon: float | None,
    *,
    valid: bool = True,
    mode: str | None = "A",
    time_decimals: int = 2,
    minute_decimals: int = 7,
) -> str:
    """A GLL sentence (position, time of day, status, mode)."""
    fields = [
        *lat_fields(lat, minute_decimals),
        *lon_fields(lon, minute_decimals),
        time_field(t_ms, time_decimals),
        "A" if valid else "V",
    ]
    if mode is not None:
        fields.append(mode)
    return sentence(talker, "GLL", fields)


def gsa(
    talker: str,
    *,
    fix_type: int,
    prns: Sequence[int] = (),
    pdop: float | None = None,
    hdop: float | None = None,
    vdop: float | None = None,
    automatic: bool = True,
    system_id: int | None = None,
) -> str:
    """A GSA sentence (fix type 1-3, up to 12 satellites used, DOPs)."""
    if fix_type not in (1, 2, 3):
        raise EncodeError(f"GSA fix type must be 1, 2 or 3, got {fix_type}")
    if len(prns) > 12:
        raise EncodeError(f"GSA holds at most 12 satellites, got {len(prns)}")
    slots = [f"{p:02d}" for p in prns] + [""] * (12 - len(prns))
    fields = [
        "A" if automatic else "M",
        str(fix_type),
        *slots,
        _number(pdop, 2, "pdop"),
        _number(hdop, 2, "hdop"),
        _number(vdop, 2, "vdop"),
    ]
    if system_id is not None:
        fields.append(f"{system_id:X}")
    return sentence(talker, "GSA", fields)


def gsv(
    talker: str,
    satellites: Sequence[tuple[int, int | None, int | None, int | None]],
) -> list[str]:
    """GSV sentences (4 satellites each) for ``(prn, elevation, azimuth, snr)`` tuples."""
    pages = [satellites[i : i + 4] for i in range(0, len(satellites), 4)] or [[]]
    out = []
    for number, page in enumerate(pages, start=1):
        fields = [str(len(pages)), str(number), f"{len(satellites):02d}"]
        for prn, elev, azim, snr in page:
            fields += [
                f"{prn:02d}",
                "" if elev is None else f"{elev:02d}",
                "" if azim is None else f"{azim:03d}",
                "" if snr is None else f"{snr:02d}",
            ]
        out.append(sentence(talker, "GSV", fields))
    return out
