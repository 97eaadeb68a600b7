"""The evaluator: steps and the clock (contract section 2) over the event families.

Thin by design: it owns the clock, the timers and per-terminal state, runs the fix
checks, asks the zone index for membership once per accepted fix, and calls the event
families (one module each, none touching geometry) in the contract's order.
No wall clock, no I/O: callers feed fixes and ticks.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from events import fixfilter
from events.fixfilter import MAX_CONSECUTIVE_REJECTIONS, FixVerdict
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
from zones.model import FALLBACK_ACCURACY_M, Site, Zone

_hypot = math.hypot
EMPTY_ZONES: frozenset[str] = frozenset()


class Evaluator:
    """Fixes and ticks in, events out, exactly per the contract."""

    def __init__(self, site: Site, index: ZoneIndex | None = None, *, reference: bool = False) -> None:
        """``reference=True`` sends every fix through the general path (the simple
        reference the fast path is tested against); the events are the same either way."""
        self.site = site
        self.index = index if index is not None else ZoneIndex.build(site)
        self.reference = reference
        self.zones: dict[str, Zone] = {z.id: z for z in site.zones}
        self.terminals: dict[str, TerminalState] = {}
        self.timers = TimerQueue()
        self._timer_heap = self.timers.heap
        self.clock_ms: int | None = None
        self.first_step_ms: int | None = None
        self.seq = 0
        self._verdicts: Counter[FixVerdict] = Counter()
        self._fast_accepted = 0  # ACCEPTED verdicts of the fast path, kept apart (cheaper)
        d = site.defaults
        offline_after_ms = seconds_to_ms(d.offline_after_s)
        # The defaults the fast path reads on every fix, one attribute each.
        self._offline_after_ms = offline_after_ms
        self._accepted_qualities = d.accepted_qualities
        self._max_speed_mps = d.max_speed_mps
        self._accuracy_m = d.accuracy_m
        self._still_kinds = d.still_kinds
        self._still_radius_m = d.still_radius_m
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
        clock_ms = self.clock_ms
        if clock_ms is not None and not self.reference:
            if position_m is None and fix.lat is not None and fix.lon is not None:
                position_m = self.index.project(fix.lon, fix.lat)
            x_m, y_m = position_m if position_m is not None else (math.nan, math.nan)
            t_ms = fix.t_ms if fix.t_ms > clock_ms else clock_ms
            if self._uneventful(fix, t_ms, x_m, y_m, -1):
                return []
        return self._feed_general(fix, position_m)

    def feed_many(
        self,
        fixes: Sequence[Fix],
        xs_m: npt.ArrayLike | None = None,
        ys_m: npt.ArrayLike | None = None,
        ticks_ms: Sequence[int | None] | None = None,
    ) -> list[Event]:
        """Feed ``fixes`` in order, one input step each; the events of all the steps.

        Exactly what ``feed`` gives fix by fix. ``xs_m``/``ys_m`` are the fixes projected
        into the metric CRS (``ZoneIndex.project_many``), one entry per fix; entries of
        fixes without a position are ignored. When not given they are projected here.
        ``ticks_ms``, one entry per fix, are arrival times: ``advance_to(ticks_ms[i])``
        before fix ``i`` (None: no tick), as a replay of a recording does. The grid cells
        of the whole batch are looked up at once.
        """
        if xs_m is None or ys_m is None:
            xs_m, ys_m = self._project_batch(fixes)
        x_array = np.asarray(xs_m, dtype=float).ravel()
        y_array = np.asarray(ys_m, dtype=float).ravel()
        if not len(x_array) == len(y_array) == len(fixes):
            raise ValueError(f"{len(fixes)} fixes but {len(x_array)} x and {len(y_array)} y positions")
        if ticks_ms is not None and len(ticks_ms) != len(fixes):
            raise ValueError(f"{len(fixes)} fixes but {len(ticks_ms)} ticks")
        cells = self.index.cells_many(x_array, y_array)
        ticks = ticks_ms if ticks_ms is not None else [None] * len(fixes)
        out: list[Event] = []
        uneventful = self._uneventful
        fast = not self.reference
        for fix, x_m, y_m, cell, tick_ms in zip(
            fixes, x_array.tolist(), y_array.tolist(), cells, ticks, strict=True
        ):
            if tick_ms is not None:
                out += self.advance_to(tick_ms)
            clock_ms = self.clock_ms
            if fast and clock_ms is not None:
                t_ms = fix.t_ms
                if uneventful(fix, t_ms if t_ms > clock_ms else clock_ms, x_m, y_m, cell):
                    continue
            out += self._feed_general(fix, (x_m, y_m) if fix.lat is not None else None)
        return out

    def advance_to(self, t_ms: int) -> list[Event]:
        """A tick: every timer due at or before ``t_ms`` fires; the clock moves to ``t_ms``."""
        out: list[Event] = []
        clock_ms = self.clock_ms
        if clock_ms is not None:
            if t_ms <= clock_ms:
                return out
            heap = self._timer_heap
            if not self.reference and (not heap or heap[0][0] > t_ms or self.timers.none_due(t_ms)):
                # Nothing due: the step would only move the clock (occupancy has nothing
                # pending between steps), as the live runtime's tick before each fix does.
                self.clock_ms = t_ms
                return out
        self._fire_timers_until(t_ms, out)
        step = self._begin(t_ms)
        self._finish(step, out)
        return out

    @property
    def verdicts(self) -> Counter[FixVerdict]:
        """How many fixes got each verdict (section 3), since this evaluator was built."""
        counts = Counter(self._verdicts)
        if self._fast_accepted:
            counts[FixVerdict.ACCEPTED] += self._fast_accepted
        return counts

    def next_deadline(self) -> int | None:
        """The earliest armed timer, or None."""
        return self.timers.next_deadline()

    def view(self) -> EvaluatorView:
        """Read-only live state for operators (a copy of every terminal: ~3 ms per 1,000)."""
        return build_view(self)

    def zone_counts(self) -> dict[str, int]:
        """The occupancy count of every zone, as ``view()`` gives it, without the copy of
        every terminal's state."""
        return {zone_id: occ.count for zone_id, occ in self.occupancy.zones.items()}

    def snapshot(self) -> dict[str, Any]:
        """The whole state as versioned, JSON-able plain data."""
        from events.snapshot import take_snapshot

        return take_snapshot(self)

    @classmethod
    def restore(
        cls, site: Site, snapshot: dict[str, Any], index: ZoneIndex | None = None,
        *, reference: bool = False,
    ) -> Evaluator:
        """A new evaluator that continues exactly where ``snapshot`` was taken."""
        from events.snapshot import restore_snapshot

        evaluator = cls(site, index, reference=reference)
        restore_snapshot(evaluator, snapshot)
        return evaluator

    # --- the two paths for a fix -----------------------------------------------------
    def _feed_general(self, fix: Fix, position_m: tuple[float, float] | None) -> list[Event]:
        """The reference path: any fix, any state (timers, events, first fixes)."""
        out: list[Event] = []
        clock_ms = self.clock_ms
        t_ms = fix.t_ms if clock_ms is None or fix.t_ms > clock_ms else clock_ms
        self._fire_timers_until(t_ms, out)
        step = self._begin(t_ms)
        self._apply_fix(fix, step, position_m)
        self._finish(step, out)
        return out

    def _project_batch(self, fixes: Sequence[Fix]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        lons = [math.nan if f.lon is None else f.lon for f in fixes]
        lats = [math.nan if f.lat is None else f.lat for f in fixes]
        return self.index.project_many(lons, lats)

    def _uneventful(self, fix: Fix, t_ms: int, x_m: float, y_m: float, cell: int) -> bool:
        """Apply ``fix`` at step time ``t_ms`` when the step is certain to emit nothing.

        The fast path: no timer due up to ``t_ms``, a known online terminal with an
        accepted fix before, and (for an accepted fix) the same zones after it and no
        stillness event; or a new terminal's first fix outside every zone. It decides before it changes anything; on False nothing was
        changed and the fix goes through ``_feed_general``. What it changes is exactly
        what the general path changes for such a step, in the same order (timer arming
        order included). ``x_m``/``y_m`` is the projected position (ignored for a fix
        without one); ``cell`` its grid cell from ``ZoneIndex.cells_many``, or -1.
        One function on purpose: each call saved is ~3% of the fast path.
        """
        timers = self.timers
        heap = self._timer_heap  # its top is a lower bound of the next deadline
        if heap and heap[0][0] <= t_ms and not timers.none_due(t_ms):
            return False
        ts = self.terminals.get(fix.terminal)
        if ts is None:
            return self._first_uneventful(fix, t_ms, x_m, y_m, cell)
        if ts.offline or ts.last_t_ms is None:
            return False
        offline_timer = ts.offline_timer
        if offline_timer is None or offline_timer.deadline_ms is None:
            return False  # e.g. just restored: the general path re-arms and keeps the record
        fix_t_ms = fix.t_ms
        heard_ms = ts.last_heard_ms if ts.last_heard_ms >= fix_t_ms else fix_t_ms
        offline_ms = heard_ms + self._offline_after_ms
        if offline_ms <= t_ms:
            return False
        last_t_ms = ts.last_t_ms
        if fix_t_ms <= last_t_ms:
            return self._unaccepted(ts, FixVerdict.OUT_OF_ORDER, t_ms, heard_ms, offline_ms)
        if fix.lat is None:
            return self._unaccepted(ts, FixVerdict.NO_POSITION, t_ms, heard_ms, offline_ms)
        if fix.quality not in self._accepted_qualities:
            return self._unaccepted(ts, FixVerdict.QUALITY_NOT_ACCEPTED, t_ms, heard_ms, offline_ms)
        kind = ts.kind
        dt_s = (fix_t_ms - last_t_ms) / 1000.0
        if _hypot(x_m - ts.x, y_m - ts.y) / dt_s > self._max_speed_mps[kind]:
            if ts.rejections >= MAX_CONSECUTIVE_REJECTIONS:
                return False
            ts.rejections += 1
            return self._unaccepted(ts, FixVerdict.JUMP_REJECTED, t_ms, heard_ms, offline_ms)
        # Accepted: membership must stay, stillness must not change state.
        acc_m = fix.acc_m
        if acc_m is None or not acc_m > 0:
            acc_m = self._accuracy_m.get(fix.quality, FALLBACK_ACCURACY_M)
        before = ts.zones
        if cell < 0:
            after = self.index.membership(before, x_m, y_m, acc_m)
        else:
            after = self.index.membership_in_cell(cell, before, x_m, y_m, acc_m)
        if after is not before and after != before:
            return False
        new_anchor = False
        still_deadline_ms: int | None = None
        if kind in self._still_kinds:
            if ts.still_fresh or ts.anchor_t_ms is None:
                return False
            if _hypot(x_m - ts.anchor_x_m, y_m - ts.anchor_y_m) > self._still_radius_m:
                if ts.still_raised:
                    return False
                limit_ms = self.stillness.limit_ms(ts)
                if limit_ms is not None:
                    still_deadline_ms = t_ms + limit_ms
                    if still_deadline_ms <= t_ms:
                        return False
                new_anchor = True
        # Decided: apply in the general path's order (heard, accept, stillness).
        ts.last_heard_ms = heard_ms
        timers.rearm(offline_timer, ts.offline_key, offline_ms)
        ts.rejections = 0  # fixfilter.accept, inline: the hot path
        ts.last_t_ms = fix_t_ms
        ts.x = x_m
        ts.y = y_m
        ts.lat = fix.lat
        ts.lon = fix.lon
        ts.quality = fix.quality
        if new_anchor:  # StillnessFamily._set_anchor, inline
            ts.anchor_x_m = x_m
            ts.anchor_y_m = y_m
            ts.anchor_t_ms = t_ms
            if still_deadline_ms is None:
                timers.cancel(ts.stillness_key)
            elif (still_timer := ts.stillness_timer) is not None and still_timer.deadline_ms is not None:
                timers.rearm(still_timer, ts.stillness_key, still_deadline_ms)
            else:
                ts.stillness_timer = timers.arm(ts.stillness_key, still_deadline_ms)
        self.clock_ms = t_ms
        self._fast_accepted += 1
        return True

    def _first_uneventful(self, fix: Fix, t_ms: int, x_m: float, y_m: float, cell: int) -> bool:
        """``_uneventful`` for the first fix of a terminal (no timer due): accepted outside
        every zone, its offline deadline after the step, its stillness limit positive."""
        if fix.lat is None or fix.quality not in self._accepted_qualities:
            return False
        fix_t_ms = fix.t_ms
        offline_ms = fix_t_ms + self._offline_after_ms
        if offline_ms <= t_ms:
            return False
        site_still_ms = self.stillness.site_still_ms
        if site_still_ms is not None and site_still_ms <= 0:
            return False
        acc_m = fix.acc_m
        if acc_m is None or not acc_m > 0:
            acc_m = self._accuracy_m.get(fix.quality, FALLBACK_ACCURACY_M)
        if cell < 0:
            zones = self.index.membership(EMPTY_ZONES, x_m, y_m, acc_m)
        else:
            zones = self.index.membership_in_cell(cell, EMPTY_ZONES, x_m, y_m, acc_m)
        if zones:
            return False
        # Decided: what the general path does (new state, heard, accept, first anchor).
        ts, _ = self._terminal_state(fix.terminal)
        timers = self.timers
        ts.last_heard_ms = fix_t_ms
        ts.offline_timer = timers.arm(ts.offline_key, offline_ms)
        fixfilter.accept(ts, fix, x_m, y_m)
        if ts.kind in self._still_kinds:
            self.stillness.states.setdefault(ts.id, ts)
            ts.anchor_x_m = x_m
            ts.anchor_y_m = y_m
            ts.anchor_t_ms = t_ms
            if site_still_ms is None:  # the limit outside every zone
                timers.cancel(ts.stillness_key)
            else:
                ts.stillness_timer = timers.arm(ts.stillness_key, t_ms + site_still_ms)
        self.clock_ms = t_ms
        self._fast_accepted += 1
        return True

    def _unaccepted(
        self, ts: TerminalState, verdict: FixVerdict, t_ms: int, heard_ms: int, offline_ms: int
    ) -> bool:
        """The fast path's end for a fix that was heard but not accepted."""
        ts.last_heard_ms = heard_ms
        assert ts.offline_timer is not None  # checked by _uneventful
        self.timers.rearm(ts.offline_timer, ts.offline_key, offline_ms)
        self.clock_ms = t_ms
        self._verdicts[verdict] += 1
        return True

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
        heap = self._timer_heap
        if not heap or heap[0][0] > t_ms:  # a lower bound of the next deadline
            return
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
        self._verdicts[verdict] += 1
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
