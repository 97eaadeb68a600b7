"""The in-process backend over a real Evaluator and a real SQLite store: batching into one
message per period, resynchronising a slow browser, ending streams on close, and
broadcasting acknowledgements to every connected console."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from events.evaluator import Evaluator
from events.output import event_to_obj
from fence.console.backend import END, Ack, Subscription
from fence.console.config import ConsoleConfig
from fence.console.live import InProcessBackend
from fence.console.storeview import StoreAlarms
from fence.store import EventRecord, EventStore
from tests.console.support import OPERATOR, Client, Rig, fix, running_rig, write_site
from tests.support.polling import wait_until
from zones.index import ZoneIndex
from zones.site import load_site


class Feeder:
    """A real evaluator whose events go to a real store, like the runtime does."""

    def __init__(self, folder: Path) -> None:
        self.site = load_site(write_site(folder))
        self.index = ZoneIndex.build(self.site)
        self.evaluator = Evaluator(self.site, self.index)
        self.store = EventStore(folder / "events.db")

    def feed(self, *fixes: Any) -> None:
        for f in fixes:
            events = self.evaluator.feed(f)
            records = []
            for e in events:
                obj = event_to_obj(e, self.site)
                records.append(EventRecord(obj["id"], e.t_ms, e.type, e.state, e.zone, e.terminal,
                                           e.count, e.limit, json.dumps(obj)))
            self.store.add(records, [], f.t_ms)


@pytest.fixture
def feeder(tmp_path: Path) -> Iterator[tuple[Feeder, InProcessBackend]]:
    feeder = Feeder(tmp_path)
    alarms = StoreAlarms(feeder.store)
    backend = InProcessBackend(feeder.site, feeder.index, alarms, feeder.evaluator.view, None,
                               ConsoleConfig())
    yield feeder, backend
    backend.stop()
    alarms.close()
    feeder.store.close()


def messages(sub: Subscription) -> list[dict[str, Any]]:
    out = []
    while (raw := sub.next(0.01)) is not None:
        out.append(json.loads(raw))
    return out


def test_one_batched_message_per_period_with_only_what_changed(feeder: tuple[Feeder, InProcessBackend]) -> None:
    f, backend = feeder
    t = 1_800_000_000_000
    f.feed(fix("T-001", 200, 10, t), fix("T-002", 210, 10, t))
    backend.pump()
    sub = backend.subscribe()
    first = messages(sub)
    assert [m["type"] for m in first] == ["snapshot"]
    assert {r[0] for r in first[0]["terminals"]} == {"T-001", "T-002"}
    for i in range(1, 6):  # five fixes of one terminal within one period
        f.feed(fix("T-001", 200 + i, 10, t + 1000 * i))
    backend.pump()
    got = messages(sub)
    assert [m["type"] for m in got] == ["delta"]
    assert [r[0] for r in got[0]["terminals"]] == ["T-001"]
    assert got[0]["terminals"][0][4] == t + 5000
    backend.pump()  # nothing changed: nothing sent
    assert messages(sub) == []


def test_events_are_pushed_once_in_store_order(feeder: tuple[Feeder, InProcessBackend]) -> None:
    f, backend = feeder
    backend.pump()
    sub = backend.subscribe()
    messages(sub)
    t = 1_800_000_000_000
    f.feed(fix("P-201", 50, 130, t), fix("P-201", 50, 50, t + 20_000), fix("P-201", 50, 140, t + 40_000))
    backend.pump()
    events = [e for m in messages(sub) if m["type"] == "events" for e in m["events"]]
    assert [(e["type"], e["state"]) for e in events] == [("trespass", "raised"), ("trespass", "cleared")]
    assert events[0]["severity"] == "critical" and events[0]["ack"] is None
    backend.pump()
    assert all(m["type"] != "events" for m in messages(sub))


def test_a_slow_subscriber_is_resynchronised_with_a_snapshot(feeder: tuple[Feeder, InProcessBackend]) -> None:
    f, backend = feeder
    sub = backend.subscribe()
    t = 1_800_000_000_000
    for i in range(80):  # more periods than the subscriber's queue holds, nobody reading
        f.feed(fix("T-001", 200 + (i % 2), 10, t + 1000 * i))
        backend.pump()
    got = messages(sub)
    assert got[0]["type"] == "snapshot"  # replaces the backlog it could not keep up with
    assert len(got) < 80
    assert all(m["type"] == "delta" for m in got[1:])
    assert got[-1]["terminals"][0][4] == t + 79_000


def test_close_ends_streams(feeder: tuple[Feeder, InProcessBackend]) -> None:
    _, backend = feeder
    sub = backend.subscribe()
    messages(sub)
    backend.stop()
    assert sub.next(1.0) == END
    sub.offer(b"late")
    assert sub.next(0.05) in (END, None)


def test_acknowledgement_is_stored_and_refused_twice(feeder: tuple[Feeder, InProcessBackend]) -> None:
    from fence.console.backend import AckError, AckRefused

    f, backend = feeder
    t = 1_800_000_000_000
    f.feed(fix("P-201", 50, 130, t), fix("P-201", 50, 50, t + 20_000))
    sub = backend.subscribe()
    messages(sub)
    (alarm,) = backend.open_alarms()
    obj = backend.acknowledge(alarm["id"], "duty-operator", "on it")
    assert obj["ack"]["operator"] == "duty-operator"
    assert [m["type"] for m in messages(sub)] == ["ack"]
    assert [(a.operator, a.note) for a in f.store.acks(alarm["id"])] == [("duty-operator", "on it")]
    with pytest.raises(AckError) as info:
        StoreAlarms(f.store).acknowledge(alarm["id"], Ack("other-operator", "", 1))
    assert info.value.reason is AckRefused.ALREADY


def test_ack_reaches_every_connected_console(tmp_path: Path) -> None:
    import http.client

    rig: Rig
    with running_rig(tmp_path) as rig:
        op = Client(rig.base)
        op.login(*OPERATOR)
        other = Client(rig.base)
        other.login(*OPERATOR)
        t = int(time.time() * 1000)
        rig.deliver(fix("P-203", 50, 130, t - 40_000), fix("P-203", 50, 50, t - 20_000))
        alarm = wait_until(lambda: op.get("/api/alarms")[1]["alarms"])[0]
        conn = http.client.HTTPConnection(other.host, other.port, timeout=10)
        conn.request("GET", "/api/stream", headers={"Cookie": other.cookie or ""})
        resp = conn.getresponse()
        assert op.post(f"/api/alarms/{alarm['id']}/ack", {"note": "seen"})[0] == 200
        deadline = time.monotonic() + 5
        ack = None
        while ack is None and time.monotonic() < deadline:
            line = resp.readline()
            if line.startswith(b"data: "):
                msg = json.loads(line[6:])
                ack = msg if msg["type"] == "ack" else None
        conn.close()
        assert ack is not None and ack["id"] == alarm["id"] and ack["ack"]["note"] == "seen"


def test_a_terminal_leaving_the_view_is_sent_as_gone(tmp_path: Path) -> None:
    import dataclasses

    f = Feeder(tmp_path)
    t = 1_800_000_000_000
    f.feed(fix("T-001", 200, 10, t), fix("T-002", 210, 10, t))
    full = f.evaluator.view()
    current = [full]
    alarms = StoreAlarms(f.store)
    backend = InProcessBackend(f.site, f.index, alarms, lambda: current[0], None, ConsoleConfig())
    try:
        backend.pump()
        sub = backend.subscribe()
        messages(sub)
        current[0] = dataclasses.replace(full, terminals=tuple(x for x in full.terminals if x.id != "T-002"))
        backend.pump()
        (delta,) = messages(sub)
        assert delta["gone"] == ["T-002"] and delta["terminals"] == []
        assert backend.terminal_document("T-002") is not None  # still registered, no live state
        assert backend.terminal_document("T-002")["live"] is None  # type: ignore[index]
    finally:
        backend.stop()
        alarms.close()
        f.store.close()


def test_cleared_alarms_pair_each_clear_with_its_raise(feeder: tuple[Feeder, InProcessBackend]) -> None:
    f, _ = feeder
    t = 1_800_000_000_000
    out, inside = (50, 130), (50, 50)
    steps = [("P-201", out), ("P-202", out), ("P-201", inside), ("P-202", inside), ("P-201", out),
             ("P-201", inside), ("P-202", out), ("P-201", out)]
    for i, (who, (x, y)) in enumerate(steps):
        f.feed(fix(who, x, y, t + 20_000 * i))
    alarms = StoreAlarms(f.store)
    try:
        pairs = alarms.cleared_alarms(50)
        got = [(r.obj["terminal"], r.obj["t"], c.obj["t"]) for r, c in pairs if r.obj["type"] == "trespass"]
        from gnss.instant import format_instant as at

        assert got == [
            ("P-201", at(t + 100_000), at(t + 140_000)),
            ("P-202", at(t + 60_000), at(t + 120_000)),
            ("P-201", at(t + 40_000), at(t + 80_000)),
        ]
        assert all(r.obj["state"] == "raised" and c.obj["state"] == "cleared"
                   and (r.obj["type"], r.obj["zone"], r.obj["terminal"])
                   == (c.obj["type"], c.obj["zone"], c.obj["terminal"]) for r, c in pairs)
        newest = max(pairs, key=lambda p: (p[1].obj["t"], p[1].event_id))
        assert [c.event_id for _, c in alarms.cleared_alarms(1)] == [newest[1].event_id]
    finally:
        alarms.close()
