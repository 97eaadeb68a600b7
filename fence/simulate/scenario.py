"""Scripted scenarios: terminals that make every event type happen on a site.

``all-events`` reads the site and casts terminals for each event type (see
docs/simulate.md): a trespasser, an overcrowding group, an empty staffed zone (and the
staff who arrive later), a loiterer, a terminal standing still and one whose radio goes
silent. The zones are picked from their properties, so the scenario works on any site
that has the zones for it; an event type the site cannot produce is named in
``ScenarioPlan.missing``. Terminals not cast patrol the perimeter, away from every zone.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import partial

from fence.simulate.behaviours import patrol, walk_path
from fence.simulate.frame import Point
from fence.simulate.legs import Activity, Leg, Radio, stay
from fence.simulate.model import (
    EXTRA_ID_FORMAT,
    Behaviour,
    Part,
    Role,
    SiteLayout,
    talker_for,
    terminal_rng,
)
from fence.simulate.places import Spot, entry_point, inner_spot, point_beside
from fence.simulate.receiver import Profile
from zones.model import Terminal, TerminalKind, Zone, unregistered_terminal
from zones.permits import is_permitted
from zones.windows import in_windows, next_window_edge_ms

WALK_MPS = 1.4
DRIVE_MPS = 6.0
BESIDE_GAP_M = 10.0
MARGIN_S = 30.0  # how much longer than a limit a condition is held
CHECK_EVERY_MS = 30_000
MIN_MILL_RADIUS_M = 2.5
PACE_EVERY_MS = 120_000
CLEARANCE_M = 1.5  # beyond the zone's margin, for scripted terminals in RTK fixed
PLAN_HORIZON_MS = 60 * 60_000  # permits and windows are checked over this span
MAX_WINDOW_WAIT_MS = 15 * 60_000  # a staffed window may begin this long after the start


class Scenario(Enum):
    """Named scripted scenarios."""

    ALL_EVENTS = "all-events"


@dataclass(frozen=True, slots=True)
class ScenarioPlan:
    """The parts of every terminal and how long the script needs (sim seconds)."""

    parts: tuple[Part, ...]
    duration_s: float
    missing: tuple[str, ...]


class Script:
    """Legs of one scripted terminal, with the time they take so far."""

    def __init__(self, start: Point, speed_mps: float, activity: Activity) -> None:
        self.here = start
        self.elapsed_ms = 0
        self.legs: list[Leg] = []
        self.speed_mps = speed_mps
        self.activity = activity

    def _add(self, legs: Iterator[Leg] | Sequence[Leg]) -> None:
        for leg in legs:
            self.legs.append(leg)
            self.elapsed_ms += leg.duration_ms
            self.here = leg.end

    def go(self, target: Point) -> Script:
        """Move straight to ``target``."""
        self._add(walk_path([self.here, target], self.speed_mps, self.activity))
        return self

    def wait(self, duration_s: float, radio: Radio = Radio.ON) -> Script:
        """Stand still (silent when ``radio`` is SILENT)."""
        if duration_s > 0:
            self._add([stay(self.here, duration_s, radio)])
        return self

    def wait_until(self, elapsed_ms: int) -> Script:
        """Stand still until ``elapsed_ms`` after the start (no-op if already later)."""
        return self.wait((elapsed_ms - self.elapsed_ms) / 1000.0)

    def hold_until(self, elapsed_ms: int, other: Point) -> Script:
        """Wait until ``elapsed_ms``, stepping over to ``other`` and back every
        ``PACE_EVERY_MS`` (a person waiting minutes does not stand stock-still)."""
        home = self.here
        away = True
        while elapsed_ms - self.elapsed_ms > PACE_EVERY_MS:
            self.wait(PACE_EVERY_MS / 1000).go(other if away else home)
            away = not away
        return self.go(home).wait_until(elapsed_ms)

    def mill(self, spot: Spot, duration_s: float, rng: random.Random) -> Script:
        """Move about within ``spot`` for ``duration_s`` (short walks, short pauses);
        just stand there when the spot is too small to move in."""
        end_ms = self.elapsed_ms + round(duration_s * 1000)
        if spot.radius_m < MIN_MILL_RADIUS_M:
            return self.go(spot.centre).wait_until(end_ms)
        while self.elapsed_ms < end_ms:
            self.go(spot.point(rng)).wait(min(40.0, (end_ms - self.elapsed_ms) / 1000))
        return self


@dataclass(frozen=True, slots=True)
class _Cast:
    terminal: Terminal
    script: Script
    note: str


class _Casting:
    """Hands out terminals: registered ones first, then unregistered ``SIM-`` persons."""

    def __init__(self, layout: SiteLayout, terminals: Sequence[Terminal], start_ms: int) -> None:
        self.layout = layout
        self.free = list(terminals)
        self.start_ms = start_ms
        taken = {t.id for t in terminals}
        self._extra_ids = (
            EXTRA_ID_FORMAT.format(i) for i in itertools.count(1)
            if EXTRA_ID_FORMAT.format(i) not in taken
        )

    def permitted_throughout(self, zone: Zone, terminal: Terminal) -> bool:
        """Permitted in ``zone`` and the zones holding it at every check instant of the
        planning horizon."""
        registered = terminal.id in self.layout.site.terminals
        tz = self.layout.site.timezone
        return all(
            is_permitted(z, terminal, registered, t, tz)
            for z in [zone, *self.layout.ancestors(zone)]
            for t in range(self.start_ms, self.start_ms + PLAN_HORIZON_MS, CHECK_EVERY_MS)
        )

    def never_permitted(self, zone: Zone, terminal: Terminal) -> bool:
        """Not permitted in ``zone`` at any check instant of the planning horizon."""
        registered = terminal.id in self.layout.site.terminals
        tz = self.layout.site.timezone
        return not any(
            is_permitted(zone, terminal, registered, t, tz)
            for t in range(self.start_ms, self.start_ms + PLAN_HORIZON_MS, CHECK_EVERY_MS)
        )

    def take(
        self, kinds: frozenset[TerminalKind], want: int, fits: Callable[[Terminal], bool]
    ) -> list[Terminal]:
        """``want`` free terminals of the given kinds that ``fits`` accepts (or fewer)."""
        chosen = [t for t in self.free if t.kind in kinds and fits(t)][:want]
        while len(chosen) < want and TerminalKind.PERSON in kinds:
            extra = unregistered_terminal(next(self._extra_ids))
            if not fits(extra):
                break
            chosen.append(extra)
        for t in chosen:
            if t in self.free:
                self.free.remove(t)
        return chosen


def _anyone(terminal: Terminal) -> bool:
    """Every terminal fits."""
    return bool(terminal.id)


def _fmt_s(elapsed_ms: int) -> str:
    minutes, seconds = divmod(round(elapsed_ms / 1000), 60)
    return f"{minutes:02d}:{seconds:02d}"


def _kinds_for(zone: Zone) -> frozenset[TerminalKind]:
    """Kinds that count in the zone, persons preferred (they walk in faster)."""
    if TerminalKind.PERSON in zone.count_kinds:
        return frozenset({TerminalKind.PERSON})
    return zone.count_kinds


def _script_for(terminal: Terminal, start: Point) -> Script:
    if terminal.kind is TerminalKind.VEHICLE:
        return Script(start, DRIVE_MPS, Activity.DRIVE)
    return Script(start, WALK_MPS, Activity.WALK)


class _Director:
    """Writes the all-events script for one site and start instant."""

    def __init__(self, layout: SiteLayout, seed: int, terminals: Sequence[Terminal],
                 start_ms: int) -> None:
        self.layout = layout
        self.site = layout.site
        self.seed = seed
        self.start_ms = start_ms
        self.rng = random.Random(f"{seed}/scenario")
        self.casting = _Casting(layout, terminals, start_ms)
        self.casts: list[_Cast] = []
        self.missing: list[str] = []
        self.quiet_zone: Zone | None = None  # the undermanned zone nobody may enter early
        self.quiet_until_ms = 0

    def beside(self, zone: Zone, toward: Point | None = None) -> Point:
        """A staging point beside ``zone`` (nearest to ``toward``), clear of every zone
        except those that hold ``zone``."""
        return point_beside(zone, BESIDE_GAP_M, self.layout.keep_clear(zone), self.rng, toward)

    def waiting(self, terminal: Terminal, zone: Zone, start: Point, until_ms: int) -> Script:
        """A script that starts at ``start`` beside ``zone`` and waits there (pacing)
        until ``until_ms``."""
        script = _script_for(terminal, start)
        if until_ms - script.elapsed_ms > PACE_EVERY_MS:
            return script.hold_until(until_ms, self.step_away(zone, start))
        return script.wait_until(until_ms)

    def step_away(self, zone: Zone, here: Point) -> Point:
        """Another staging point beside ``zone``, some 20 m from ``here`` (to leave an
        anchor behind without entering a zone)."""
        for dx, dy in ((20.0, 0.0), (-20.0, 0.0), (0.0, 20.0), (0.0, -20.0)):
            there = self.beside(zone, Point(here.x + dx, here.y + dy))
            if there.distance(here) >= 8.0:
                return there
        raise ValueError(f"no staging point beside zone {zone.id} away from the first one")

    def held_back(self, zone: Zone) -> bool:
        """Whether entering ``zone`` must wait (it is the zone left empty for undermanning)."""
        return self.entry_ms(zone) > 0

    def nested(self, zone: Zone) -> bool:
        """Whether a restricted zone holds this one (its staging point lies inside it)."""
        return any(z.restricted for z in self.layout.ancestors(zone))

    def spot(self, zone: Zone, extra_m: float = 0.0) -> Spot:
        """A disk well inside ``zone`` to stand or move about in."""
        return inner_spot(zone, zone.margin_m + CLEARANCE_M + extra_m)

    def entry_ms(self, zone: Zone) -> int:
        """The earliest elapsed time at which a scripted terminal may enter ``zone``."""
        if self.quiet_zone is not None and zone.id == self.quiet_zone.id:
            return self.quiet_until_ms
        return 0

    def cast(self, terminal: Terminal, script: Script, note: str) -> None:
        """Record one scripted terminal."""
        self.casts.append(_Cast(terminal, script, note))

    # --- undermanning -------------------------------------------------------------
    def undermanning(self) -> None:
        """An empty staffed zone raises undermanning; staff arrive later and clear it.

        The zone must be staffed from the start, or from a window that begins within
        ``MAX_WINDOW_WAIT_MS``: the condition then starts with the window.
        """
        grace_ms = round(self.site.defaults.offline_after_s * 1000)
        for zone in sorted(
            (z for z in self.site.zones if z.min_occupancy is not None),
            key=lambda z: (z.hold_s, self.nested(z), z.id),
        ):
            begin_ms = self._staffed_from(zone)
            if begin_ms is None:
                continue
            raise_ms = max(grace_ms, begin_ms) + round(zone.hold_s * 1000)
            if not self._staffed_between(zone, begin_ms, raise_ms + 120_000):
                continue
            self._cast_staff(zone, raise_ms)
            return
        self.missing.append(
            "undermanning: no zone with min_occupancy is staffed from the start instant on "
            "or within 15 minutes of it"
        )

    def _cast_staff(self, zone: Zone, raise_ms: int) -> None:
        self.quiet_zone, self.quiet_until_ms = zone, raise_ms + 20_000
        need = zone.min_occupancy or 0
        core = self.layout.cores[zone.id]
        staff = self.casting.take(
            _kinds_for(zone), need, partial(self.casting.permitted_throughout, zone)
        )
        for t in staff:
            script = self.waiting(t, zone, self.beside(zone), self.quiet_until_ms)
            script.go(core.point(self.rng)).mill(self.spot(zone), 60.0, self.rng)
            script.go(self.beside(zone))
            self.cast(t, script, (
                f"undermanning: {zone.id} (min {need}) stays empty, raised at "
                f"~{_fmt_s(raise_ms)}; this staff member enters at "
                f"~{_fmt_s(self.quiet_until_ms)} (cleared), leaves after a minute"
            ))

    def _staffed_from(self, zone: Zone) -> int | None:
        """Offset from the start at which the zone is staffed (0: already), None: too late."""
        if zone.staffed is None or in_windows(zone.staffed, self.start_ms, self.site.timezone):
            return 0
        edge = next_window_edge_ms(zone.staffed, self.start_ms, self.site.timezone)
        if edge is None or edge - self.start_ms > MAX_WINDOW_WAIT_MS:
            return None
        return edge - self.start_ms

    def _staffed_between(self, zone: Zone, begin_ms: int, end_ms: int) -> bool:
        if zone.staffed is None:
            return True
        staffed = zone.staffed
        return all(
            in_windows(staffed, self.start_ms + t, self.site.timezone)
            for t in [*range(begin_ms, end_ms, CHECK_EVERY_MS), end_ms]
        )

    # --- trespass -----------------------------------------------------------------
    def trespass(self) -> None:
        """A terminal without a permit walks into a restricted zone and out again."""
        for zone in sorted(
            (z for z in self.site.zones if z.restricted),
            key=lambda z: (self.nested(z), self.held_back(z)),
        ):
            found = self.casting.take(
                frozenset({TerminalKind.PERSON}), 1,
                partial(self.casting.never_permitted, zone),
            )
            if not found:
                continue
            terminal = found[0]
            back = self.beside(zone, self.layout.cores[zone.id].deep)
            inside = entry_point(zone, back, zone.margin_m + CLEARANCE_M + 1.0)
            script = self.waiting(terminal, zone, back, max(20_000, self.entry_ms(zone)))
            enter_ms = script.elapsed_ms
            script.go(inside).wait(60.0).go(back)
            self.cast(terminal, script, (
                f"trespass: walks into restricted {zone.id} without a permit from "
                f"~{_fmt_s(enter_ms)}, stays a minute, leaves (cleared) by ~{_fmt_s(script.elapsed_ms)}"
            ))
            return
        self.missing.append("trespass: no restricted zone with a terminal never permitted in it")

    # --- overcrowding -------------------------------------------------------------
    def overcrowding(self) -> None:
        """max_occupancy + 1 terminals gather in a zone for longer than hold_s."""
        for zone in sorted(
            (z for z in self.site.zones if z.max_occupancy is not None),
            key=lambda z: (z.max_occupancy, self.nested(z), self.held_back(z), z.hold_s, z.id),
        ):
            limit = zone.max_occupancy or 0
            crowd = self.casting.take(
                _kinds_for(zone), limit + 1,
                partial(self.casting.permitted_throughout, zone),
            )
            if len(crowd) < limit + 1:
                self.casting.free.extend(t for t in crowd if t.id in self.site.terminals)
                continue
            core = self.layout.cores[zone.id]
            entry_ms = max(10_000, self.entry_ms(zone))
            scripts = []
            for t in crowd:
                back = self.beside(zone)
                script = self.waiting(t, zone, back, entry_ms).go(core.point(self.rng))
                scripts.append((t, script, back))
            all_in_ms = max(s.elapsed_ms for _, s, _ in scripts)
            leave_ms = all_in_ms + round((zone.hold_s + MARGIN_S) * 1000)
            for t, script, back in scripts:
                script.hold_until(leave_ms, core.point(self.rng)).go(back)
                self.cast(t, script, (
                    f"overcrowding: one of {limit + 1} in {zone.id} (max {limit}, hold "
                    f"{zone.hold_s:g} s), all inside by ~{_fmt_s(all_in_ms)}, leave at "
                    f"~{_fmt_s(leave_ms)}"
                ))
            return
        self.missing.append("overcrowding: no zone with max_occupancy and enough terminals")

    # --- loitering ----------------------------------------------------------------
    def loitering(self) -> None:
        """A terminal stays in a zone longer than max_dwell_s, moving about."""
        for zone in sorted(
            (z for z in self.site.zones if z.max_dwell_s is not None),
            key=lambda z: (z.max_dwell_s, self.nested(z), self.held_back(z), z.id),
        ):
            found = self.casting.take(
                frozenset({TerminalKind.PERSON, TerminalKind.VEHICLE}), 1,
                partial(self.casting.permitted_throughout, zone),
            )
            if not found:
                continue
            terminal = found[0]
            spot = self.spot(zone)
            back = self.beside(zone, spot.centre)
            script = self.waiting(terminal, zone, back, max(15_000, self.entry_ms(zone)))
            script.go(spot.centre)
            inside_ms = script.elapsed_ms
            script.mill(spot, (zone.max_dwell_s or 0.0) + MARGIN_S, self.rng).go(back)
            self.cast(terminal, script, (
                f"loitering: inside {zone.id} (max_dwell {zone.max_dwell_s:g} s) from "
                f"~{_fmt_s(inside_ms)}, moving about, leaves by ~{_fmt_s(script.elapsed_ms)}"
            ))
            return
        self.missing.append("loitering: no zone with max_dwell_s and a permitted terminal")

    # --- stillness ----------------------------------------------------------------
    def stillness(self) -> None:
        """A person stands still longer than the stillness limit, then walks away."""
        defaults = self.site.defaults
        if TerminalKind.PERSON not in defaults.still_kinds:
            self.missing.append("stillness: persons are not in still_kinds")
            return
        options: list[tuple[float, str, Zone | None]] = []
        if defaults.still_s:
            options.append((defaults.still_s, "", None))
        for z in self.site.zones:
            if z.max_still_s is not None:
                options.append((min(z.max_still_s, defaults.still_s or z.max_still_s), z.id, z))
        for limit_s, _, zone in sorted(
            options, key=lambda o: (o[0], o[2] is not None and self.nested(o[2]), o[1])
        ):
            fits: Callable[[Terminal], bool] = (
                (lambda t: True) if zone is None
                else (partial(self.casting.permitted_throughout, zone))
            )
            found = self.casting.take(frozenset({TerminalKind.PERSON}), 1, fits)
            if not found:
                continue
            terminal = found[0]
            target_zone = zone if zone is not None else self.site.zones[0]
            spot = self.spot(target_zone, defaults.still_radius_m).centre
            back = self.beside(target_zone, spot)
            script = _script_for(terminal, back)
            if zone is not None:  # else it stands where it starts, from the first fix on
                script.hold_until(max(12_000, self.entry_ms(zone)), self.step_away(zone, back))
                script.go(spot)
            still_ms = script.elapsed_ms
            script.wait(limit_s + MARGIN_S)
            script.go(back if zone is not None else self.step_away(target_zone, back))
            where = f"inside {zone.id}" if zone is not None else "outside every zone"
            self.cast(terminal, script, (
                f"stillness: stands still {where} (limit {limit_s:g} s) from ~{_fmt_s(still_ms)}, "
                f"walks off (cleared) at ~{_fmt_s(still_ms + round((limit_s + MARGIN_S) * 1000))}"
            ))
            return
        self.missing.append("stillness: no stillness limit (still_s off, no max_still_s)")

    # --- offline ------------------------------------------------------------------
    def offline(self) -> None:
        """A terminal's radio goes silent for longer than offline_after_s, then returns."""
        found = self.casting.take(
            frozenset({TerminalKind.PERSON, TerminalKind.VEHICLE}), 1, _anyone
        )
        if not found:
            self.missing.append("offline: no terminal left to cast")
            return
        terminal = found[0]
        silent_s = self.site.defaults.offline_after_s + MARGIN_S
        script = _script_for(terminal, self.beside(self.site.zones[-1])).wait(20.0)
        script.wait(silent_s, Radio.SILENT).wait(20.0)
        self.cast(terminal, script, (
            f"offline: silent from 00:20 for {silent_s:g} s (offline after "
            f"{self.site.defaults.offline_after_s:g} s), back at ~{_fmt_s(20_000 + round(silent_s * 1000))}"
        ))

    def parts(self) -> list[Part]:
        """Scripted parts (then rounds outside their zone) and perimeter patrols for the rest."""
        out = []
        for c in self.casts:
            rng = terminal_rng(self.seed, c.terminal.id, "plan")
            avoid = self.layout.forbidden_zones(c.terminal, self.start_ms)
            tail = patrol(rng, c.script.here, self.layout.perimeter,
                          vehicle=c.terminal.kind is TerminalKind.VEHICLE,
                          route=self.layout.router(avoid).route)
            role = Role(c.terminal, Behaviour.SCRIPT, Profile.STEADY,
                        talker_for(self.seed, c.terminal.id), c.note)
            out.append(Part(role, itertools.chain(c.script.legs, tail)))
        for t in self.casting.free:
            rng = terminal_rng(self.seed, t.id, "plan")
            start = self.layout.perimeter[rng.randrange(len(self.layout.perimeter))]
            role = Role(t, Behaviour.PATROL, Profile.QUIET, talker_for(self.seed, t.id),
                        "background: patrols the perimeter loop, outside every zone")
            vehicle = t.kind is TerminalKind.VEHICLE
            out.append(Part(role, patrol(rng, start, self.layout.perimeter, vehicle=vehicle)))
        return out


def scenario_parts(
    scenario: Scenario, layout: SiteLayout, seed: int, terminals: Sequence[Terminal],
    start_ms: int,
) -> ScenarioPlan:
    """Parts of every terminal for ``scenario`` (extra ``SIM-`` persons when needed)."""
    if scenario is not Scenario.ALL_EVENTS:
        raise ValueError(f"unknown scenario {scenario}")
    director = _Director(layout, seed, terminals, start_ms)
    director.undermanning()
    director.trespass()
    director.stillness()
    director.loitering()
    director.offline()
    director.overcrowding()
    parts = director.parts()
    longest_ms = max(
        [c.script.elapsed_ms for c in director.casts] + [director.quiet_until_ms]
    )
    return ScenarioPlan(tuple(parts), longest_ms / 1000.0 + MARGIN_S, tuple(director.missing))
