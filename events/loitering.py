"""loitering (滞留), contract 5.4: per terminal and zone with ``max_dwell_s``."""

from __future__ import annotations

from events.model import EventState, EventType
from events.step import RawEvent, Step, TerminalState, seconds_to_ms
from events.timers import TimerKind
from zones.model import Zone


class LoiteringFamily:
    """Dwell timers from each entry, and raised loiterings."""

    __slots__ = ("raised",)

    def __init__(self) -> None:
        self.raised: dict[tuple[str, str], None] = {}

    def on_enter(self, ts: TerminalState, zone: Zone, step: Step) -> None:
        """A new stay starts at the step time."""
        if zone.max_dwell_s is not None:
            deadline_ms = step.t_ms + seconds_to_ms(zone.max_dwell_s)
            step.arm(TimerKind.LOITERING, ts.id, zone.id, deadline_ms)

    def on_leave(self, ts: TerminalState, zone: Zone, step: Step) -> None:
        """Leaving ends the stay: cancel the timer, clear a raised loitering."""
        step.cancel(TimerKind.LOITERING, ts.id, zone.id)
        if self.raised.pop((ts.id, zone.id), 0) is None:
            step.emit(RawEvent(EventType.LOITERING, EventState.CLEARED, zone.id, ts.id))

    def on_timer(self, ts: TerminalState, zone: Zone, step: Step) -> None:
        """Still inside at entry + max_dwell_s (online or not)."""
        self.raised[(ts.id, zone.id)] = None
        step.emit(RawEvent(EventType.LOITERING, EventState.RAISED, zone.id, ts.id))
