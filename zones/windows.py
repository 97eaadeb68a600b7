"""Daily windows in the site's time zone (contract 1.4): pure functions, no clock.

A window ``[start, end)`` is wall-clock time as :mod:`zoneinfo` gives it; it may cross
midnight (``22:00-06:00``) and may end at ``24:00``. Instants are int epoch ms.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from gnss.instant import from_datetime, to_datetime
from zones.model import DailyWindow

_WINDOW = re.compile(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})")
_MINUTES_PER_DAY = 24 * 60


class WindowFormatError(ValueError):
    """A daily window text that is not ``HH:MM-HH:MM`` within the contract's ranges."""


def parse_window(text: str) -> DailyWindow:
    """Parse ``HH:MM-HH:MM`` (start 00:00-23:59, end 00:01-24:00, start != end)."""
    m = _WINDOW.fullmatch(text)
    if m is None:
        raise WindowFormatError(f"malformed window {text!r} (expected HH:MM-HH:MM)")
    sh, sm, eh, em = (int(g) for g in m.groups())
    if sm > 59 or em > 59:
        raise WindowFormatError(f"malformed window {text!r} (minutes above 59)")
    start, end = sh * 60 + sm, eh * 60 + em
    if start > _MINUTES_PER_DAY - 1:
        raise WindowFormatError(f"malformed window {text!r} (start must be 00:00-23:59)")
    if not 1 <= end <= _MINUTES_PER_DAY:
        raise WindowFormatError(f"malformed window {text!r} (end must be 00:01-24:00)")
    if start == end:
        raise WindowFormatError(f"malformed window {text!r} (start equals end)")
    return DailyWindow(start, end)


def local_minute_of_day(t_ms: int, tz: ZoneInfo) -> float:
    """Wall-clock time of day at ``t_ms`` in ``tz``, in minutes (fractional, exact to the ms)."""
    local = to_datetime(t_ms).astimezone(tz)
    return local.hour * 60 + local.minute + (local.second * 1000 + local.microsecond // 1000) / 60000


def in_windows(windows: Sequence[DailyWindow], t_ms: int, tz: ZoneInfo) -> bool:
    """Whether ``t_ms`` lies in at least one of the half-open daily windows."""
    minute = local_minute_of_day(t_ms, tz)
    return any(w.contains_minute(minute) for w in windows)


def _wall_instants(day: date, minute: int, tz: ZoneInfo) -> tuple[int, int]:
    """The instants (fold 0 and fold 1) at which the wall clock of ``day`` shows ``minute``."""
    if minute == _MINUTES_PER_DAY:
        day, minute = day + timedelta(days=1), 0
    hour, mins = divmod(minute, 60)
    return tuple(  # type: ignore[return-value]
        from_datetime(datetime(day.year, day.month, day.day, hour, mins, fold=fold, tzinfo=tz))
        for fold in (0, 1)
    )


def _offset_s(t_ms: int, tz: ZoneInfo) -> float:
    offset = to_datetime(t_ms).astimezone(tz).utcoffset()
    return 0.0 if offset is None else offset.total_seconds()


def _first_offset_change(lo_ms: int, hi_ms: int, tz: ZoneInfo) -> int:
    """Smallest instant in ``(lo_ms, hi_ms]`` with a UTC offset other than at ``lo_ms``.

    The caller guarantees that the offsets at both ends differ (one transition between).
    """
    base = _offset_s(lo_ms, tz)
    while hi_ms - lo_ms > 1:
        mid = (lo_ms + hi_ms) // 2
        if _offset_s(mid, tz) == base:
            lo_ms = mid
        else:
            hi_ms = mid
    return hi_ms


def next_window_edge_ms(windows: Sequence[DailyWindow], t_ms: int, tz: ZoneInfo) -> int | None:
    """The smallest instant ``> t_ms`` at which any window starts or ends (None: no windows).

    Around a daylight-saving transition the wall clock jumps; the transition instant is
    then also returned when it comes first, since a window answer can change there.
    """
    if not windows:
        return None
    today = to_datetime(t_ms).astimezone(tz).date()
    best: int | None = None
    for day_offset in (-1, 0, 1, 2):
        day = today + timedelta(days=day_offset)
        for window in windows:
            for minute in (window.start_min, window.end_min):
                for instant in _wall_instants(day, minute, tz):
                    if instant > t_ms and (best is None or instant < best):
                        best = instant
    if best is not None and _offset_s(t_ms, tz) != _offset_s(best, tz):
        best = min(best, _first_offset_change(t_ms, best, tz))
    return best
