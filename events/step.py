"""The step context and per-terminal state shared by the event families."""

from __future__ import annotations

from dataclasses import dataclass

from events.model import EventState, EventType
from events.timers import TimerKey, TimerKind, TimerQueue, TimerRecord
from zones.model import Terminal


class TerminalState:
    """What the evaluator knows of one terminal (internal, mutated only by the evaluator).

    ``last_t_ms`` is the time of the last accepted fix; ``x``/``y`` its metric position.
    ``id`` and ``kind`` repeat the terminal's, and the stillness anchor and flags (written
    only by the stillness family and the evaluator's fast path) live here too, so that a
    fix touches one object less; the timer keys are built once so the timer dict finds
    them by identity, and the records of the two timers re-armed on the fast path are kept
    (live while their ``deadline_ms`` is set).
    """

    __slots__ = (
        "terminal",
        "id",
        "kind",
        "registered",
        "last_heard_ms",
        "offline",
        "last_t_ms",
        "x",
        "y",
        "lat",
        "lon",
        "quality",
        "rejections",
        "zones",
        "offline_key",
        "offline_timer",
        "stillness_key",
        "stillness_timer",
        "anchor_x_m",
        "anchor_y_m",
        "anchor_t_ms",
        "still_raised",
        "still_fresh",
    )

    def __init__(self, terminal: Terminal, registered: bool) -> None:
        self.terminal = terminal
        self.id = terminal.id
        self.kind = terminal.kind
        self.registered = registered
        self.last_heard_ms: int = 0
        self.offline = False
        self.last_t_ms: int | None = None
        self.x = 0.0
        self.y = 0.0
        self.lat: float | None = None
        self.lon: float | None = None
        self.quality: int | None = None
        self.rejections = 0
        self.zones: frozenset[str] = frozenset()
        self.offline_key: TimerKey = (TimerKind.OFFLINE, terminal.id, "")
        self.offline_timer: TimerRecord | None = None  # live while its deadline_ms is set
        self.stillness_key: TimerKey = (TimerKind.STILLNESS, terminal.id, "")
        self.stillness_timer: TimerRecord | None = None
        self.anchor_x_m = 0.0
        self.anchor_y_m = 0.0
        self.anchor_t_ms: int | None = None  # no anchor yet
        self.still_raised = False
        self.still_fresh = False  # back from offline: the next accepted fix is the anchor


@dataclass(frozen=True, slots=True)
class RawEvent:
    """An event as a family emits it, before the evaluator numbers it."""

    type: EventType
    state: EventState
    zone: str | None
    terminal: str | None
    count: int | None = None
    limit: int | None = None


class Step:
    """One step: its time, the events it emits and access to the timers."""

    __slots__ = ("t_ms", "raw", "timers", "timers_due")

    def __init__(self, t_ms: int, timers: TimerQueue, timers_due: bool = False) -> None:
        self.t_ms = t_ms
        self.raw: list[RawEvent] = []
        self.timers = timers
        self.timers_due = timers_due  # some timer is due within this step

    def emit(self, event: RawEvent) -> None:
        """Record an event of this step."""
        self.raw.append(event)

    def arm(self, kind: TimerKind, terminal: str, zone: str, deadline_ms: int) -> None:
        """Arm a timer (terminal and zone ids, ``""`` where not applicable)."""
        self.arm_key((kind, terminal, zone), deadline_ms)

    def arm_key(self, key: TimerKey, deadline_ms: int) -> TimerRecord:
        """Arm the timer ``key`` (e.g. a terminal's own ``offline_key``); its record."""
        if deadline_ms <= self.t_ms:
            self.timers_due = True
        return self.timers.arm(key, deadline_ms)

    def cancel(self, kind: TimerKind, terminal: str, zone: str) -> None:
        """Cancel a timer if armed."""
        self.timers.cancel((kind, terminal, zone))

    def cancel_key(self, key: TimerKey) -> None:
        """Cancel the timer ``key`` if armed."""
        self.timers.cancel(key)


def timer_key(kind: TimerKind, terminal: str = "", zone: str = "") -> TimerKey:
    """The key of a timer."""
    return (kind, terminal, zone)


def seconds_to_ms(seconds: float) -> int:
    """Whole milliseconds of a duration in seconds (rounded to the nearest ms)."""
    return int(round(seconds * 1000.0))
