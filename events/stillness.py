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


class StillnessFamily:
    """Anchors, limits and the stillness timers."""

    __slots__ = ("defaults", "kinds", "zones", "states", "site_still_ms", "radius_m", "_limits")

    def __init__(self, defaults: Defaults, zones: Mapping[str, Zone]) -> None:
        self.defaults = defaults
        self.kinds = defaults.still_kinds
        self.zones = zones
        # terminals with a stillness state (anchored once), in the order they got it
        self.states: dict[str, TerminalState] = {}
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

    def _moved(self, ts: TerminalState) -> bool:
        return math.hypot(ts.x - ts.anchor_x_m, ts.y - ts.anchor_y_m) > self.radius_m

    def _set_anchor(self, ts: TerminalState, step: Step, arm: bool) -> None:
        ts.anchor_x_m = ts.x
        ts.anchor_y_m = ts.y
        ts.anchor_t_ms = step.t_ms
        limit_ms = self.limit_ms(ts) if arm else None
        if limit_ms is None:
            step.cancel_key(ts.stillness_key)
        else:
            ts.stillness_timer = step.arm_key(ts.stillness_key, step.t_ms + limit_ms)

    def _clear(self, ts: TerminalState, step: Step) -> None:
        ts.still_raised = False
        step.emit(RawEvent(EventType.STILLNESS, EventState.CLEARED, None, ts.id))

    def on_accept(self, ts: TerminalState, step: Step) -> None:
        """An accepted fix of an online terminal, after membership was updated."""
        if ts.kind not in self.kinds:
            return
        if ts.anchor_t_ms is None or ts.still_fresh:
            self.states.setdefault(ts.id, ts)
            ts.still_fresh = False
            if ts.still_raised and ts.anchor_t_ms is not None and self._moved(ts):
                self._clear(ts, step)
            self._set_anchor(ts, step, arm=not ts.still_raised)
        elif self._moved(ts):
            if ts.still_raised:
                self._clear(ts, step)
            self._set_anchor(ts, step, arm=True)

    def restore(self, ts: TerminalState, anchor: Anchor | None, raised: bool, fresh: bool) -> None:
        """Give the terminal the stillness state of a snapshot."""
        self.states[ts.id] = ts
        if anchor is not None:
            ts.anchor_x_m, ts.anchor_y_m, ts.anchor_t_ms = anchor.x_m, anchor.y_m, anchor.t_ms
        ts.still_raised = raised
        ts.still_fresh = fresh

    def on_offline(self, ts: TerminalState, step: Step) -> None:
        """Going offline cancels a pending timer; the next anchor comes once back online."""
        if ts.id in self.states:
            ts.still_fresh = True
            step.cancel_key(ts.stillness_key)

    def on_timer(self, ts: TerminalState, step: Step) -> None:
        """The anchor did not move for its limit."""
        ts.still_raised = True
        step.emit(RawEvent(EventType.STILLNESS, EventState.RAISED, None, ts.id))
