"""Movement behaviours: endless plans of legs for walkers, patrols and vehicles.

Each behaviour is a generator taking its own seeded ``random.Random``; it never ends,
so a terminal always knows where it is. Speeds: persons walk at about 1.4 m/s,
vehicles drive at 5-10 m/s on a road grid.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from fence.simulate.frame import Point
from fence.simulate.legs import Activity, Leg, move, stay
from fence.simulate.places import Roads, ZoneCore, nearest_index

WALK_SPEED_MPS = (1.2, 1.6)
PATROL_SPEED_MPS = (1.1, 1.4)
DRIVE_SPEED_MPS = (5.0, 10.0)


@dataclass(frozen=True, slots=True)
class PauseMix:
    """Pause lengths: mostly short, sometimes long enough for stillness (> 300 s)."""

    short_s: tuple[float, float] = (15.0, 120.0)
    medium_s: tuple[float, float] = (120.0, 280.0)
    long_s: tuple[float, float] = (320.0, 600.0)
    p_medium: float = 0.25
    p_long: float = 0.06

    def draw(self, rng: random.Random) -> float:
        """One pause length in seconds."""
        u = rng.random()
        if u < self.p_long:
            return rng.uniform(*self.long_s)
        if u < self.p_long + self.p_medium:
            return rng.uniform(*self.medium_s)
        return rng.uniform(*self.short_s)


WALKER_PAUSES = PauseMix()
VEHICLE_PAUSES = PauseMix(short_s=(30.0, 180.0), medium_s=(180.0, 400.0), long_s=(600.0, 900.0))
PATROL_PAUSES = PauseMix(short_s=(5.0, 30.0), medium_s=(30.0, 60.0), long_s=(60.0, 90.0),
                         p_medium=0.1, p_long=0.02)


def walk_path(points: Sequence[Point], speed_mps: float, activity: Activity) -> Iterator[Leg]:
    """Legs along consecutive points at one speed."""
    for a, b in zip(points, points[1:], strict=False):
        leg = move(a, b, speed_mps, activity)
        if leg is not None:
            yield leg


Route = Callable[[Point, Point], list[Point]]


def straight(start: Point, target: Point) -> list[Point]:
    """The direct route."""
    return [start, target]


def wander(
    rng: random.Random, start: Point, destinations: Sequence[ZoneCore],
    strays: Sequence[ZoneCore] = (), route: Route = straight,
) -> Iterator[Leg]:
    """Walk between zones along ``route``, pause there, sometimes mill about inside the
    same zone.

    ``strays`` (zones the walker should not enter) are picked now and then, as a person
    taking a wrong turn would: about one destination in fifty.
    """
    if not destinations:
        raise ValueError("a walker needs at least one destination zone")
    speed = rng.uniform(*WALK_SPEED_MPS)
    here = start
    while True:
        pool = strays if strays and rng.random() < 0.02 else destinations
        zone = rng.choice(pool)
        target = zone.point(rng)
        yield from walk_path(route(here, target), speed, Activity.WALK)
        here = target
        while True:
            yield stay(here, WALKER_PAUSES.draw(rng))
            if rng.random() >= 0.4:
                break
            nearby = zone.point(rng)
            yield from walk_path([here, nearby], speed * 0.7, Activity.WALK)
            here = nearby


def patrol(
    rng: random.Random, start: Point, loop: Sequence[Point], *, vehicle: bool = False,
    route: Route = straight,
) -> Iterator[Leg]:
    """Go round a closed loop of waypoints again and again, pausing briefly at each
    (on foot, or driving when ``vehicle``)."""
    if len(loop) < 2:
        raise ValueError("a patrol loop needs at least two waypoints")
    speed = rng.uniform(*(DRIVE_SPEED_MPS if vehicle else PATROL_SPEED_MPS))
    activity = Activity.DRIVE if vehicle else Activity.WALK
    order = list(loop) if rng.random() < 0.5 else list(reversed(loop))
    i = nearest_index(order, start)
    here = start
    while True:
        target = order[i % len(order)]
        yield from walk_path(route(here, target), speed, activity)
        here = target
        yield stay(here, PATROL_PAUSES.draw(rng))
        i += 1


def drive(
    rng: random.Random, start: Point, roads: Roads, destinations: Sequence[ZoneCore],
    route: Route = straight,
) -> Iterator[Leg]:
    """Drive along the road grid between destination zones, stopping there to load; a
    stretch of road that would cross a zone to avoid follows ``route`` around it."""
    if not destinations:
        raise ValueError("a vehicle needs at least one destination zone")
    here = start
    while True:
        zone = rng.choice(destinations)
        target = zone.point(rng)
        speed = rng.uniform(*DRIVE_SPEED_MPS)
        grid = roads.route(here, target)
        path = [grid[0]]
        for a, b in zip(grid, grid[1:], strict=False):
            path.extend(route(a, b)[1:])
        yield from walk_path(path, speed, Activity.DRIVE)
        here = target
        yield stay(here, VEHICLE_PAUSES.draw(rng))
