"""Contract fix JSON Lines (section 1.1): parse and format, with typed errors.

``parse_fix_line``/``fix_from_obj`` are the reference parser: every line, every error
message. ``decode_fix_lines`` is the fast path for well-formed lines (a msgspec decoder
into a typed record that enforces the same rules); a line it does not accept goes to the
reference parser, which gives the fix or the error exactly as before. Tests check that
whatever the fast path accepts, the reference parses to the same fix.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec

from gnss.fix import Fix
from gnss.instant import InstantError, format_instant, parse_instant


@dataclass(frozen=True, slots=True)
class FixLineError(Exception):
    """A line that is not a valid fix; it is skipped, reported and counted."""

    reason: str

    def __str__(self) -> str:
        return self.reason


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _float(value: int | float) -> float:
    """The number as a float; an integer too large for a float is infinite (not a crash)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _coordinate(obj: dict[str, Any], key: str, limit: float) -> float | None:
    value = obj.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    number = _float(value)
    if not math.isfinite(number) or not -limit <= number <= limit:
        raise FixLineError(f"{key} {value!r} out of range")
    return number


def _accuracy(value: object) -> float | None:
    if not _is_number(value):
        return None
    acc = _float(value)  # type: ignore[arg-type]
    return acc if math.isfinite(acc) and acc > 0 else None


def fix_from_obj(obj: object) -> Fix:
    """Build a Fix from a decoded JSON object, or raise FixLineError naming the reason."""
    if not isinstance(obj, dict):
        raise FixLineError("not a JSON object")
    t = obj.get("t")
    if not isinstance(t, str):
        raise FixLineError("missing or non-string 't'")
    try:
        t_ms = parse_instant(t)
    except InstantError as exc:
        raise FixLineError(str(exc)) from None
    terminal = obj.get("terminal")
    if not isinstance(terminal, str) or not terminal:
        raise FixLineError("missing or empty 'terminal'")
    quality = obj.get("quality")
    if not isinstance(quality, int) or isinstance(quality, bool) or not 0 <= quality <= 9:
        raise FixLineError(f"'quality' must be an integer 0-9, got {quality!r}")
    lat = _coordinate(obj, "lat", 90.0)
    lon = _coordinate(obj, "lon", 180.0)
    if lat is None or lon is None:
        lat = lon = None
    return Fix(t_ms, terminal, lat, lon, quality, _accuracy(obj.get("acc")))


def parse_fix_line(line: str | bytes) -> Fix:
    """Parse one fix JSON line (contract 1.1); raise FixLineError when it is not a fix."""
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FixLineError(f"bad JSON: {exc}") from None
    except RecursionError:
        raise FixLineError("bad JSON: nested too deep") from None
    return fix_from_obj(obj)


class FixRecord(msgspec.Struct, gc=False):
    """A well-formed fix line as the fast decoder takes it (contract 1.1 keys, plus ``rx``
    of track recordings); any other key is ignored, as the reference ignores it.

    Stricter than the reference where that is cheap: ``lat``/``lon``/``acc`` must be
    numbers or null and ``rx`` a string when present, numbers must be valid JSON; a line
    outside this shape is not accepted and goes to the reference parser.
    """

    t: str
    terminal: Annotated[str, msgspec.Meta(min_length=1)]
    quality: Annotated[int, msgspec.Meta(ge=0, le=9)]
    lat: Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)] | None = None
    lon: Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)] | None = None
    acc: float | None = None
    rx: str | msgspec.UnsetType = msgspec.UNSET


_decode_record = msgspec.json.Decoder(FixRecord).decode


@dataclass(frozen=True, slots=True)
class FastLines:
    """What the fast path made of some lines: a fix for each line it accepted (``taken``:
    the indexes of those lines), with the line's ``rx`` (``msgspec.UNSET`` when absent).
    Lines not taken are for the reference parser (blank lines among them)."""

    fixes: list[Fix]
    rx: list[str | msgspec.UnsetType]
    taken: list[int]


def decode_fix_lines(lines: Sequence[bytes]) -> FastLines:
    """The fast path over lines of bytes (without their newlines).

    A line is taken when it decodes into a ``FixRecord`` and its ``t`` parses; the fix is
    then the one the reference parser gives for it (checked by property tests).
    """
    fixes: list[Fix] = []
    rxs: list[str | msgspec.UnsetType] = []
    taken: list[int] = []
    make = Fix.of_checked
    decode = _decode_record
    last_t: str | None = None
    last_ms = 0
    for index, line in enumerate(lines):
        try:
            if not line.isascii():
                line.decode("utf-8")  # msgspec does not check the bytes of keys it skips
            record = decode(line)
        except (msgspec.MsgspecError, UnicodeDecodeError):
            continue
        t = record.t
        if t != last_t:
            try:
                last_ms = parse_instant(t)
            except InstantError:
                continue
            last_t = t
        lat, lon, acc = record.lat, record.lon, record.acc
        if lat is None or lon is None:
            lat = lon = None
        fixes.append(make(last_ms, record.terminal, lat, lon, record.quality,
                          acc if acc is not None and acc > 0.0 else None))
        rxs.append(record.rx)
        taken.append(index)
    return FastLines(fixes, rxs, taken)


def fix_to_obj(fix: Fix) -> dict[str, Any]:
    """The contract JSON object of a fix, with the optional receiver details as extra keys."""
    obj: dict[str, Any] = {
        "t": format_instant(fix.t_ms),
        "terminal": fix.terminal,
        "lat": fix.lat,
        "lon": fix.lon,
        "quality": fix.quality,
    }
    extras = {
        "acc": fix.acc_m,
        "alt": fix.alt_m,
        "hdop": fix.hdop,
        "sats": fix.sats,
        "speed": fix.speed_mps,
        "course": fix.course_deg,
    }
    obj.update({k: v for k, v in extras.items() if v is not None})
    return obj


def fix_to_line(fix: Fix) -> str:
    """One JSON line (no newline) for a fix."""
    return json.dumps(fix_to_obj(fix), separators=(", ", ": "))
