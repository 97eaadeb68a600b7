"""Contract fix JSON Lines (section 1.1): parse and format, with typed errors."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

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


def _coordinate(obj: dict[str, Any], key: str, limit: float) -> float | None:
    value = obj.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    number = float(value)
    if not math.isfinite(number) or not -limit <= number <= limit:
        raise FixLineError(f"{key} {value!r} out of range")
    return number


def _accuracy(value: object) -> float | None:
    if not _is_number(value):
        return None
    acc = float(value)  # type: ignore[arg-type]
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
    return fix_from_obj(obj)


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
