"""The evaluator: steps and the clock (contract section 2) over the event families.

Thin by design: it owns the clock, the timers and per-terminal state, runs the fix
checks, asks the zone index for membership once per accepted fix, and calls the event
families (one module each, none touching geometry) in the contract's order.
No wall clock, no I/O: callers feed fixes and ticks.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from events import fixfilter
from events.fixfilter import FixVerdict
from events.loitering import LoiteringFamily
from events.model import Event
from events.occupancy import OccupancyFamily
from events.offline import OfflineFamily
from events.step import Step, TerminalState, seconds_to_ms
from events.stillness import StillnessFamily
from events.timers import TimerKey, TimerKind, TimerQueue
from events.trespass import TrespassFamily
from events.view import EvaluatorView, build_view
from gnss.fix import Fix
from zones.index import ZoneIndex
from zones.model import Site, Zone


class Evaluator:
    """Fixes and ticks in, events out, exactly per the contract."""

    def __init__(self, site: Site, index: ZoneIndex | None = None) -> None:
        self.site = site
        self.index = index if index is not None else ZoneIndex.build(site)
        self.zones: dict[str, Zone] = {z.id: z for z in site.zones}
        self.terminals: dict[str, TerminalState] = {}
        self.timers = TimerQueue()
        self.clock_ms: int | None = None
        self.first_step_ms: int | None = None
        self.seq = 0
        self.verdicts: Counter[FixVerdict] = Counter()
        d = site.defaults
        offline_after_ms = seconds_to_ms(d.offline_after_s)
        self.offline = OfflineFamily(offline_after_ms)
        self.trespass = TrespassFamily(site.timezone)
        self.loitering = LoiteringFamily()
        self.stillness = StillnessFamily(d, self.zones)
        self.occupancy = OccupancyFamily(site.zones, site.timezone, offline_after_ms)

    # --- public API -----------------------------------------------------------------
    def feed(self, fix: Fix, position_m: tuple[float, float] | None = None) -> list[Event]:
        """One input step for ``fix``; timers due at or before its time fire first.

        ``position_m`` is the fix projected into the site's metric CRS, when the caller
        projected a batch at once (``ZoneIndex.project_many``); otherwise it is projected here.
        """
        out: list[Event] = []
        clock_ms = self.clock_ms
        t_ms = fix.t_ms if clock_ms is None or fix.t_ms > clock_ms else clock_ms
        self._fire_timers_until(t_ms, out)
        step = self._begin(t_ms)
        self._apply_fix(fix, step, position_m)
        self._finish(step, out)
        return out

    def advance_to(self, t_ms: int) -> list[Event]:
        """A tick: every timer due at or before ``t_ms`` fires; the clock moves to ``t_ms``."""
        out: list[Event] = []
        if self.clock_ms is not None and t_ms <= self.clock_ms:
            return out
        self._fire_timers_until(t_ms, out)
        step = self._begin(t_ms)
        self._finish(step, out)
        return out

    def next_deadline(self) -> int | None:
        """The earliest armed timer, or None."""
        return self.timers.next_deadline()

    def view(self) -> EvaluatorView:
        """Read-only live state for operators."""
        return build_view(self)

    def snapshot(self) -> dict[str, Any]:
        """The whole state as versioned, JSON-able plain data."""
        from events.snapshot import take_snapshot

        return take_snapshot(self)

    @classmethod
    def restore(
        cls, site: Site, snapshot: dict[str, Any], index: ZoneIndex | None = None
    ) -> Evaluator:
        """A new evaluator that continues exactly where ``snapshot`` was taken."""
        from events.snapshot import restore_snapshot

        evaluator = cls(site, index)
        restore_snapshot(evaluator, snapshot)
        return evaluator

    # --- steps ------------------------------------------------------------------------
    def _begin(self, t_ms: int, timers_due: bool = False) -> Step:
        step = Step(t_ms, self.timers, timers_due)
        self.clock_ms = t_ms
        if self.first_step_ms is None:
            self.first_step_ms = t_ms
            self.occupancy.start(step)
        return step

    def _fire_timers_until(self, t_ms: int, out: list[Event]) -> None:
        """One step per distinct deadline <= t_ms, in deadline order."""
        while (deadline_ms := self.timers.next_deadline()) is not None and deadline_ms <= t_ms:
            step = self._begin(deadline_ms, timers_due=True)
            self._finish(step, out)

    def _finish(self, step: Step, out: list[Event]) -> None:
        """Fire the timers due in this step in kind order, evaluate occupancy, number events.

        Outside timer steps a timer can only be due if this step armed it at or before its
        time (every other deadline is after the clock), which ``Step.arm`` records.
        """
        while step.timers_due and (key := self.timers.pop_due(step.t_ms)) is not None:
            self._fire(key, step)
        if self.occupancy.dirty:
            self.occupancy.evaluate(step)
        for raw in step.raw:
            self.seq += 1
            ts = self.terminals.get(raw.terminal) if raw.terminal is not None else None
            out.append(
                Event(
                    step.t_ms, raw.type, raw.state, raw.zone, raw.terminal, raw.count,
                    raw.limit, self.seq,
                    ts.lat if ts else None, ts.lon if ts else None, ts.quality if ts else None,
                )
            )

    def _fire(self, key: TimerKey, step: Step) -> None:
        kind, terminal_id, zone_id = key
        if kind is TimerKind.OFFLINE:
            ts = self.terminals[terminal_id]
            self.offline.on_timer(ts, step)
            self.occupancy.on_online_change(ts, ts.zones)
            self.stillness.on_offline(ts, step)
        elif kind is TimerKind.PERMIT_EDGE:
            self.trespass.on_edge(self.terminals[terminal_id], self.zones[zone_id], step)
        elif kind is TimerKind.STAFFED_EDGE:
            self.occupancy.on_staffed_edge(zone_id, step)
        elif kind is TimerKind.LOITERING:
            self.loitering.on_timer(self.terminals[terminal_id], self.zones[zone_id], step)
        elif kind is TimerKind.STILLNESS:
            self.stillness.on_timer(self.terminals[terminal_id], step)
        elif kind is TimerKind.GRACE:
            self.occupancy.on_grace_end()
        else:  # OVER_HOLD, UNDER_HOLD
            self.occupancy.on_hold(zone_id)

    # --- a fix ------------------------------------------------------------------------
    def _terminal_state(self, terminal_id: str) -> tuple[TerminalState, bool]:
        ts = self.terminals.get(terminal_id)
        if ts is not None:
            return ts, False
        registered = terminal_id in self.site.terminals
        ts = TerminalState(self.site.terminal(terminal_id), registered)
        self.terminals[terminal_id] = ts
        return ts, True

    def _apply_fix(self, fix: Fix, step: Step, position_m: tuple[float, float] | None) -> None:
        ts = self.terminals.get(fix.terminal)
        first = ts is None
        if ts is None:
            ts, first = self._terminal_state(fix.terminal)
        if self.offline.on_heard(ts, fix.t_ms, first, step):
            self.occupancy.on_online_change(ts, ts.zones)
        verdict = self._check(ts, fix, position_m)
        self.verdicts[verdict] += 1
        if verdict.accepted:
            self._accepted(ts, fix, step)

    def _check(self, ts: TerminalState, fix: Fix, position_m: tuple[float, float] | None) -> FixVerdict:
        defaults = self.site.defaults
        verdict = fixfilter.check_order(ts, fix) or fixfilter.check_quality(fix, defaults)
        if verdict is not None:
            return verdict
        if position_m is None:
            assert fix.lat is not None and fix.lon is not None
            position_m = self.index.project(fix.lon, fix.lat)
        x_m, y_m = position_m
        verdict = fixfilter.check_jump(ts, fix, x_m, y_m, defaults)
        if verdict is FixVerdict.JUMP_REJECTED:
            return verdict
        fixfilter.accept(ts, fix, x_m, y_m)
        return verdict or FixVerdict.ACCEPTED

    def _accepted(self, ts: TerminalState, fix: Fix, step: Step) -> None:
        """Membership first (section 4), then stillness (5.5)."""
        acc_m = self.site.defaults.accuracy_for(fix.quality, fix.acc_m)
        before = ts.zones
        after = self.index.membership(before, ts.x, ts.y, acc_m)
        if after != before:
            ts.zones = after
            for zone_id in sorted(before - after):
                self._leave(ts, self.zones[zone_id], step)
            for zone_id in sorted(after - before):
                self._enter(ts, self.zones[zone_id], step)
        if not ts.offline:
            self.stillness.on_accept(ts, step)

    def _enter(self, ts: TerminalState, zone: Zone, step: Step) -> None:
        self.occupancy.on_enter(ts, zone.id)
        self.trespass.on_enter(ts, zone, step)
        self.loitering.on_enter(ts, zone, step)

    def _leave(self, ts: TerminalState, zone: Zone, step: Step) -> None:
        self.occupancy.on_leave(ts, zone.id)
        self.trespass.on_leave(ts, zone, step)
        self.loitering.on_leave(ts, zone, step)
