"""Event values (contract sections 5 and 6)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class EventType(Enum):
    """The six event families of the contract."""

    TRESPASS = "trespass"
    OVERCROWDING = "overcrowding"
    UNDERMANNING = "undermanning"
    LOITERING = "loitering"
    STILLNESS = "stillness"
    OFFLINE = "offline"


class EventState(Enum):
    """Whether a condition began or ended."""

    RAISED = "raised"
    CLEARED = "cleared"


SEVERITY: dict[EventType, str] = {
    EventType.TRESPASS: "critical",
    EventType.OVERCROWDING: "major",
    EventType.UNDERMANNING: "major",
    EventType.STILLNESS: "critical",
    EventType.LOITERING: "minor",
    EventType.OFFLINE: "minor",
}


@dataclass(frozen=True, slots=True)
class Event:
    """One raised or cleared condition at step time ``t_ms``.

    ``count``/``limit`` are set on occupancy events only. ``seq`` numbers events in the
    order the evaluator emitted them (deterministic, survives snapshot/restore), and
    with the rest makes the event's id. ``lat``/``lon``/``quality`` are the terminal's
    last accepted position at the event, for operators (extra output keys).
    """

    t_ms: int
    type: EventType
    state: EventState
    zone: str | None
    terminal: str | None
    count: int | None = None
    limit: int | None = None
    seq: int = 0
    lat: float | None = None
    lon: float | None = None
    quality: int | None = None

    @property
    def key(self) -> tuple[str, str | None, str | None]:
        """The condition this event belongs to (type, zone, terminal)."""
        return (self.type.value, self.zone, self.terminal)

    @property
    def event_id(self) -> str:
        """A deterministic id: the same input gives the same ids, live or replayed."""
        return f"{self.seq:012d}-{self.type.value}-{self.state.value}"
