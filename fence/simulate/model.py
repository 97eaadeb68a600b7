"""The movement model: seeded plans for every terminal and the samples they give.

The model is a pure function of (site, seed, start instant, step, cast): epoch ``k`` is
at ``start_ms + k * step_ms`` (plus a fixed per-terminal offset when staggered), and
the same inputs always give the same samples. Nothing here reads the wall clock.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum

from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from fence.simulate.behaviours import drive, patrol, wander
from fence.simulate.frame import Frame, Point
from fence.simulate.legs import Activity, Cursor, Leg, Radio
from fence.simulate.places import Roads, Router, ZoneCore, perimeter_loop, round_trip
from fence.simulate.receiver import Profile, Reading, Receiver
from gnss.fix import Fix, Quality
from zones.model import Site, Terminal, TerminalKind, Zone, unregistered_terminal
from zones.permits import is_permitted

BASE_ALT_M = 1012.0
GEOID_SEP_M = -28.4
TALKERS = ("GN", "GN", "GN", "GN", "GN", "GN", "GN", "BD", "BD", "GB")
EXTRA_ID_FORMAT = "SIM-{:05d}"
ZONE_INSET_M = 4.0
ROUTE_CLEARANCE_M = 3.0  # walkers keep this far (beyond the margin) from zones they avoid


class Behaviour(Enum):
    """How a terminal moves."""

    WANDER = "wander"  # walks between zones, pauses, mills about
    PATROL = "patrol"  # walks a fixed loop of waypoints
    DRIVE = "drive"  # vehicle on the road grid
    SCRIPT = "script"  # a scripted part in a scenario


@dataclass(frozen=True, slots=True)
class Role:
    """One terminal's part in the simulation: who, how it moves, what it is for."""

    terminal: Terminal
    behaviour: Behaviour
    profile: Profile
    talker: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Part:
    """A role with its plan of legs."""

    role: Role
    plan: Iterator[Leg]


@dataclass(frozen=True, slots=True)
class Sample:
    """The report a terminal intends to send in one epoch (noise included)."""

    terminal: str
    t_ms: int
    lat: float | None
    lon: float | None
    quality: Quality
    sigma_m: float
    sats: int
    hdop: float | None
    alt_m: float | None
    speed_mps: float
    course_deg: float
    talker: str

    @property
    def sd_m(self) -> tuple[float, float]:
        """The receiver's (latitude, longitude) standard deviations as written in GST."""
        return round(self.sigma_m, 3), round(self.sigma_m * 0.85, 3)

    def fix(self) -> Fix:
        """The contract fix this report stands for (``acc`` from the GST deviations)."""
        lat_sd, lon_sd = self.sd_m
        acc = math.hypot(lat_sd, lon_sd) if self.lat is not None else None
        return Fix(
            self.t_ms, self.terminal, self.lat, self.lon, int(self.quality), acc or None,
            self.alt_m, self.hdop, self.sats,
            self.speed_mps if self.lat is not None else None,
            self.course_deg if self.lat is not None else None,
        )


def terminal_rng(seed: int, terminal_id: str, stream: str) -> random.Random:
    """The seeded random stream ``stream`` of one terminal (independent of the others)."""
    return random.Random(f"{seed}/{terminal_id}/{stream}")


def cast_terminals(site: Site, n_terminals: int | None) -> list[Terminal]:
    """The site's registered terminals in file order, topped up with ``SIM-nnnnn`` persons."""
    registered = list(site.terminals.values())
    n = len(registered) if n_terminals is None else n_terminals
    if n < 1:
        raise ValueError(f"need at least one terminal, got {n}")
    extras = [unregistered_terminal(EXTRA_ID_FORMAT.format(i + 1)) for i in range(n - len(registered))]
    return (registered + extras)[:n]


def talker_for(seed: int, terminal_id: str) -> str:
    """The receiver's talker: mostly multi-constellation GN, some BeiDou-only BD/GB."""
    return terminal_rng(seed, terminal_id, "receiver").choice(TALKERS)


