"""The boundary between the console server and the engine.

The server talks only to a ``ConsoleBackend``. The runtime does not implement that
itself: it hands ``start_console`` (``fence.console.live``) a few things it already has:

- a state source: a thread-safe callable returning the evaluator's view
  (``events.view.EvaluatorView``: terminals with metric x/y, zones with counts);
- the event store (``fence.store.EventStore``), which ``fence.console.storeview`` turns
  into an ``AlarmStore`` (queries, acknowledgements, open alarms, and the events
  appended since a cursor, which the console pushes to browsers);
- a projector (``ZoneIndex.project_many``, for recorded tracks) and the track
  recordings directory.

Everything crossing to the browser is JSON; event objects are the contract output
objects (``events.output.event_to_obj``) with an ``ack`` key added.
"""

from __future__ import annotations

import queue
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from events.model import EventType

JsonObj = dict[str, Any]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Ack:
    """An acknowledgement: who, when (epoch ms, wall clock), and the note they wrote."""

    operator: str
    note: str
    t_ms: int

    def __post_init__(self) -> None:
        if not self.operator:
            raise ValueError("acknowledgement without an operator")
        if len(self.note) > 2000:
            raise ValueError("acknowledgement note longer than 2000 characters")


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One event as the store keeps it: the output object, its acknowledgement if any."""

    obj: Mapping[str, Any]
    ack: Ack | None

    @property
    def event_id(self) -> str:
        """The event's deterministic id."""
        return str(self.obj["id"])


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Filters of an event query; ``None`` means no filter on that field."""

    since_ms: int | None = None
    until_ms: int | None = None
    types: frozenset[EventType] | None = None
    zone: str | None = None
    terminal: str | None = None
    limit: int = 500

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= 10_000:
            raise ValueError(f"limit {self.limit} outside 1-10000")
        if self.since_ms is not None and self.until_ms is not None and self.since_ms > self.until_ms:
            raise ValueError("'since' is after 'until'")


class AckRefused(Enum):
    """Why an acknowledgement was not stored."""

    UNKNOWN_EVENT = "unknown event"
    NOT_RAISED = "only a raised event can be acknowledged"
    ALREADY = "already acknowledged"


class AckError(Exception):
    """An acknowledgement the store refused, with the reason."""

    def __init__(self, reason: AckRefused, event_id: str) -> None:
        super().__init__(f"{event_id}: {reason.value}")
        self.reason = reason
        self.event_id = event_id


class AlarmStore(Protocol):
    """What the console needs from the event store (called from console threads)."""

    def events_after(self, cursor: int, limit: int) -> tuple[list[StoredEvent], int]:
        """Events appended after ``cursor`` in append order, and the new cursor.

        ``cursor`` 0 is the start; pass the returned cursor back to continue.
        """
        ...

    def head_cursor(self) -> int:
        """The cursor just after the newest event (live updates start there)."""
        ...

    def query(self, query: EventQuery) -> list[StoredEvent]:
        """Events matching the filters, newest first, at most ``query.limit``."""
        ...

    def open_alarms(self) -> list[StoredEvent]:
        """Raised events whose condition has not been cleared yet."""
        ...

    def cleared_alarms(self, limit: int) -> list[tuple[StoredEvent, StoredEvent]]:
        """Recent (raised, cleared) pairs, most recently cleared first."""
        ...

    def acknowledge(self, event_id: str, ack: Ack) -> StoredEvent:
        """Store an acknowledgement of a raised event; raise ``AckError`` when refused."""
        ...


class Projector(Protocol):
    """Projects lon/lat arrays into the site's metric CRS (``ZoneIndex.project_many``)."""

    def project_many(self, lons: FloatArray, lats: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Metric x and y arrays of lon/lat arrays."""
        ...


END = b""  # the message that ends a stream (the console is closing)


class Subscription:
    """One browser's stream of pre-serialised messages; bounded, marked stale on overflow.

    A stale subscriber gets a fresh full snapshot instead of the messages it missed.
    """

    def __init__(self, capacity: int = 64) -> None:
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=capacity)
        self.stale = False
        self.closed = False

    def close(self) -> None:
        """End the stream: ``next`` returns ``END`` from now on."""
        self.closed = True
        self.drain()
        self._queue.put_nowait(END)

    def offer(self, message: bytes) -> None:
        """Queue a message; on overflow drop the backlog and mark the subscriber stale."""
        if self.closed:
            return
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            self.stale = True
            self.drain()

    def drain(self) -> None:
        """Throw away queued messages."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def next(self, timeout_s: float) -> bytes | None:
        """The next message, or None after ``timeout_s`` without one (``END``: closed)."""
        try:
            return self._queue.get(timeout=timeout_s)
        except queue.Empty:
            return None


class ConsoleBackend(Protocol):
    """Everything the HTTP server asks of the engine."""

    def site_document(self) -> JsonObj:
        """Static site description for the map: zones in metric coordinates, terminals."""
        ...

    def snapshot_message(self) -> JsonObj:
        """A full live snapshot (terminals, zones, open alarms) as sent to a new browser."""
        ...

    def subscribe(self) -> Subscription:
        """A new live update stream."""
        ...

    def unsubscribe(self, subscription: Subscription) -> None:
        """End a stream."""
        ...

    def terminal_document(self, terminal_id: str) -> JsonObj | None:
        """Details of one terminal (last fix, zones, recent events, recent track)."""
        ...

    def zone_document(self, zone_id: str) -> JsonObj | None:
        """Details of one zone (limits, count, who is inside, recent events)."""
        ...

    def open_alarms(self) -> list[JsonObj]:
        """Open alarms with acknowledgements."""
        ...

    def alarm_history(self, limit: int) -> list[JsonObj]:
        """Cleared alarms, most recent first."""
        ...

    def query_events(self, query: EventQuery) -> list[JsonObj]:
        """Stored events matching a query."""
        ...

    def acknowledge(self, event_id: str, operator: str, note: str) -> JsonObj:
        """Acknowledge an alarm; raises ``AckError``."""
        ...

    def history(self, from_ms: int, to_ms: int, terminal: str | None) -> JsonObj:
        """Tracks and events in a time range, for replay on the map."""
        ...
