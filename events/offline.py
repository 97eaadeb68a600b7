"""offline (离线), contract 5.6 and 3.1: raised at last_heard + offline_after_s."""

from __future__ import annotations

from events.model import EventState, EventType
from events.step import RawEvent, Step, TerminalState


class OfflineFamily:
    """Hearing terminals and the offline timer."""

    __slots__ = ("after_ms",)

    def __init__(self, offline_after_ms: int) -> None:
        self.after_ms = offline_after_ms

    def on_heard(self, ts: TerminalState, fix_t_ms: int, first: bool, step: Step) -> bool:
        """A valid fix was heard; returns True when it brings the terminal back online."""
        ts.last_heard_ms = fix_t_ms if first else max(ts.last_heard_ms, fix_t_ms)
        deadline_ms = ts.last_heard_ms + self.after_ms
        if ts.offline:
            if deadline_ms <= step.t_ms:
                return False  # a fix that old does not show the terminal is back
            ts.offline = False
            step.emit(RawEvent(EventType.OFFLINE, EventState.CLEARED, None, ts.id))
            ts.offline_timer = step.arm_key(ts.offline_key, deadline_ms)
            return True
        ts.offline_timer = step.arm_key(ts.offline_key, deadline_ms)
        return False

    def on_timer(self, ts: TerminalState, step: Step) -> None:
        """Nothing heard before the deadline: the terminal is offline."""
        ts.offline = True
        step.emit(RawEvent(EventType.OFFLINE, EventState.RAISED, None, ts.id))
