"""The SQLite event store: events, acknowledgements, open alarms and the sink outbox.

One file (WAL mode) holds everything an operator or a sink needs after a restart:

- ``events``: every event once, keyed by a deterministic id (``<run>-<seq>-<type>-<state>``):
  an event re-derived after a crash has the same id and ``INSERT OR IGNORE`` drops it.
- ``acks``: the acknowledgement audit trail (operator, note, time); never updated.
- ``open_alarms``: one row per condition that is raised and not yet cleared.
- ``outbox``: one row per (sink, event) still to deliver (see ``fence.sinks``). Rows are
  written in the same transaction as the event, only when the event is new, so a
  re-derived event is never delivered twice by the store's own doing.

The schema is documented in docs/live.md. Each ``EventStore`` owns one connection guarded
by a lock, so it may be shared between threads; other processes (``fence events``, the
console) open their own ``EventStore`` on the same file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from events.model import EventState, EventType

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    n         INTEGER PRIMARY KEY AUTOINCREMENT,
    id        TEXT NOT NULL UNIQUE,
    t_ms      INTEGER NOT NULL,
    type      TEXT NOT NULL,
    state     TEXT NOT NULL,
    zone      TEXT,
    terminal  TEXT,
    count     INTEGER,
    lim       INTEGER,
    line      TEXT NOT NULL,
    stored_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_t ON events (t_ms);
CREATE INDEX IF NOT EXISTS events_zone ON events (zone, t_ms);
CREATE INDEX IF NOT EXISTS events_type ON events (type, t_ms);
CREATE TABLE IF NOT EXISTS acks (
    n        INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL REFERENCES events (id),
    operator TEXT NOT NULL,
    note     TEXT NOT NULL,
    t_ms     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS acks_event ON acks (event_id);
CREATE TABLE IF NOT EXISTS open_alarms (
    cond     TEXT PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES events (id),
    t_ms     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    n          INTEGER PRIMARY KEY AUTOINCREMENT,
    sink       TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    type       TEXT NOT NULL,
    line       TEXT NOT NULL,
    queued_ms  INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_ms    INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    UNIQUE (sink, event_id)
);
CREATE INDEX IF NOT EXISTS outbox_sink ON outbox (sink, n);
"""


class StoreError(ValueError):
    """A request the store refuses (unknown event id, empty operator, bad file)."""


@dataclass(frozen=True, slots=True)
class EventRecord:
    """An event as the store keeps it: its id, the contract fields and its JSON line."""

    id: str
    t_ms: int
    type: EventType
    state: EventState
    zone: str | None
    terminal: str | None
    count: int | None
    limit: int | None
    line: str

    def __post_init__(self) -> None:
        if not self.id:
            raise StoreError("event id is empty")
        if not self.line.startswith("{"):
            raise StoreError(f"event {self.id}: line is not a JSON object")

    @property
    def cond(self) -> str:
        """The condition key (type, zone, terminal) as text, for the open-alarm table."""
        return json.dumps([self.type.value, self.zone, self.terminal])

    def obj(self) -> dict[str, Any]:
        """The event's JSON object (contract keys plus extras)."""
        value: dict[str, Any] = json.loads(self.line)
        return value


@dataclass(frozen=True, slots=True)
class Ack:
    """One acknowledgement: who, when, and what they wrote."""

    event_id: str
    operator: str
    note: str
    t_ms: int


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event read back from the store, with its acknowledgements and open status."""

    record: EventRecord
    stored_ms: int
    open: bool
    acks: tuple[Ack, ...]

    @property
    def acked(self) -> bool:
        """True when at least one operator acknowledged the event."""
        return bool(self.acks)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One pending delivery of one event to one sink."""

    n: int
    sink: str
    event_id: str
    type: EventType
    line: str
    queued_ms: int
    attempts: int


_EVENT_COLUMNS = "id, t_ms, type, state, zone, terminal, count, lim, line, stored_ms"


def _record_from_row(row: sqlite3.Row) -> EventRecord:
    return EventRecord(
        id=row["id"],
        t_ms=row["t_ms"],
        type=EventType(row["type"]),
        state=EventState(row["state"]),
        zone=row["zone"],
        terminal=row["terminal"],
        count=row["count"],
        limit=row["lim"],
        line=row["line"],
    )


