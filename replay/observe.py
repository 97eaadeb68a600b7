"""The replay observer: report numbers and plot data gathered step by step, in bounded memory.

It watches every event and every fed fix (``replay.driver.StepObserver``). Membership and
accepted positions come from the evaluator's per-terminal state right after each fix
(one accessor, ``_accepted_state``), so the report agrees with the events to the step;
occupancy counts are kept here from membership changes and offline events
(contract 5.2: online terminals inside whose kind is counted).

Everything kept grows with terminals, zones and open conditions, never with the number
of fixes: series, tracks, markers and timeline bars are capped (``Capped``/``Decimated``).
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from events.evaluator import Evaluator
from events.model import Event, EventState, EventType
from gnss.fix import Fix
from zones.model import Site, TerminalKind, Zone
from zones.windows import in_windows, next_window_edge_ms

TRACK_POINTS_CAP = 400
SERIES_POINTS_CAP = 4000
MARKERS_CAP = 5000
BARS_CAP = 400


@dataclass(slots=True)
class Decimated:
    """Up to ``cap`` points of a long sequence, evenly thinned (every ``stride``-th kept).

    When full, every other kept point is dropped and the stride doubles, so memory stays
    bounded and the kept points stay spread over the whole sequence. Coordinates are
    kept in two float arrays (16 bytes a point).
    """

    cap: int
    stride: int = 1
    seen: int = 0
    xs: array[float] = field(default_factory=lambda: array("d"))
    ys: array[float] = field(default_factory=lambda: array("d"))

    def add(self, a: float, b: float) -> None:
        """Offer one point."""
        if self.seen % self.stride == 0:
            self.xs.append(a)
            self.ys.append(b)
            if len(self.xs) >= self.cap:
                self.xs, self.ys = self.xs[::2], self.ys[::2]
                self.stride *= 2
        self.seen += 1

    @property
    def points(self) -> list[tuple[float, float]]:
        """The kept points in order."""
        return list(zip(self.xs, self.ys, strict=True))


@dataclass(slots=True)
class StepSeries:
    """A step function (time, value) kept to ``cap`` points; thinning keeps the peaks.

    When full, neighbouring pairs merge into the point with the larger value, so a short
    peak stays visible however long the replay.
    """

    cap: int
    points: list[tuple[int, int]] = field(default_factory=list)

    def add(self, t_ms: int, value: int) -> None:
        """Record that the value is ``value`` from ``t_ms`` on."""
        if self.points and self.points[-1][0] == t_ms:
            self.points[-1] = (t_ms, value)
            return
        self.points.append((t_ms, value))
        if len(self.points) >= self.cap:
            pairs = zip(self.points[0::2], self.points[1::2], strict=False)
            merged = [a if a[1] >= b[1] else (a[0], b[1]) for a, b in pairs]
            if len(self.points) % 2:
                merged.append(self.points[-1])
            self.points = merged


@dataclass(frozen=True, slots=True)
class Bar:
    """One condition from raise to clear (``end_ms`` None: still raised at the end)."""

    type: EventType
    zone: str | None
    terminal: str | None
    start_ms: int
    end_ms: int | None


@dataclass(frozen=True, slots=True)
class Marker:
    """Where and when a condition was raised."""

    type: EventType
    t_ms: int
    lat: float
    lon: float
    zone: str | None
    terminal: str | None


@dataclass(slots=True)
class ZoneStats:
    """Running numbers of one zone."""

    zone: Zone
    entries: int = 0
    count: int = 0
    since_ms: int | None = None
    peak: int = 0
    peak_ms: int | None = None
    over_ms: int = 0
    under_ms: int = 0
    trespass: int = 0
    series: StepSeries = field(default_factory=lambda: StepSeries(SERIES_POINTS_CAP))


@dataclass(slots=True)
class TerminalStats:
    """Running numbers of one terminal (``events``: conditions raised, by type)."""

    id: str
    kind: TerminalKind
    fixes: int = 0
    accepted_ms: int | None = None
    x_m: float = 0.0
    y_m: float = 0.0
    distance_m: float = 0.0
    zones: frozenset[str] = frozenset()
    entered_ms: dict[str, int] = field(default_factory=dict)
    zone_ms: Counter[str] = field(default_factory=Counter)
    online: bool = True
    events: Counter[str] = field(default_factory=Counter)
    track: Decimated = field(default_factory=lambda: Decimated(TRACK_POINTS_CAP))


@dataclass(slots=True)
class TypeStats:
    """Counts and raise-to-clear durations of one event type."""

    raised: int = 0
    cleared: int = 0
    closed: int = 0
    total_ms: int = 0
    max_ms: int = 0


def _accepted_state(
    evaluator: Evaluator, terminal: str
) -> tuple[int | None, float, float, float | None, float | None, frozenset[str]]:
    """The evaluator's view of one terminal after a step: last accepted fix time, metric
    and geographic position, and the zones it is inside."""
    ts = evaluator.terminals.get(terminal)
    if ts is None:
        return None, 0.0, 0.0, None, None, frozenset()
    return ts.last_t_ms, ts.x, ts.y, ts.lat, ts.lon, ts.zones


class ReportObserver:
    """Gathers the report and plot data of one replay (see the module text)."""

    def __init__(self, site: Site, evaluator: Evaluator, zones: frozenset[str] | None) -> None:
        self.site = site
        self.evaluator = evaluator
        self.zone_filter = zones
        self.zones = {z.id: ZoneStats(z) for z in site.zones}
        self.terminals: dict[str, TerminalStats] = {}
        self.types = {t: TypeStats() for t in EventType}
        self.open: dict[tuple[EventType, str | None, str | None], int] = {}
        self.bars: list[Bar] = []
        self.bars_total = 0
        self.markers: list[Marker] = []
        self.markers_total = 0
        self.first_ms: int | None = None
        self.end_ms: int | None = None
        self._dirty: set[str] = set()
        self._dirty_ms: int | None = None
        self._offline_after_ms = int(round(site.defaults.offline_after_s * 1000))

    # --- StepObserver ---------------------------------------------------------------
    def on_events(self, events: Sequence[Event]) -> None:
        """Offline changes move the counts; every event feeds the per-type numbers."""
        for event in events:
            self._start(event.t_ms)
            self._settle_before(event.t_ms)
            if event.type is EventType.OFFLINE and event.terminal is not None:
                self._online(event.terminal, event.state is EventState.CLEARED, event.t_ms)
            if self.zone_filter is None or event.zone in self.zone_filter:
                self._count_event(event)

    def on_fix(self, fix: Fix, step_ms: int) -> None:
        """Membership, distance and track of the terminal after its fix's step."""
        self._start(step_ms)
        self._settle_before(step_ms)
        stats = self._terminal(fix.terminal)
        stats.fixes += 1
        accepted_ms, x_m, y_m, lat, lon, zones = _accepted_state(self.evaluator, fix.terminal)
        if accepted_ms is not None and accepted_ms != stats.accepted_ms:
            if stats.accepted_ms is not None:
                stats.distance_m += math.hypot(x_m - stats.x_m, y_m - stats.y_m)
            stats.accepted_ms, stats.x_m, stats.y_m = accepted_ms, x_m, y_m
            if lat is not None and lon is not None:
                stats.track.add(lon, lat)
        if zones != stats.zones:
            self._membership(stats, zones, step_ms)
        self._peaks(step_ms)

    def on_end(self, end_ms: int) -> None:
        """Close stays, occupancy intervals and open conditions at the end of the replay."""
        self._settle_before(end_ms + 1)
        self.end_ms = end_ms
        for zs in self.zones.values():
            self._accumulate(zs, end_ms)
        for ts in self.terminals.values():
            for zone_id, since in ts.entered_ms.items():
                ts.zone_ms[zone_id] += end_ms - since
            ts.entered_ms = {zone_id: end_ms for zone_id in ts.entered_ms}
        for (etype, zone, terminal), start in sorted(
            self.open.items(), key=lambda item: (item[1], item[0][0].value)
        ):
            self._bar(Bar(etype, zone, terminal, start, None))

    # --- membership and occupancy ------------------------------------------------------
    def _start(self, t_ms: int) -> None:
        if self.first_ms is None:
            first = self.evaluator.first_step_ms
            self.first_ms = first if first is not None else t_ms

    def _terminal(self, terminal_id: str) -> TerminalStats:
        stats = self.terminals.get(terminal_id)
        if stats is None:
            kind = self.site.terminal(terminal_id).kind
            stats = TerminalStats(terminal_id, kind)
            self.terminals[terminal_id] = stats
        return stats

    def _counted(self, stats: TerminalStats, zs: ZoneStats) -> bool:
        return stats.online and stats.kind in zs.zone.count_kinds

    def _membership(self, stats: TerminalStats, zones: frozenset[str], t_ms: int) -> None:
        for zone_id in stats.zones - zones:
            since = stats.entered_ms.pop(zone_id)
            stats.zone_ms[zone_id] += t_ms - since
            self._move(stats, self.zones[zone_id], -1, t_ms)
        for zone_id in zones - stats.zones:
            stats.entered_ms[zone_id] = t_ms
            zs = self.zones[zone_id]
            zs.entries += 1
            self._move(stats, zs, +1, t_ms)
        stats.zones = zones

    def _online(self, terminal_id: str, online: bool, t_ms: int) -> None:
        stats = self._terminal(terminal_id)
        if stats.online == online:
            return
        if online:
            stats.online = True  # counted from now: move after the flag
        for zone_id in stats.zones:
            self._move(stats, self.zones[zone_id], +1 if online else -1, t_ms)
        stats.online = online

    def _move(self, stats: TerminalStats, zs: ZoneStats, step: int, t_ms: int) -> None:
        if not self._counted(stats, zs):
            return
        self._accumulate(zs, t_ms)
        zs.count += step
        zs.series.add(t_ms, zs.count)
        self._dirty.add(zs.zone.id)
        self._dirty_ms = t_ms

    def _settle_before(self, t_ms: int) -> None:
        """Take peaks of the steps before ``t_ms`` (the events of one step share its time)."""
        if self._dirty_ms is not None and self._dirty_ms < t_ms:
            self._peaks(self._dirty_ms)

    def _peaks(self, t_ms: int) -> None:
        """Peaks are taken on the state a step leaves (occupancy is evaluated once a step):
        a terminal back from offline that leaves the zone in the same step never counts."""
        for zone_id in self._dirty:
            zs = self.zones[zone_id]
            if zs.count > zs.peak:
                zs.peak, zs.peak_ms = zs.count, t_ms
        self._dirty.clear()
        self._dirty_ms = None

    def _accumulate(self, zs: ZoneStats, t_ms: int) -> None:
        """Add the time since the last change to over/under totals, at the old count."""
        since = zs.since_ms if zs.since_ms is not None else self.first_ms
        zs.since_ms = t_ms
        if since is None or t_ms <= since:
            return
        zone = zs.zone
        if zone.max_occupancy is not None and zs.count > zone.max_occupancy:
            zs.over_ms += t_ms - since
        if zone.min_occupancy is not None and zs.count < zone.min_occupancy:
            zs.under_ms += self._applicable_ms(zone, since, t_ms)

    def _applicable_ms(self, zone: Zone, lo_ms: int, hi_ms: int) -> int:
        """How much of ``[lo, hi)`` undermanning applies: staffed, after the start-up grace."""
        if self.first_ms is not None:
            lo_ms = max(lo_ms, self.first_ms + self._offline_after_ms)
        if lo_ms >= hi_ms:
            return 0
        if zone.staffed is None:
            return hi_ms - lo_ms
        tz = self.site.timezone
        total, t_ms = 0, lo_ms
        while t_ms < hi_ms:
            edge = next_window_edge_ms(zone.staffed, t_ms, tz)
            end = hi_ms if edge is None else min(edge, hi_ms)
            if in_windows(zone.staffed, t_ms, tz):
                total += end - t_ms
            t_ms = end
        return total

    # --- events ----------------------------------------------------------------------
    def _count_event(self, event: Event) -> None:
        stats = self.types[event.type]
        key = (event.type, event.zone, event.terminal)
        if event.state is EventState.RAISED:
            if event.terminal is not None:
                self._terminal(event.terminal).events[event.type.value] += 1
            stats.raised += 1
            self.open[key] = event.t_ms
            if event.type is EventType.TRESPASS and event.zone in self.zones:
                self.zones[event.zone].trespass += 1
            self._marker(event)
            return
        stats.cleared += 1
        start = self.open.pop(key, None)
        if start is not None:
            duration = event.t_ms - start
            stats.closed += 1
            stats.total_ms += duration
            stats.max_ms = max(stats.max_ms, duration)
            self._bar(Bar(event.type, event.zone, event.terminal, start, event.t_ms))

    def _marker(self, event: Event) -> None:
        """Where a raise is shown: the terminal's position, or the zone's (occupancy)."""
        self.markers_total += 1
        lat, lon = event.lat, event.lon
        if (lat is None or lon is None) and event.zone in self.zones:
            point = self.zones[event.zone].zone.geometry.representative_point()
            lat, lon = point.y, point.x
        if lat is not None and lon is not None and len(self.markers) < MARKERS_CAP:
            self.markers.append(Marker(event.type, event.t_ms, lat, lon, event.zone, event.terminal))

    def _bar(self, bar: Bar) -> None:
        self.bars_total += 1
        if len(self.bars) < BARS_CAP:
            self.bars.append(bar)
