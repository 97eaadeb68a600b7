"""Legs: the pieces of a terminal's planned movement, and a cursor that walks them.

A plan is an iterator of legs; each leg moves in a straight line from ``start`` to
``end`` (or stays put) for ``duration_ms``. The radio state rides on the leg: a silent
leg is a dropout (the terminal sends nothing). Absolute times come only from the
cursor, which starts the first leg at the terminal's start instant.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from fence.simulate.frame import Point


class Activity(Enum):
    """What the carrier is doing during a leg."""

    WALK = "walk"
    DRIVE = "drive"
    PAUSE = "pause"


class Radio(Enum):
    """Whether the terminal transmits during a leg."""

    ON = "on"
    SILENT = "silent"


@dataclass(frozen=True, slots=True)
class Leg:
    """Straight movement from ``start`` to ``end`` over ``duration_ms`` (> 0)."""

    start: Point
    end: Point
    duration_ms: int
    activity: Activity
    radio: Radio = Radio.ON

    def __post_init__(self) -> None:
        if self.duration_ms <= 0:
            raise ValueError(f"leg duration must be > 0 ms, got {self.duration_ms}")

    @property
    def speed_mps(self) -> float:
        """Ground speed along the leg."""
        return self.start.distance(self.end) * 1000.0 / self.duration_ms

    @property
    def course_deg(self) -> float:
        """Course over ground, degrees clockwise from grid north (0 when standing)."""
        dx, dy = self.end.x - self.start.x, self.end.y - self.start.y
        if dx == 0.0 and dy == 0.0:
            return 0.0
        return math.degrees(math.atan2(dx, dy)) % 360.0


def move(start: Point, end: Point, speed_mps: float, activity: Activity) -> Leg | None:
    """A leg covering start -> end at ``speed_mps``; None when the points coincide."""
    if speed_mps <= 0:
        raise ValueError(f"speed must be > 0, got {speed_mps}")
    duration_ms = round(start.distance(end) / speed_mps * 1000.0)
    if duration_ms <= 0:
        return None
    return Leg(start, end, duration_ms, activity)


def stay(at: Point, duration_s: float, radio: Radio = Radio.ON) -> Leg:
    """A pause at one point (a dropout when ``radio`` is SILENT)."""
    return Leg(at, at, max(1, round(duration_s * 1000.0)), Activity.PAUSE, radio)


@dataclass(frozen=True, slots=True)
class Where:
    """The true state of a terminal at one instant."""

    point: Point
    leg: Leg


class Cursor:
    """Walks a plan forward in time; instants asked for must not decrease."""

    def __init__(self, plan: Iterator[Leg], start_ms: int) -> None:
        self._plan = plan
        self._leg = self._next_leg()
        self._leg_start_ms = start_ms
        self._last_ms = start_ms

    def _next_leg(self) -> Leg:
        try:
            return next(self._plan)
        except StopIteration:
            raise ValueError("a terminal's plan ran out of legs") from None

    def at(self, t_ms: int) -> Where:
        """Where the terminal truly is at ``t_ms``."""
        if t_ms < self._last_ms:
            raise ValueError(f"cursor asked to go back from {self._last_ms} to {t_ms}")
        self._last_ms = t_ms
        while t_ms >= self._leg_start_ms + self._leg.duration_ms:
            self._leg_start_ms += self._leg.duration_ms
            self._leg = self._next_leg()
        leg = self._leg
        f = (t_ms - self._leg_start_ms) / leg.duration_ms
        x = leg.start.x + (leg.end.x - leg.start.x) * f
        y = leg.start.y + (leg.end.y - leg.start.y) * f
        return Where(Point(x, y), leg)