class EventStore:
    """The event store on one SQLite file; safe to share between threads."""

    def __init__(self, path: str | Path, *, timeout_s: float = 30.0,
                 autocheckpoint: bool = True) -> None:
        """Open (and create) the store. ``autocheckpoint=False`` leaves WAL checkpoints
        (which fsync) to explicit ``checkpoint()`` calls, e.g. from a background thread."""
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(
                str(path), timeout=timeout_s, check_same_thread=False, isolation_level=None
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            if not autocheckpoint:
                self._db.execute("PRAGMA wal_autocheckpoint=0")
            self._db.executescript(SCHEMA)
            self._check_version()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: not a usable event store: {exc}") from None
        self._lock = threading.RLock()

    def _check_version(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None:
            self._db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
            )
        elif row["value"] != str(SCHEMA_VERSION):
            raise StoreError(
                f"{self.path}: schema version {row['value']}, this engine reads {SCHEMA_VERSION}"
            )

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database file where no reader needs it.

        Runs on a connection of its own, so writers through this store are not held up
        while it fsyncs."""
        db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
        try:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            db.close()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- writing (the evaluator thread) ---------------------------------------------

    def add(self, records: Sequence[EventRecord], sinks: Sequence[str], now_ms: int) -> list[EventRecord]:
        """Store events in one transaction; return those that were new.

        A new event also updates the open alarms and queues one outbox row per sink.
        An event whose id is already stored (re-derived after a restart) changes nothing.
        """
        new: list[EventRecord] = []
        if not records:
            return new
        with self._tx() as db:
            for rec in records:
                cur = db.execute(
                    f"INSERT OR IGNORE INTO events ({_EVENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        rec.id, rec.t_ms, rec.type.value, rec.state.value, rec.zone,
                        rec.terminal, rec.count, rec.limit, rec.line, now_ms,
                    ),
                )
                if cur.rowcount != 1:
                    continue
                new.append(rec)
                if rec.state is EventState.RAISED:
                    db.execute(
                        "INSERT OR REPLACE INTO open_alarms (cond, event_id, t_ms) VALUES (?,?,?)",
                        (rec.cond, rec.id, rec.t_ms),
                    )
                else:
                    db.execute("DELETE FROM open_alarms WHERE cond = ?", (rec.cond,))
                db.executemany(
                    "INSERT OR IGNORE INTO outbox (sink, event_id, type, line, queued_ms, next_ms)"
                    " VALUES (?,?,?,?,?,0)",
                    [(sink, rec.id, rec.type.value, rec.line, now_ms) for sink in sinks],
                )
        return new

    def get_meta(self, key: str) -> str | None:
        """A value from the meta table (None when absent)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        """Set a value in the meta table."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- reading (fence events, the console) ------------------------------------------

    def query(
        self,
        since_ms: int | None = None,
        type: EventType | None = None,
        zone: str | None = None,
        open_only: bool = False,
        limit: int = 1000,
        terminal: str | None = None,
    ) -> list[StoredEvent]:
        """Events in store order (oldest first), filtered; at most ``limit`` of the newest.

        ``open_only`` keeps raised events whose condition is still open.
        """
        if limit <= 0:
            raise StoreError(f"limit must be > 0, got {limit}")
        where: list[str] = []
        params: list[Any] = []
        if since_ms is not None:
            where.append("e.t_ms >= ?")
            params.append(since_ms)
        if type is not None:
            where.append("e.type = ?")
            params.append(type.value)
        if zone is not None:
            where.append("e.zone = ?")
            params.append(zone)
        if terminal is not None:
            where.append("e.terminal = ?")
            params.append(terminal)
        if open_only:
            where.append("o.event_id IS NOT NULL")
        sql = (
            f"SELECT {', '.join('e.' + c for c in _EVENT_COLUMNS.split(', '))},"
            " o.event_id AS open_id FROM events e"
            " LEFT JOIN open_alarms o ON o.event_id = e.id"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY e.n DESC LIMIT ?"
        )
        params.append(limit)
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
            acks = self._acks_for([row["id"] for row in rows])
        rows.reverse()
        return [
            StoredEvent(
                record=_record_from_row(row),
                stored_ms=row["stored_ms"],
                open=row["open_id"] is not None,
                acks=acks.get(row["id"], ()),
            )
            for row in rows
        ]

    def _acks_for(self, ids: Sequence[str]) -> dict[str, tuple[Ack, ...]]:
        found: dict[str, list[Ack]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(
                f"SELECT event_id, operator, note, t_ms FROM acks WHERE event_id IN ({marks})"
                " ORDER BY n",
                chunk,
            ):
                found.setdefault(row["event_id"], []).append(
                    Ack(row["event_id"], row["operator"], row["note"], row["t_ms"])
                )
        return {key: tuple(value) for key, value in found.items()}

    def get(self, event_id: str) -> StoredEvent:
        """One event by id (StoreError when unknown)."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {', '.join('e.' + c for c in _EVENT_COLUMNS.split(', '))},"
                " o.event_id AS open_id FROM events e"
                " LEFT JOIN open_alarms o ON o.event_id = e.id WHERE e.id = ?",
                (event_id,),
            ).fetchone()
            if row is None:
                raise StoreError(f"no event with id {event_id!r}")
            acks = self._acks_for([event_id])
        return StoredEvent(_record_from_row(row), row["stored_ms"], row["open_id"] is not None,
                           acks.get(event_id, ()))

    def open_alarms(self) -> list[StoredEvent]:
        """The raised events whose condition is not cleared yet, oldest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {', '.join('e.' + c for c in _EVENT_COLUMNS.split(', '))}"
                " FROM open_alarms o JOIN events e ON e.id = o.event_id ORDER BY e.n"
            ).fetchall()
            acks = self._acks_for([row["id"] for row in rows])
        return [
            StoredEvent(_record_from_row(row), row["stored_ms"], True, acks.get(row["id"], ()))
            for row in rows
        ]

    def ack(self, event_id: str, operator: str, note: str, t_ms: int) -> Ack:
        """Record an acknowledgement of an event (an audit trail: never changed later)."""
        if not operator.strip():
            raise StoreError("operator is empty")
        with self._tx() as db:
            if db.execute("SELECT 1 FROM events WHERE id = ?", (event_id,)).fetchone() is None:
                raise StoreError(f"no event with id {event_id!r}")
            db.execute(
                "INSERT INTO acks (event_id, operator, note, t_ms) VALUES (?,?,?,?)",
                (event_id, operator.strip(), note, t_ms),
            )
        return Ack(event_id, operator.strip(), note, t_ms)

    def acks(self, event_id: str | None = None) -> list[Ack]:
        """The acknowledgement trail, oldest first (of one event, or of all)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT event_id, operator, note, t_ms FROM acks"
                + (" WHERE event_id = ?" if event_id is not None else "")
                + " ORDER BY n",
                (event_id,) if event_id is not None else (),
            ).fetchall()
        return [Ack(r["event_id"], r["operator"], r["note"], r["t_ms"]) for r in rows]

    def count(self) -> int:
        """The number of stored events."""
        with self._lock:
            row = self._db.execute("SELECT COUNT(*) AS n FROM events").fetchone()
        return int(row["n"])

    # -- the outbox (sink threads) -----------------------------------------------------

    def outbox_due(self, sink: str, now_ms: int, limit: int = 100) -> list[OutboxItem]:
        """The oldest pending rows of a sink, in order, if the first one is due at now_ms.

        Delivery keeps event order per sink: when the head row waits for a retry, nothing
        behind it is handed out.
        """
        with self._lock:
            rows = self._db.execute(
                "SELECT n, sink, event_id, type, line, queued_ms, attempts, next_ms FROM outbox"
                " WHERE sink = ? ORDER BY n LIMIT ?",
                (sink, limit),
            ).fetchall()
        if not rows or rows[0]["next_ms"] > now_ms:
            return []
        return [
            OutboxItem(r["n"], r["sink"], r["event_id"], EventType(r["type"]), r["line"],
                       r["queued_ms"], r["attempts"])
            for r in rows
        ]

    def outbox_done(self, items: Sequence[OutboxItem]) -> None:
        """Remove delivered rows."""
        if not items:
            return
        with self._tx() as db:
            db.executemany("DELETE FROM outbox WHERE n = ?", [(item.n,) for item in items])

    def outbox_retry(self, item: OutboxItem, next_ms: int, error: str) -> None:
        """Count a failed attempt and set when to try the row again."""
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_ms = ?, last_error = ? WHERE n = ?",
                (next_ms, error[:500], item.n),
            )

    def outbox_pending(self) -> dict[str, tuple[int, int | None]]:
        """Per sink: rows waiting and the queued time of the oldest (for the lag metric)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT sink, COUNT(*) AS n, MIN(queued_ms) AS oldest FROM outbox GROUP BY sink"
            ).fetchall()
        return {r["sink"]: (int(r["n"]), r["oldest"]) for r in rows}
