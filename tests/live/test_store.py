"""The SQLite event store: dedup by id, open alarms, acks, queries, outbox order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from events.model import EventState, EventType
from fence.store import EventRecord, EventStore, StoreError


def rec(n: int, type_: EventType, state: EventState, zone: str | None, terminal: str | None,
        t_ms: int) -> EventRecord:
    """A stored event with a line like the engine writes."""
    event_id = f"r1-{n:012d}-{type_.value}-{state.value}"
    obj = {"t": t_ms, "type": type_.value, "state": state.value, "zone": zone,
           "terminal": terminal, "id": event_id}
    return EventRecord(event_id, t_ms, type_, state, zone, terminal, None, None, json.dumps(obj))


T, R, C = EventType.TRESPASS, EventState.RAISED, EventState.CLEARED


def test_add_is_idempotent_and_queues_outbox_once(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "e.db")
    first = [rec(1, T, R, "TANK", "W-1", 1000), rec(2, EventType.OFFLINE, R, None, "W-2", 1500)]
    assert store.add(first, ["mqtt", "hook"], 2000) == first
    again = first + [rec(3, T, C, "TANK", "W-1", 3000)]
    new = store.add(again, ["mqtt", "hook"], 4000)
    assert [r.id for r in new] == [again[2].id]
    assert store.count() == 3
    assert store.outbox_pending() == {"mqtt": (3, 2000), "hook": (3, 2000)}
    items = store.outbox_due("mqtt", 5000)
    assert [i.event_id for i in items] == [r.id for r in again]


def test_open_alarms_follow_raise_and_clear(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "e.db")
    store.add([rec(1, T, R, "TANK", "W-1", 1000), rec(2, T, R, "TANK", "W-2", 1100)], [], 0)
    assert [e.record.terminal for e in store.open_alarms()] == ["W-1", "W-2"]
    store.add([rec(3, T, C, "TANK", "W-1", 2000)], [], 0)
    assert [e.record.terminal for e in store.open_alarms()] == ["W-2"]
    open_ids = [e.record.id for e in store.query(open_only=True)]
    assert open_ids == [rec(2, T, R, "TANK", "W-2", 1100).id]


def test_query_filters_and_limit_keep_newest(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "e.db")
    store.add([
        rec(1, T, R, "TANK", "W-1", 1000),
        rec(2, EventType.LOITERING, R, "GATE", "W-2", 2000),
        rec(3, T, C, "TANK", "W-1", 3000),
    ], [], 0)
    assert [e.record.t_ms for e in store.query(since_ms=2000)] == [2000, 3000]
    assert [e.record.t_ms for e in store.query(zone="TANK")] == [1000, 3000]
    assert [e.record.type for e in store.query(type=EventType.LOITERING)] == [EventType.LOITERING]
    assert [e.record.t_ms for e in store.query(limit=2)] == [2000, 3000]
    with pytest.raises(StoreError, match="limit"):
        store.query(limit=0)


def test_acks_are_an_audit_trail(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "e.db")
    first = rec(1, T, R, "TANK", "W-1", 1000)
    store.add([first], [], 0)
    store.ack(first.id, "duty-officer", "sent a guard", 5000)
    store.ack(first.id, "shift-lead", "confirmed", 6000)
    got = store.get(first.id)
    assert got.acked and [a.operator for a in got.acks] == ["duty-officer", "shift-lead"]
    assert [a.note for a in store.acks()] == ["sent a guard", "confirmed"]
    with pytest.raises(StoreError, match="no event"):
        store.ack("nope", "x", "", 1)
    with pytest.raises(StoreError, match="operator"):
        store.ack(first.id, "  ", "", 1)
    # another process (here: another connection) sees the same trail
    assert len(EventStore(tmp_path / "e.db").acks(first.id)) == 2


def test_outbox_retry_holds_the_head(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "e.db")
    store.add([rec(1, T, R, "A", "W-1", 1), rec(2, T, R, "B", "W-1", 2)], ["s"], 0)
    head = store.outbox_due("s", 0)[0]
    store.outbox_retry(head, 10_000, "down")
    assert store.outbox_due("s", 9_999) == []
    due = store.outbox_due("s", 10_000)
    assert due[0].attempts == 1 and len(due) == 2
    store.outbox_done(due)
    assert store.outbox_pending() == {}


def test_not_a_store_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="bad.db"):
        EventStore(bad)