class SiteLayout:
    """Everything the planners need about the site, computed once."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.frame = Frame(site)
        self.roads = Roads(self.frame.all_zones)
        self.perimeter = perimeter_loop(self.frame.all_zones)
        self.cores = {
            z.id: ZoneCore(z, max(ZONE_INSET_M, z.margin_m + 2.0)) for z in site.zones
        }
        self._vehicle_cores = [
            self.cores[z.id] for z in site.zones if TerminalKind.VEHICLE in z.count_kinds
        ] or list(self.cores.values())
        self._routers: dict[frozenset[str], Router] = {}
        self._ancestors: dict[str, list[Zone]] = {}
        self._keep_clear: dict[str, BaseGeometry] = {}

    def permitted_zones(self, terminal: Terminal, t_ms: int) -> list[ZoneCore]:
        """Zones the terminal may enter at ``t_ms`` (open ones and permitted restricted ones)."""
        registered = terminal.id in self.site.terminals
        return [
            self.cores[z.id] for z in self.site.zones
            if is_permitted(z, terminal, registered, t_ms, self.site.timezone)
        ]

    def forbidden_zones(self, terminal: Terminal, t_ms: int) -> list[ZoneCore]:
        """Restricted zones the terminal may not enter at ``t_ms``."""
        allowed = {c.zone.id for c in self.permitted_zones(terminal, t_ms)}
        return [c for c in self.cores.values() if c.zone.id not in allowed]

    def ancestors(self, zone: Zone) -> list[Zone]:
        """The other zones that hold this zone (a reactor bay inside its unit)."""
        found = self._ancestors.get(zone.id)
        if found is None:
            found = self._ancestors[zone.id] = [
                z for z in self.site.zones
                if z.id != zone.id and z.metric.buffer(0.5).contains(zone.metric)
            ]
        return found

    def keep_clear(self, zone: Zone) -> BaseGeometry:
        """Every zone except this one's ancestors: where staging points must not be."""
        found = self._keep_clear.get(zone.id)
        if found is None:
            holders = {z.id for z in self.ancestors(zone)}
            found = self._keep_clear[zone.id] = unary_union(
                [z.metric for z in self.site.zones if z.id not in holders]
            )
        return found

    def router(self, avoid: Sequence[ZoneCore]) -> Router:
        """A router around these zones (one per set of zones, built once)."""
        key = frozenset(c.zone.id for c in avoid)
        found = self._routers.get(key)
        if found is None:
            found = self._routers[key] = Router([c.zone for c in avoid], ROUTE_CLEARANCE_M)
        return found

    def vehicle_zones(self) -> list[ZoneCore]:
        """Zones that count vehicles (loading bays, parking), or all zones when none do."""
        return self._vehicle_cores


def _behaviour_for(terminal: Terminal, rng: random.Random) -> Behaviour:
    if terminal.kind is TerminalKind.VEHICLE:
        return Behaviour.DRIVE
    if "security" in terminal.roles or rng.random() < 0.15:
        return Behaviour.PATROL
    return Behaviour.WANDER


def default_part(layout: SiteLayout, seed: int, terminal: Terminal, start_ms: int) -> Part:
    """A terminal's free-running part: wander, patrol or drive, chosen by kind and roles."""
    rng = terminal_rng(seed, terminal.id, "plan")
    behaviour = _behaviour_for(terminal, rng)
    talker = talker_for(seed, terminal.id)
    role = Role(terminal, behaviour, Profile.FIELD, talker)
    forbidden = layout.forbidden_zones(terminal, start_ms)
    route = layout.router(forbidden).route
    if behaviour is Behaviour.DRIVE:
        barred = {c.zone.id for c in forbidden}
        zones = [c for c in layout.vehicle_zones() if c.zone.id not in barred]
        zones = zones or layout.vehicle_zones()
        start = rng.choice(zones).point(rng)
        return Part(role, drive(rng, start, layout.roads, zones, route))
    allowed = layout.permitted_zones(terminal, start_ms)
    if not allowed:
        start = layout.perimeter[rng.randrange(len(layout.perimeter))]
        return Part(Role(terminal, Behaviour.PATROL, Profile.FIELD, talker),
                    patrol(rng, start, layout.perimeter))
    start = rng.choice(allowed).point(rng)
    if behaviour is Behaviour.PATROL:
        loop = _inspection_round(layout, rng, allowed)
        return Part(role, patrol(rng, start, loop, route=route))
    return Part(role, wander(rng, start, allowed, forbidden, route))


