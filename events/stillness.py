"""stillness (长时间静止), contract 5.5: per terminal whose kind is in ``still_kinds``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from events.model import EventState, EventType
from events.step import RawEvent, Step, TerminalState, seconds_to_ms
from zones.model import Defaults, Zone


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where and when a terminal was last seen to move (metric position, step time)."""

    x_m: float
    y_m: float
    t_ms: int


class StillState:
    """One terminal's stillness: its anchor, whether raised, and whether it awaits a new anchor.

    The anchor is kept as plain fields (``t_ms`` is None before the first one): it moves
    on about every third fix of a walking person, and building a value each time cost
    measurably on the evaluator's fast path. ``fresh`` is set when the terminal went
    offline: its first accepted fix once back online becomes the new anchor.
    """

    __slots__ = ("x_m", "y_m", "t_ms", "raised", "fresh")

    def __init__(self, anchor: Anchor | None = None, raised: bool = False, fresh: bool = False):
        self.x_m = anchor.x_m if anchor is not None else 0.0
        self.y_m = anchor.y_m if anchor is not None else 0.0
        self.t_ms: int | None = anchor.t_ms if anchor is not None else None
        self.raised = raised
        self.fresh = fresh

    @property
    def anchor(self) -> Anchor | None:
        """The anchor as a value, or None before the first one."""
        return None if self.t_ms is None else Anchor(self.x_m, self.y_m, self.t_ms)

    def move_anchor(self, x_m: float, y_m: float, t_ms: int) -> None:
        """The anchor is now at (x_m, y_m), set at step time ``t_ms``."""
        self.x_m = x_m
        self.y_m = y_m
        self.t_ms = t_ms


class StillnessFamily:
    """Anchors, limits and the stillness timers."""

    __slots__ = ("defaults", "kinds", "zones", "states", "site_still_ms", "radius_m", "_limits")

    def __init__(self, defaults: Defaults, zones: Mapping[str, Zone]) -> None:
        self.defaults = defaults
        self.kinds = defaults.still_kinds
        self.zones = zones
        self.states: dict[str, StillState] = {}
        self.site_still_ms = (
            seconds_to_ms(defaults.still_s) if defaults.still_s else None
        )
        self.radius_m = defaults.still_radius_m
        self._limits: dict[frozenset[str], int | None] = {}  # by the set of zones T is inside

    def applies(self, ts: TerminalState) -> bool:
        """Whether the terminal's kind is watched for stillness."""
        return ts.terminal.kind in self.defaults.still_kinds

    def limit_ms(self, ts: TerminalState) -> int | None:
        """The smallest of the site's still_s and the max_still_s of the zones T is inside."""
        zone_ids = ts.zones
        if zone_ids in self._limits:
            return self._limits[zone_ids]
        limits = [
            seconds_to_ms(z.max_still_s)
            for zid in zone_ids
            if (z := self.zones[zid]).max_still_s is not None
        ]
        if self.site_still_ms is not None:
            limits.append(self.site_still_ms)
        limit_ms = self._limits[zone_ids] = min(limits) if limits else None
        return limit_ms

    def _moved(self, st: StillState, ts: TerminalState) -> bool:
        return math.hypot(ts.x - st.x_m, ts.y - st.y_m) > self.radius_m

    def _set_anchor(self, st: StillState, ts: TerminalState, step: Step, arm: bool) -> None:
        st.move_anchor(ts.x, ts.y, step.t_ms)
        limit_ms = self.limit_ms(ts) if arm else None
        if limit_ms is None:
            step.cancel_key(ts.stillness_key)
        else:
            step.arm_key(ts.stillness_key, step.t_ms + limit_ms)

    def _clear(self, st: StillState, ts: TerminalState, step: Step) -> None:
        st.raised = False
        step.emit(RawEvent(EventType.STILLNESS, EventState.CLEARED, None, ts.id))

    def on_accept(self, ts: TerminalState, step: Step) -> None:
        """An accepted fix of an online terminal, after membership was updated."""
        if ts.kind not in self.kinds:
            return
        st = ts.still
        if st is None:
            st = self.adopt(ts, StillState())
        if st.t_ms is None or st.fresh:
            st.fresh = False
            if st.raised and st.t_ms is not None and self._moved(st, ts):
                self._clear(st, ts, step)
            self._set_anchor(st, ts, step, arm=not st.raised)
        elif self._moved(st, ts):
            if st.raised:
                self._clear(st, ts, step)
            self._set_anchor(st, ts, step, arm=True)

    def adopt(self, ts: TerminalState, st: StillState) -> StillState:
        """Make ``st`` the terminal's stillness state (a new one, or one restored)."""
        self.states[ts.id] = ts.still = st
        return st

    def on_offline(self, ts: TerminalState, step: Step) -> None:
        """Going offline cancels a pending timer; the next anchor comes once back online."""
        st = ts.still
        if st is not None:
            st.fresh = True
            step.cancel_key(ts.stillness_key)

    def on_timer(self, ts: TerminalState, step: Step) -> None:
        """The anchor did not move for its limit."""
        st = self.states[ts.id]
        st.raised = True
        step.emit(RawEvent(EventType.STILLNESS, EventState.RAISED, None, ts.id))
