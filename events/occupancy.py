"""Occupancy: overcrowding (超员, 5.2) and undermanning (缺员, 5.3), per zone.

Counts are kept incrementally; a zone is evaluated in a step when its count changed or
one of its occupancy timers (hold, staffed edge, start-up grace) is due. A zone whose
count did not change and has nothing due would evaluate to no change, so this equals
evaluating every zone once per step.
"""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo

from events.model import EventState, EventType
from events.step import RawEvent, Step, TerminalState, seconds_to_ms
from events.timers import TimerKind
from zones.model import Zone
from zones.windows import in_windows, next_window_edge_ms


class HeldCondition:
    """A condition that is raised once it held from ``t0_ms`` for ``hold_ms``.

    ``t0_ms`` is None while not pending; ``raised`` once raised until cleared.
    """

    __slots__ = ("t0_ms", "raised")

    def __init__(self, t0_ms: int | None = None, raised: bool = False) -> None:
        self.t0_ms = t0_ms
        self.raised = raised


class ZoneOccupancy:
    """Who is inside one zone, the live count, and its two held conditions."""

    __slots__ = ("zone", "members", "count", "over", "under")

    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.members: dict[str, None] = {}
        self.count = 0
        self.over = HeldCondition()
        self.under = HeldCondition()


class OccupancyFamily:
    """Counts per zone and the overcrowding/undermanning rules."""

    __slots__ = ("zones", "tz", "grace_ms", "grace_end_ms", "dirty")

    def __init__(self, zones: Iterable[Zone], tz: ZoneInfo, offline_after_ms: int) -> None:
        self.zones = {z.id: ZoneOccupancy(z) for z in zones}
        self.tz = tz
        self.grace_ms = offline_after_ms
        self.grace_end_ms: int | None = None
        self.dirty: dict[str, None] = {}

    # --- counts -------------------------------------------------------------------
    def _counted(self, ts: TerminalState, occ: ZoneOccupancy) -> bool:
        return not ts.offline and ts.terminal.kind in occ.zone.count_kinds

    def on_enter(self, ts: TerminalState, zone_id: str) -> None:
        """T is now inside the zone."""
        occ = self.zones[zone_id]
        occ.members[ts.id] = None
        if self._counted(ts, occ):
            occ.count += 1
            self.dirty[zone_id] = None

    def on_leave(self, ts: TerminalState, zone_id: str) -> None:
        """T is no longer inside the zone."""
        occ = self.zones[zone_id]
        del occ.members[ts.id]
        if self._counted(ts, occ):
            occ.count -= 1
            self.dirty[zone_id] = None

    def on_online_change(self, ts: TerminalState, zone_ids: Iterable[str]) -> None:
        """T went offline or came back (``ts.offline`` already updated)."""
        delta = -1 if ts.offline else 1
        for zone_id in sorted(zone_ids):
            occ = self.zones[zone_id]
            if ts.terminal.kind in occ.zone.count_kinds:
                occ.count += delta
                self.dirty[zone_id] = None

    # --- timers -------------------------------------------------------------------
    def start(self, step: Step) -> None:
        """The first step: arm the start-up grace and the staffed window edges."""
        self.grace_end_ms = step.t_ms + self.grace_ms
        step.arm(TimerKind.GRACE, "", "", self.grace_end_ms)
        for occ in self.zones.values():
            self._arm_staffed_edge(occ, step)

    def _arm_staffed_edge(self, occ: ZoneOccupancy, step: Step) -> None:
        zone = occ.zone
        if zone.min_occupancy is None or zone.staffed is None:
            return
        edge_ms = next_window_edge_ms(zone.staffed, step.t_ms, self.tz)
        if edge_ms is not None:
            step.arm(TimerKind.STAFFED_EDGE, "", zone.id, edge_ms)

    def on_staffed_edge(self, zone_id: str, step: Step) -> None:
        """A staffed window began or ended."""
        self.dirty[zone_id] = None
        self._arm_staffed_edge(self.zones[zone_id], step)

    def on_grace_end(self) -> None:
        """The start-up grace ended: undermanning may apply from now."""
        for zone_id, occ in self.zones.items():
            if occ.zone.min_occupancy is not None:
                self.dirty[zone_id] = None

    def on_hold(self, zone_id: str) -> None:
        """A hold deadline is due."""
        self.dirty[zone_id] = None

    # --- evaluation ---------------------------------------------------------------
    def evaluate(self, step: Step) -> None:
        """Evaluate every zone whose state may have changed in this step."""
        for zone_id in self.dirty:
            occ = self.zones[zone_id]
            if occ.zone.max_occupancy is not None:
                self._overcrowding(occ, occ.zone.max_occupancy, step)
            if occ.zone.min_occupancy is not None:
                self._undermanning(occ, occ.zone.min_occupancy, step)
        self.dirty.clear()

    def _emit(self, kind: EventType, state: EventState, occ: ZoneOccupancy, limit: int,
              step: Step) -> None:
        step.emit(RawEvent(kind, state, occ.zone.id, None, occ.count, limit))

    def _hold(self, held: HeldCondition, kind: EventType, timer: TimerKind,
              occ: ZoneOccupancy, limit: int, step: Step) -> None:
        """The condition holds at this evaluation: start pending, or raise when held long enough."""
        if held.t0_ms is None:
            held.t0_ms = step.t_ms
        due_ms = held.t0_ms + seconds_to_ms(occ.zone.hold_s)
        if step.t_ms >= due_ms:
            held.t0_ms = None
            held.raised = True
            step.cancel(timer, "", occ.zone.id)
            self._emit(kind, EventState.RAISED, occ, limit, step)
        else:
            step.arm(timer, "", occ.zone.id, due_ms)

    def _drop(self, held: HeldCondition, timer: TimerKind, occ: ZoneOccupancy, step: Step) -> None:
        if held.t0_ms is not None:
            held.t0_ms = None
            step.cancel(timer, "", occ.zone.id)

    def _overcrowding(self, occ: ZoneOccupancy, limit: int, step: Step) -> None:
        held = occ.over
        holds = occ.count > limit
        if held.raised:
            if not holds:
                held.raised = False
                self._emit(EventType.OVERCROWDING, EventState.CLEARED, occ, limit, step)
        elif holds:
            self._hold(held, EventType.OVERCROWDING, TimerKind.OVER_HOLD, occ, limit, step)
        else:
            self._drop(held, TimerKind.OVER_HOLD, occ, step)

    def applicable(self, zone: Zone, t_ms: int) -> bool:
        """Undermanning applies: past the start-up grace and inside a staffed window."""
        if self.grace_end_ms is None or t_ms < self.grace_end_ms:
            return False
        return zone.staffed is None or in_windows(zone.staffed, t_ms, self.tz)

    def _undermanning(self, occ: ZoneOccupancy, limit: int, step: Step) -> None:
        held = occ.under
        applies = self.applicable(occ.zone, step.t_ms)
        holds = occ.count < limit
        if held.raised:
            if not holds or not applies:
                held.raised = False
                self._emit(EventType.UNDERMANNING, EventState.CLEARED, occ, limit, step)
        elif holds and applies:
            self._hold(held, EventType.UNDERMANNING, TimerKind.UNDER_HOLD, occ, limit, step)
        else:
            self._drop(held, TimerKind.UNDER_HOLD, occ, step)
