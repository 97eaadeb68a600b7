"""UTC instants as integer milliseconds since the Unix epoch.

Every time inside the engine is an ``int`` of milliseconds (``*_ms``): exact,
hashable, cheap to compare, and truncation beyond the millisecond is the
contract's rule (section 1.1).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?"
    r"(Z|z|[+-]\d{2}:?\d{2})$",
    re.ASCII,
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class InstantError(ValueError):
    """A text that is not a UTC instant with ``Z`` or an offset."""


_SECONDS: dict[str, int] = {}  # "YYYY-MM-DDThh:mm:ss." -> epoch ms, filled by the full parser
_SECONDS_MAX = 4096
_MILLIS: dict[str, int] = {f"{ms:03d}": ms for ms in range(1000)}  # ASCII digits only


def parse_instant(text: str) -> int:
    """Parse an ISO 8601 instant carrying ``Z`` or an offset into epoch ms.

    Digits beyond the millisecond are truncated (never rounded). The contract's own
    form (``2026-11-28T08:00:01.000Z``) takes a fast path through a cache of seconds
    already parsed in full (the milliseconds are looked up, so only ASCII digits pass);
    anything else takes the full parser.
    """
    if len(text) == 24 and text[23] == "Z":
        base_ms = _SECONDS.get(text[:20])
        if base_ms is not None:
            ms = _MILLIS.get(text[20:23])
            if ms is not None:
                return base_ms + ms
    t_ms = _parse_full(text)
    if len(text) == 24 and text[23] == "Z" and text[19] == ".":
        if len(_SECONDS) >= _SECONDS_MAX:
            _SECONDS.clear()
        _SECONDS[text[:20]] = t_ms - _MILLIS[text[20:23]]
    return t_ms


def _parse_full(text: str) -> int:
    m = _ISO.match(text)
    if m is None:
        raise InstantError(f"not an ISO 8601 instant with Z or offset: {text!r}")
    year, month, day, hh, mm, ss, frac, zone = m.groups()
    try:
        dt = datetime(int(year), int(month), int(day), int(hh), int(mm), int(ss), tzinfo=UTC)
    except ValueError as exc:
        raise InstantError(f"invalid instant {text!r}: {exc}") from None
    ms = int(((frac or "") + "000")[:3])
    offset_s = 0
    if zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        oh, om = int(digits[:2]), int(digits[2:])
        if oh > 23 or om > 59:
            raise InstantError(f"invalid UTC offset in {text!r}")
        offset_s = sign * (oh * 3600 + om * 60)
    whole_s = int((dt - _EPOCH).total_seconds()) - offset_s
    return whole_s * 1000 + ms


def format_instant(t_ms: int) -> str:
    """Format epoch ms as ``YYYY-MM-DDThh:mm:ss.sssZ`` (the contract's output form)."""
    dt = _EPOCH + timedelta(milliseconds=t_ms)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t_ms % 1000:03d}Z"


def from_datetime(dt: datetime) -> int:
    """Epoch ms of an aware datetime (microseconds truncated)."""
    if dt.tzinfo is None:
        raise InstantError("naive datetime has no time zone")
    delta = dt.astimezone(UTC) - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


def to_datetime(t_ms: int) -> datetime:
    """Aware UTC datetime of epoch ms."""
    return _EPOCH + timedelta(milliseconds=t_ms)
