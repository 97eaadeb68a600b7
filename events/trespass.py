"""trespass (分权限越界), contract 5.1: per terminal and restricted zone."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from events.model import EventState, EventType
from events.step import RawEvent, Step, TerminalState
from events.timers import TimerKind
from zones.model import Zone
from zones.permits import is_permitted, next_permit_change_ms


class TrespassFamily:
    """Raised trespasses and the permit-edge timers of terminals inside restricted zones."""

    __slots__ = ("tz", "raised")

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.raised: dict[tuple[str, str], None] = {}

    def _settle(self, ts: TerminalState, zone: Zone, step: Step) -> None:
        """Bring the raised state in line with the permits at the step time; arm the next edge."""
        key = (ts.id, zone.id)
        permitted = is_permitted(zone, ts.terminal, ts.registered, step.t_ms, self.tz)
        if permitted and key in self.raised:
            del self.raised[key]
            step.emit(RawEvent(EventType.TRESPASS, EventState.CLEARED, zone.id, ts.id))
        elif not permitted and key not in self.raised:
            self.raised[key] = None
            step.emit(RawEvent(EventType.TRESPASS, EventState.RAISED, zone.id, ts.id))
        edge_ms = next_permit_change_ms(zone, ts.terminal, ts.registered, step.t_ms, self.tz)
        if edge_ms is None:
            step.cancel(TimerKind.PERMIT_EDGE, ts.id, zone.id)
        else:
            step.arm(TimerKind.PERMIT_EDGE, ts.id, zone.id, edge_ms)

    def on_enter(self, ts: TerminalState, zone: Zone, step: Step) -> None:
        """T entered Z: raised when Z is restricted and T is not permitted now."""
        if zone.restricted:
            self._settle(ts, zone, step)

    def on_leave(self, ts: TerminalState, zone: Zone, step: Step) -> None:
        """T left Z: a raised trespass clears."""
        step.cancel(TimerKind.PERMIT_EDGE, ts.id, zone.id)
        if self.raised.pop((ts.id, zone.id), 0) is None:
            step.emit(RawEvent(EventType.TRESPASS, EventState.CLEARED, zone.id, ts.id))

    def on_edge(self, ts: TerminalState, zone: Zone, step: Step) -> None:
        """A permit window edge while T is inside Z (online or not)."""
        self._settle(ts, zone, step)