def _inspection_round(
    layout: SiteLayout, rng: random.Random, allowed: Sequence[ZoneCore]
) -> list[Point]:
    if len(allowed) < 3:
        return layout.perimeter
    picks = rng.sample(list(allowed), min(len(allowed), rng.randint(3, 6)))
    return round_trip([core.point(rng) for core in picks])


class _Actor:
    """One terminal while the model runs: its cursor over the plan and its receiver."""

    def __init__(self, part: Part, seed: int, start_ms: int, step_ms: int, offset_ms: int) -> None:
        self.role = part.role
        self.offset_ms = offset_ms
        self.cursor = Cursor(part.plan, start_ms)
        self.receiver = Receiver(terminal_rng(seed, part.role.terminal.id, "receiver-noise"),
                                 part.role.profile, step_ms)


def check_timing(start_ms: int, step_ms: int) -> None:
    """Refuse a start or step that NMEA's centisecond times cannot carry."""
    if step_ms <= 0 or step_ms % 10:
        raise ValueError(f"step must be a positive multiple of 10 ms, got {step_ms}")
    if start_ms < 0 or start_ms % 10:
        raise ValueError(f"start must be a non-negative multiple of 10 ms, got {start_ms}")


class Model:
    """Samples of every terminal, epoch by epoch, in time order."""

    def __init__(
        self, layout: SiteLayout, seed: int, start_ms: int, step_ms: int,
        parts: Sequence[Part], *, stagger: bool = False,
        only: Collection[str] | None = None,
    ) -> None:
        """``only`` keeps just these terminals; the others are not computed at all (each
        terminal has its own random streams, and stagger offsets are counted over the
        whole cast, so the kept terminals' samples do not change)."""
        check_timing(start_ms, step_ms)
        if not parts:
            raise ValueError("the model needs at least one terminal")
        ids = [p.role.terminal.id for p in parts]
        if len(set(ids)) != len(ids):
            raise ValueError("a terminal id appears twice in the cast")
        self.layout = layout
        self.start_ms = start_ms
        self.step_ms = step_ms
        n = len(parts)
        actors = [
            _Actor(p, seed, start_ms, step_ms, (i * step_ms // n) // 10 * 10 if stagger else 0)
            for i, p in enumerate(parts)
            if only is None or p.role.terminal.id in only
        ]
        self._actors = sorted(actors, key=lambda a: a.offset_ms)
        self.roles: tuple[Role, ...] = tuple(p.role for p in parts)

    def epochs(self) -> Iterator[list[Sample]]:
        """Endless: the samples of epoch 0, 1, 2... (silent terminals left out), by time."""
        k = 0
        while True:
            yield self._epoch(self.start_ms + k * self.step_ms)
            k += 1

    def _epoch(self, t0_ms: int) -> list[Sample]:
        heard: list[tuple[_Actor, int, Leg, Reading]] = []
        xs: list[float] = []
        ys: list[float] = []
        for actor in self._actors:
            t_ms = t0_ms + actor.offset_ms
            where = actor.cursor.at(t_ms)
            reading = actor.receiver.step(where.leg.radio is Radio.SILENT)
            if reading is None:
                continue
            xs.append(where.point.x + reading.dx_m)
            ys.append(where.point.y + reading.dy_m)
            heard.append((actor, t_ms, where.leg, reading))
        if not heard:
            return []
        lons, lats = self.layout.frame.lonlat(xs, ys)
        return [
            _sample(actor, t_ms, leg, reading, lon, lat)
            for (actor, t_ms, leg, reading), lon, lat in zip(
                heard, lons.tolist(), lats.tolist(), strict=True
            )
        ]


def _sample(actor: _Actor, t_ms: int, leg: Leg, reading: Reading, lon: float, lat: float) -> Sample:
    has_fix = reading.quality is not Quality.INVALID
    moving = leg.activity is not Activity.PAUSE
    return Sample(
        terminal=actor.role.terminal.id,
        t_ms=t_ms,
        lat=lat if has_fix else None,
        lon=lon if has_fix else None,
        quality=reading.quality,
        sigma_m=reading.sigma_m,
        sats=reading.sats,
        hdop=reading.hdop,
        alt_m=BASE_ALT_M + 1.8 * reading.dx_m if has_fix else None,
        speed_mps=leg.speed_mps if moving else 0.0,
        course_deg=leg.course_deg if moving else 0.0,
        talker=actor.role.talker,
    )
