"""Proleptic Gregorian day numbers (days since 1970-01-01), without datetime objects."""

from __future__ import annotations

MS_PER_DAY = 86_400_000
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_leap(year: int) -> bool:
    """True for a Gregorian leap year."""
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def valid_date(year: int, month: int, day: int) -> bool:
    """True when year-month-day is a real calendar date (years 1900-2199)."""
    if not (1900 <= year <= 2199 and 1 <= month <= 12 and day >= 1):
        return False
    limit = 29 if month == 2 and is_leap(year) else _MONTH_DAYS[month - 1]
    return day <= limit


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a calendar date."""
    y = year - (1 if month <= 2 else 0)
    era = y // 400
    yoe = y - era * 400
    mp = month - 3 if month > 2 else month + 9
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of a day count since 1970-01-01."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return year, month, day


def nearest_instant(tod_ms: int, reference_ms: int) -> int:
    """The instant with time of day ``tod_ms`` nearest to ``reference_ms``.

    Used to date an epoch from the previous one: it crosses midnight forwards
    (23:59:59 -> 00:00:00 is the next day) and tolerates small steps back.
    """
    day = reference_ms // MS_PER_DAY
    best = day * MS_PER_DAY + tod_ms
    for candidate in (best - MS_PER_DAY, best + MS_PER_DAY):
        if abs(candidate - reference_ms) < abs(best - reference_ms):
            best = candidate
    return best
