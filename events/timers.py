"""Timers: deadlines keyed by what they are for, fired in the contract's kind order.

A timer is armed under a key (its kind plus a terminal and/or zone); arming again
replaces it, cancelling removes it. Re-arming to a later deadline (the offline timer,
on every fix) does not push a heap entry: the queued entry is moved on when it comes
to the top. So the heap stays as large as the number of armed timers, and ties
(same deadline and kind) fire in the order they were last armed.
"""

from __future__ import annotations

import heapq
from enum import IntEnum


class TimerKind(IntEnum):
    """Timer kinds, valued by their order inside a step (contract section 2)."""

    OFFLINE = 0
    PERMIT_EDGE = 1
    STAFFED_EDGE = 2
    LOITERING = 3
    STILLNESS = 4
    # Occupancy holds and the start-up grace are due at the occupancy evaluation that
    # closes the step; they only mark zones for it.
    OVER_HOLD = 5
    UNDER_HOLD = 6
    GRACE = 7

    # Timer keys are hashed on every fix; Enum's own hash is a Python-level call.
    __hash__ = int.__hash__


TimerKey = tuple[TimerKind, str, str]  # (kind, terminal id or "", zone id or "")
_Entry = tuple[int, int, int, TimerKey]  # (deadline, kind, arming order, key)


class TimerRecord:
    """One key's timer: armed deadline (None once cancelled or fired), arming order, and
    the deadline of its live heap entry. One record per key keeps re-arming to one dict
    probe; a caller holding the record (``arm`` returns it) re-arms with no probe at all
    (``rearm``) for as long as ``deadline_ms`` is not None."""

    __slots__ = ("deadline_ms", "order", "queued_ms")

    def __init__(self, deadline_ms: int, order: int) -> None:
        self.deadline_ms: int | None = deadline_ms
        self.order = order
        self.queued_ms = deadline_ms


class TimerQueue:
    """Armed timers with their deadlines, in deadline then kind order."""

    __slots__ = ("_timers", "_heap", "_counter", "_armed")

    def __init__(self) -> None:
        self._timers: dict[TimerKey, TimerRecord] = {}  # armed, or cancelled with a queued entry
        self._heap: list[_Entry] = []
        self._counter = 0
        self._armed = 0

    def arm(self, key: TimerKey, deadline_ms: int) -> TimerRecord:
        """Arm (or re-arm) the timer ``key`` at ``deadline_ms``; its record."""
        timer = self._timers.get(key)
        if timer is None:
            self._counter += 1
            timer = self._timers[key] = TimerRecord(deadline_ms, self._counter)
            self._armed += 1
            heapq.heappush(self._heap, (deadline_ms, key[0], self._counter, key))
            return timer
        if timer.deadline_ms is None:
            self._armed += 1
        self.rearm(timer, key, deadline_ms)
        return timer

    def rearm(self, timer: TimerRecord, key: TimerKey, deadline_ms: int) -> None:
        """Re-arm the live record ``timer`` of ``key`` (its ``deadline_ms`` is not None)."""
        self._counter += 1
        timer.deadline_ms = deadline_ms
        timer.order = self._counter
        if timer.queued_ms > deadline_ms:
            timer.queued_ms = deadline_ms
            heapq.heappush(self._heap, (deadline_ms, key[0], self._counter, key))

    def cancel(self, key: TimerKey) -> None:
        """Cancel the timer ``key`` if armed."""
        timer = self._timers.get(key)
        if timer is not None and timer.deadline_ms is not None:
            timer.deadline_ms = None
            self._armed -= 1

    def deadline(self, key: TimerKey) -> int | None:
        """The armed deadline of ``key``, or None."""
        timer = self._timers.get(key)
        return None if timer is None else timer.deadline_ms

    def _settle_top(self) -> None:
        """Make the heap top a live entry matching its key's armed deadline and order."""
        heap = self._heap
        while heap:
            deadline_ms, kind, order, key = heap[0]
            timer = self._timers.get(key)
            if timer is None or timer.queued_ms != deadline_ms:
                heapq.heappop(heap)  # superseded by an earlier entry of the same key
                continue
            armed = timer.deadline_ms
            if armed is None:
                heapq.heappop(heap)
                del self._timers[key]
                continue
            if armed == deadline_ms and timer.order == order:
                return
            heapq.heapreplace(heap, (armed, kind, timer.order, key))
            timer.queued_ms = armed

    @property
    def heap(self) -> list[_Entry]:
        """The queued entries, read-only for callers: ``heap[0][0]``, when there is an
        entry, is never later than the next deadline (stale entries are settled lazily)."""
        return self._heap

    def none_due(self, at_ms: int) -> bool:
        """True when no armed timer has a deadline at or before ``at_ms``.

        Looks at the heap top first: queued deadlines are never later than armed ones, so
        a top after ``at_ms`` answers without settling stale entries.
        """
        heap = self._heap
        if not heap or heap[0][0] > at_ms:
            return True
        self._settle_top()
        return not heap or heap[0][0] > at_ms

    def next_deadline(self) -> int | None:
        """The earliest armed deadline, or None."""
        self._settle_top()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, at_ms: int) -> TimerKey | None:
        """Remove and return the due timer (deadline <= at_ms) that comes first in kind order.

        Inside one step every due timer fires in kind order (contract section 2), whatever
        its own deadline; ties keep deadline then arming order.
        """
        heap = self._heap
        due: list[_Entry] = []
        while True:
            self._settle_top()
            if not heap or heap[0][0] > at_ms:
                break
            due.append(heapq.heappop(heap))
        if not due:
            return None
        first = min(due, key=lambda e: (e[1], e[0], e[2]))
        for entry in due:
            if entry is not first:
                heapq.heappush(heap, entry)
        key = first[3]
        self._timers.pop(key).deadline_ms = None  # a record held elsewhere is now dead
        self._armed -= 1
        return key

    def items(self) -> list[tuple[TimerKey, int]]:
        """Every armed timer with its deadline, in arming order (for snapshots).

        Re-arming them in this order reproduces the firing order of ties exactly.
        """
        armed = [(t.order, key, t.deadline_ms) for key, t in self._timers.items() if t.deadline_ms is not None]
        armed.sort(key=lambda item: item[0])
        return [(key, deadline_ms) for _, key, deadline_ms in armed]

    def __len__(self) -> int:
        return self._armed
