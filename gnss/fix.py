"""The ``Fix`` value: one position report of one terminal (contract 1.1)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from enum import Enum, IntEnum


class Quality(IntEnum):
    """NMEA GGA fix quality."""

    INVALID = 0
    SINGLE = 1
    DGPS = 2
    PPS = 3
    RTK_FIXED = 4
    RTK_FLOAT = 5
    DEAD_RECKONING = 6
    MANUAL = 7
    SIMULATED = 8
    RESERVED_9 = 9


class Constellation(Enum):
    """A satellite system, as the NMEA talker of its GSV sentences names it."""

    GPS = "GPS"
    GLONASS = "GLONASS"
    GALILEO = "Galileo"
    BEIDOU = "BeiDou"
    QZSS = "QZSS"
    NAVIC = "NavIC"


class FixValueError(ValueError):
    """A Fix built with values outside their domain."""


@dataclass(frozen=True, slots=True)
class Fix:
    """One position report.

    ``lat``/``lon`` are ``None`` when the report has no position (never 0.0).
    ``acc_m`` is the horizontal accuracy estimate, ``None`` when unknown.
    Optional receiver details (altitude, HDOP, satellites, speed, course) ride along
    for operators; the evaluator uses only t, terminal, position, quality and acc.
    """

    t_ms: int
    terminal: str
    lat: float | None
    lon: float | None
    quality: int
    acc_m: float | None = None
    alt_m: float | None = None
    hdop: float | None = None
    sats: int | None = None
    speed_mps: float | None = None
    course_deg: float | None = None
    sats_in_view: tuple[tuple[Constellation, int], ...] = field(default=(), compare=False)
    """Satellites in view per constellation (from GSV), e.g. ((BEIDOU, 14), (GPS, 9));
    empty when unknown. Informational: not compared, not in the contract JSON."""

    def __post_init__(self) -> None:
        if not self.terminal:
            raise FixValueError("terminal id is empty")
        if not 0 <= self.quality <= 9:
            raise FixValueError(f"quality {self.quality} outside 0-9")
        if (self.lat is None) != (self.lon is None):
            raise FixValueError("lat and lon must both be present or both absent")
        if self.lat is not None and self.lon is not None:
            if not (math.isfinite(self.lat) and -90.0 <= self.lat <= 90.0):
                raise FixValueError(f"latitude {self.lat} out of range")
            if not (math.isfinite(self.lon) and -180.0 <= self.lon <= 180.0):
                raise FixValueError(f"longitude {self.lon} out of range")
        for system, count in self.sats_in_view:
            if not isinstance(system, Constellation) or count < 0:
                raise FixValueError(f"bad satellites in view entry {system!r}: {count!r}")

    @property
    def has_position(self) -> bool:
        """True when the fix carries both coordinates."""
        return self.lat is not None

    @classmethod
    def of_checked(
        cls, t_ms: int, terminal: str, lat: float | None, lon: float | None, quality: int,
        acc_m: float | None, alt_m: float | None = None, hdop: float | None = None,
        sats: int | None = None, speed_mps: float | None = None, course_deg: float | None = None,
    ) -> Fix:
        """A Fix of values the caller has already checked, without re-checking them.

        For parsers whose decoder enforces the same rules as ``Fix(...)`` (a non-empty
        terminal, quality 0-9, lat/lon both present and finite within range, or both
        None): two to three times cheaper than ``Fix(...)``. No satellites in view.
        Tests check it equals ``Fix(...)`` on the parsers' output.
        """
        fix: Fix = _new(cls)
        _set_t_ms(fix, t_ms)
        _set_terminal(fix, terminal)
        _set_lat(fix, lat)
        _set_lon(fix, lon)
        _set_quality(fix, quality)
        _set_acc_m(fix, acc_m)
        _set_alt_m(fix, alt_m)
        _set_hdop(fix, hdop)
        _set_sats(fix, sats)
        _set_speed_mps(fix, speed_mps)
        _set_course_deg(fix, course_deg)
        _set_sats_in_view(fix, ())
        return fix


# The slot descriptors' setters: they store a field without the frozen __setattr__ (as the
# dataclass __init__ does through object.__setattr__, at half the cost).
_new = object.__new__
(_set_t_ms, _set_terminal, _set_lat, _set_lon, _set_quality, _set_acc_m, _set_alt_m, _set_hdop,
 _set_sats, _set_speed_mps, _set_course_deg, _set_sats_in_view) = (
    vars(Fix)[f.name].__set__ for f in fields(Fix))
