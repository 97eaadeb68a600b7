"""The console's view of the SQLite event store (``fence.store.EventStore``).

Acknowledgements and open alarms go through the store's own API. The console also needs
what the store's API does not offer — events appended after a cursor (to push them to
browsers), time-bounded queries with several types, cleared alarms paired with their
raise — so it reads the documented schema (docs/live.md) over its own read-only
connection, as any other process on the same file would. WAL mode lets it read while
the engine writes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from fence.console.backend import Ack, AckError, AckRefused, EventQuery, StoredEvent

MAX_PAIR_SCAN = 500_000


class EventStoreLike(Protocol):
    """The parts of ``fence.store.EventStore`` the console uses."""

    @property
    def path(self) -> Any:
        """The store's file."""
        ...

    def ack(self, event_id: str, operator: str, note: str, t_ms: int) -> Any:
        """Record an acknowledgement (audit trail)."""
        ...


class StoreAlarms:
    """An ``AlarmStore`` over an ``EventStore`` file (thread-safe)."""

    def __init__(self, store: EventStoreLike) -> None:
        path = str(store.path)
        if path in ("", ":memory:"):
            raise ValueError("the console needs an event store in a file, not in memory")
        self._store = store
        self._db = sqlite3.connect(path, timeout=30.0, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA query_only=ON")
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the console's read connection."""
        with self._lock:
            self._db.close()

    def _rows(self, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _with_acks(self, rows: Sequence[sqlite3.Row], key: str = "id", line: str = "line") -> list[StoredEvent]:
        ids = [row[key] for row in rows]
        acks: dict[str, Ack] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for a in self._rows(
                f"SELECT event_id, operator, note, t_ms FROM acks WHERE event_id IN ({marks}) ORDER BY n",
                chunk,
            ):
                acks.setdefault(a["event_id"], Ack(a["operator"], a["note"], a["t_ms"]))
        return [StoredEvent(json.loads(row[line]), acks.get(row[key])) for row in rows]

    def events_after(self, cursor: int, limit: int) -> tuple[list[StoredEvent], int]:
        """Events appended after ``cursor`` (the store's row number), oldest first."""
        rows = self._rows("SELECT n, id, line FROM events WHERE n > ? ORDER BY n LIMIT ?", (cursor, limit))
        if not rows:
            return [], cursor
        return self._with_acks(rows), int(rows[-1]["n"])

    def head_cursor(self) -> int:
        """The row number of the newest event (0 when empty)."""
        return int(self._rows("SELECT COALESCE(MAX(n), 0) AS n FROM events", ())[0]["n"])

    def query(self, query: EventQuery) -> list[StoredEvent]:
        """Events matching the filters, newest first."""
        where: list[str] = []
        params: list[Any] = []
        if query.since_ms is not None:
            where.append("t_ms >= ?")
            params.append(query.since_ms)
        if query.until_ms is not None:
            where.append("t_ms <= ?")
            params.append(query.until_ms)
        if query.types is not None:
            where.append(f"type IN ({','.join('?' * len(query.types))})")
            params.extend(sorted(t.value for t in query.types))
        if query.zone is not None:
            where.append("zone = ?")
            params.append(query.zone)
        if query.terminal is not None:
            where.append("terminal = ?")
            params.append(query.terminal)
        sql = ("SELECT id, line FROM events" + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY n DESC LIMIT ?")
        return self._with_acks(self._rows(sql, [*params, query.limit]))

    def open_alarms(self) -> list[StoredEvent]:
        """Raised events whose condition is still open, oldest first."""
        return self._with_acks(self._rows(
            "SELECT e.id, e.line FROM open_alarms o JOIN events e ON e.id = o.event_id ORDER BY e.n", ()))

    def cleared_alarms(self, limit: int) -> list[tuple[StoredEvent, StoredEvent]]:
        """(raised, cleared) pairs, most recently cleared first.

        One walk back through the events in append order (by row number, in chunks, no
        index needed): a clear waits for the nearest earlier raise of its condition. The
        walk stops when the ``limit`` newest clears have their raise, or after
        ``MAX_PAIR_SCAN`` events (a clear whose raise is older than that is left out)."""
        wanted: list[tuple[int, str]] = []  # (clear n, cond) newest first
        waiting: dict[str, int] = {}  # cond -> n of the clear waiting for its raise
        raise_of: dict[int, int] = {}  # clear n -> raise n
        cursor, scanned = self.head_cursor() + 1, 0
        while scanned < MAX_PAIR_SCAN and (len(wanted) < limit or waiting):
            rows = self._rows("SELECT n, type, zone, terminal, state FROM events WHERE n < ?"
                              " ORDER BY n DESC LIMIT 5000", (cursor,))
            if not rows:
                break
            for row in rows:
                cond = f"{row['type']}|{row['zone']}|{row['terminal']}"
                if row["state"] == "cleared":
                    if len(wanted) < limit and cond not in waiting:
                        wanted.append((row["n"], cond))
                        waiting[cond] = row["n"]
                elif cond in waiting:
                    raise_of[waiting.pop(cond)] = row["n"]
            cursor, scanned = rows[-1]["n"], scanned + len(rows)
        pairs = [(raise_of[n], n) for n, _ in wanted if n in raise_of]
        by_n = self._events_by_n([n for pair in pairs for n in pair])
        return [(by_n[r], by_n[c]) for r, c in pairs]

    def _events_by_n(self, ns: Sequence[int]) -> dict[int, StoredEvent]:
        found: dict[int, StoredEvent] = {}
        for start in range(0, len(ns), 500):
            chunk = ns[start:start + 500]
            rows = self._rows(f"SELECT n, id, line FROM events WHERE n IN ({','.join('?' * len(chunk))})",
                              chunk)
            found.update(zip((row["n"] for row in rows), self._with_acks(rows), strict=True))
        return found

    def acknowledge(self, event_id: str, ack: Ack) -> StoredEvent:
        """Acknowledge a raised event once; the store keeps the audit trail."""
        rows = self._rows("SELECT id, line, state FROM events WHERE id = ?", (event_id,))
        if not rows:
            raise AckError(AckRefused.UNKNOWN_EVENT, event_id)
        if rows[0]["state"] != "raised":
            raise AckError(AckRefused.NOT_RAISED, event_id)
        if self._rows("SELECT 1 FROM acks WHERE event_id = ?", (event_id,)):
            raise AckError(AckRefused.ALREADY, event_id)
        self._store.ack(event_id, ack.operator, ack.note, ack.t_ms)
        return self._with_acks(rows)[0]
