"""The in-process console backend: the evaluator's live state plus the event store.

A pump thread polls the state source every ``update_ms``, diffs it against the last
state, reads the events appended to the store since its cursor, and broadcasts one
batched message per period to every browser. Browsers therefore get at most a few
messages a second however many terminals move, and a slow browser is resynchronised
with a full snapshot instead of slowing anyone down.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from events.model import SEVERITY, EventType
from events.view import EvaluatorView, TerminalView, ZoneView
from fence.console.backend import (
    Ack,
    AlarmStore,
    EventQuery,
    JsonObj,
    Projector,
    StoredEvent,
    Subscription,
)
from fence.console.config import ConsoleConfig
from fence.console.server import ConsoleServer
from fence.console.sitedoc import site_document
from fence.console.storeview import EventStoreLike, StoreAlarms
from fence.console.tracks import read_range
from zones.model import Site

log = logging.getLogger("fence.console")

StateSource = Callable[[], EvaluatorView]
MAX_HISTORY_POINTS = 200_000
MAX_HISTORY_RANGE_MS = 24 * 3600 * 1000


def event_json(stored: StoredEvent) -> JsonObj:
    """The browser form of a stored event: the output object (which carries ``severity``,
    added from the event type when an older line lacks it) and ``ack``."""
    obj = dict(stored.obj)
    obj.setdefault("severity", SEVERITY[EventType(obj["type"])])
    ack = stored.ack
    obj["ack"] = None if ack is None else {"operator": ack.operator, "note": ack.note, "t_ms": ack.t_ms}
    return obj


def _round_cm(value: float) -> float:
    """Metres rounded to the centimetre (``round(v, 2)`` is several times slower)."""
    return math.floor(value * 100.0 + 0.5) / 100.0


def _cm(value: float | None) -> float | None:
    """``_round_cm`` of a coordinate that may be missing."""
    return None if value is None else _round_cm(value)


def _terminal_row(t: TerminalView) -> list[Any]:
    """Compact wire form: [id, x, y, quality, fix_t_ms, online, zones] (metric x/y)."""
    return [
        t.id,
        _cm(t.x_m),
        _cm(t.y_m),
        t.quality,
        t.fix_t_ms,
        1 if t.online else 0,
        list(t.zones),
    ]


def _shown(t: TerminalView) -> tuple[int | None, bool, tuple[str, ...], int | None]:
    """What the page shows of a terminal that can change: a new accepted fix (time, hence
    position and quality), online state, zones."""
    return (t.fix_t_ms, t.online, t.zones, t.quality)


def _zone_row(z: ZoneView) -> list[Any]:
    """Compact wire form: [id, count, members, overcrowded, undermanned]."""
    return [z.id, z.count, list(z.members), 1 if z.overcrowded else 0, 1 if z.undermanned else 0]


def _encode(message: JsonObj) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode("utf-8")


class RecentTracks:
    """The last minutes of each terminal's positions (metric), sampled, in flat arrays."""

    def __init__(self, window_ms: int) -> None:
        self.window_ms = window_ms
        self._points: dict[str, array[float]] = {}

    def sample_ms(self) -> int:
        """Sampling period: 1 s, growing with the fleet to bound memory (5 s at 10,000)."""
        return max(1000, len(self._points) // 2)

    def add(self, terminal: str, t_ms: int, x: float, y: float, sample_ms: int) -> None:
        """Record a position unless the last one is less than ``sample_ms`` older."""
        pts = self._points.get(terminal)
        if pts is None:
            pts = self._points[terminal] = array("d")
        elif t_ms - pts[-3] < sample_ms:
            return
        pts.extend((float(t_ms), x, y))
        cut = 0
        while cut < len(pts) and pts[cut] < t_ms - self.window_ms:
            cut += 3
        if cut:
            del pts[:cut]

    def track(self, terminal: str) -> list[list[float]]:
        """[[t_ms, x, y], ...] oldest first."""
        pts = self._points.get(terminal)
        if pts is None:
            return []
        return [[pts[i], _round_cm(pts[i + 1]), _round_cm(pts[i + 2])] for i in range(0, len(pts), 3)]

    def forget(self, terminal: str) -> None:
        """Drop a terminal that left the live state."""
        self._points.pop(terminal, None)


class InProcessBackend:
    """A ``ConsoleBackend`` over a state source, an ``AlarmStore`` and track recordings."""

    def __init__(
        self,
        site: Site,
        projector: Projector,
        store: AlarmStore,
        state_source: StateSource,
        tracks_dir: Path | None,
        config: ConsoleConfig,
    ) -> None:
        self.site = site
        self._projector = projector
        self._store = store
        self._state_source = state_source
        self._tracks_dir = tracks_dir
        self._config = config
        self._site_doc = site_document(site)
        self._lock = threading.Lock()
        self._subs: list[Subscription] = []
        self._terminals: dict[str, TerminalView] = {}
        self._shown: dict[str, tuple[int | None, bool, tuple[str, ...], int | None]] = {}
        self._zones: dict[str, ZoneView] = {}
        self._clock_ms: int | None = None
        self._cursor = store.head_cursor()
        self._recent = RecentTracks(int(config.track_minutes * 60_000))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="console-pump", daemon=True)
        self.pump_s: deque[float] = deque(maxlen=600)  # recent pump durations, for figures

    # ---- pump -------------------------------------------------------------------
    def start(self) -> None:
        """Read the first state and start the pump thread (a failure is logged, retried)."""
        try:
            self.pump()
        except Exception:
            log.exception("console: first pump failed; retrying every period")
        self._thread.start()

    def stop(self) -> None:
        """Stop the pump thread and end every live stream."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.end_streams()

    def end_streams(self) -> None:
        """End every live stream now (browsers reconnect by themselves)."""
        with self._lock:
            for sub in self._subs:
                sub.close()
            self._subs.clear()

    def _run(self) -> None:
        period_s = self._config.update_ms / 1000.0
        while not self._stop.wait(period_s):
            try:
                self.pump()
            except Exception:  # the console must never take the engine down
                log.exception("console pump failed; retrying next period")

    def pump(self) -> None:
        """One period: diff the live state, read new events, broadcast one message each."""
        started = time.perf_counter()
        snap = self._state_source()
        events, cursor = self._store.events_after(self._cursor, 10_000)
        with self._lock:
            delta = self._apply(snap)
            self._cursor = cursor
            if delta is not None:
                self._broadcast(_encode(delta))
            if events:
                self._broadcast(_encode({"type": "events", "events": [event_json(e) for e in events]}))
            self._resync_stale()
        self.pump_s.append(time.perf_counter() - started)

    def _apply(self, snap: EvaluatorView) -> JsonObj | None:
        terminals, shown = self._terminals, self._shown
        changed = []
        for t in snap.terminals:
            key = _shown(t)
            if shown.get(t.id) != key:
                shown[t.id] = key
                changed.append(t)
            terminals[t.id] = t
        gone: list[str] = []
        if len(terminals) != len(snap.terminals):  # some terminal left the view
            seen = {t.id for t in snap.terminals}
            gone = [tid for tid in terminals if tid not in seen]
        sample_ms = self._recent.sample_ms()
        for t in changed:
            if t.x_m is not None and t.y_m is not None and t.fix_t_ms is not None:
                self._recent.add(t.id, t.fix_t_ms, t.x_m, t.y_m, sample_ms)
        for tid in gone:
            del terminals[tid]
            del shown[tid]
            self._recent.forget(tid)
        zones = [z for z in snap.zones if self._zones.get(z.id) != z]
        for z in zones:
            self._zones[z.id] = z
        clock_changed = snap.clock_ms != self._clock_ms
        self._clock_ms = snap.clock_ms
        if not (changed or gone or zones or clock_changed):
            return None
        return {
            "type": "delta",
            "clock_ms": snap.clock_ms,
            "terminals": [_terminal_row(t) for t in changed],
            "gone": gone,
            "zones": [_zone_row(z) for z in zones],
        }

    def _broadcast(self, message: bytes) -> None:
        for sub in self._subs:
            sub.offer(message)

    def _resync_stale(self) -> None:
        stale = [s for s in self._subs if s.stale]
        if not stale:
            return
        message = _encode(self._snapshot_locked())
        for sub in stale:
            sub.drain()
            sub.stale = False
            sub.offer(message)

    # ---- ConsoleBackend ---------------------------------------------------------
    def site_document(self) -> JsonObj:
        """Static site description (zones in metric coordinates, registered terminals)."""
        return self._site_doc

    def _snapshot_locked(self) -> JsonObj:
        return {
            "type": "snapshot",
            "clock_ms": self._clock_ms,
            "terminals": [_terminal_row(t) for t in self._terminals.values()],
            "zones": [_zone_row(z) for z in self._zones.values()],
            "alarms": self.open_alarms(),
        }

    def snapshot_message(self) -> JsonObj:
        """The full live state as a new browser receives it first."""
        with self._lock:
            return self._snapshot_locked()

    def subscribe(self) -> Subscription:
        """A stream whose first message is a full snapshot, then batched updates."""
        sub = Subscription()
        with self._lock:
            sub.offer(_encode(self._snapshot_locked()))
            self._subs.append(sub)
        return sub

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a stream."""
        with self._lock:
            if subscription in self._subs:
                self._subs.remove(subscription)

    def subscriber_count(self) -> int:
        """How many browsers are connected."""
        with self._lock:
            return len(self._subs)

    def terminal_document(self, terminal_id: str) -> JsonObj | None:
        """Last fix, quality, zones, recent events and recent track of one terminal."""
        with self._lock:
            live = self._terminals.get(terminal_id)
            track = self._recent.track(terminal_id)
            clock = self._clock_ms
        registered = self.site.terminals.get(terminal_id)
        if live is None and registered is None:
            return None
        info = self.site.terminal(terminal_id)
        return {
            "id": terminal_id,
            "name": info.name,
            "kind": info.kind.value,
            "roles": sorted(info.roles),
            "registered": registered is not None,
            "clock_ms": clock,
            "live": None if live is None else {
                "lat": live.lat, "lon": live.lon, "x": live.x_m, "y": live.y_m,
                "quality": live.quality, "fix_t_ms": live.fix_t_ms,
                "last_heard_ms": live.last_heard_ms, "online": live.online,
                "zones": list(live.zones),
            },
            "events": self.query_events(EventQuery(terminal=terminal_id, limit=20)),
            "track": track,
        }

    def zone_document(self, zone_id: str) -> JsonObj | None:
        """Limits, live count, who is inside, recent events of one zone."""
        zone = next((z for z in self._site_doc["zones"] if z["id"] == zone_id), None)
        if zone is None:
            return None
        with self._lock:
            live = self._zones.get(zone_id)
            inside = [{"id": t.id, "name": t.name, "kind": t.kind, "online": t.online}
                      for t in self._terminals.values() if zone_id in t.zones]
        return {
            "zone": zone,
            "count": None if live is None else live.count,
            "inside": inside,
            "events": self.query_events(EventQuery(zone=zone_id, limit=20)),
        }

    def open_alarms(self) -> list[JsonObj]:
        """Open alarms from the store, with acknowledgements."""
        return [event_json(e) for e in self._store.open_alarms()]

    def alarm_history(self, limit: int) -> list[JsonObj]:
        """Cleared alarms: the raised event (with its ack) and the clearing event."""
        out = []
        for raised, cleared in self._store.cleared_alarms(limit):
            obj = event_json(raised)
            obj["cleared"] = event_json(cleared)
            out.append(obj)
        return out

    def query_events(self, query: EventQuery) -> list[JsonObj]:
        """Stored events matching a query, newest first."""
        return [event_json(e) for e in self._store.query(query)]

    def acknowledge(self, event_id: str, operator: str, note: str) -> JsonObj:
        """Store an acknowledgement (wall-clock time) and tell every browser."""
        stored = self._store.acknowledge(event_id, Ack(operator, note, int(time.time() * 1000)))
        obj = event_json(stored)
        with self._lock:
            self._broadcast(_encode({"type": "ack", "id": event_id, "ack": obj["ack"]}))
        return obj

    def history(self, from_ms: int, to_ms: int, terminal: str | None) -> JsonObj:
        """Recorded tracks (downsampled, metric) and stored events in a time range."""
        if not 0 < to_ms - from_ms <= MAX_HISTORY_RANGE_MS:
            raise ValueError("the range must be positive and at most 24 hours")
        step_ms = max(1000, (to_ms - from_ms) // 600)
        read = (read_range(self._tracks_dir, from_ms, to_ms, terminal, step_ms, MAX_HISTORY_POINTS)
                if self._tracks_dir is not None else None)
        tracks: dict[str, list[list[float]]] = {}
        if read is not None and read.points:
            xs, ys = self._projector.project_many(
                np.array([p.lon for p in read.points]), np.array([p.lat for p in read.points]))
            for p, x, y in zip(read.points, xs.tolist(), ys.tolist(), strict=True):
                tracks.setdefault(p.terminal, []).append([p.t_ms, round(x, 2), round(y, 2), p.quality])
        events = self.query_events(EventQuery(since_ms=from_ms, until_ms=to_ms, terminal=terminal,
                                              limit=10_000))
        events.reverse()
        return {
            "from_ms": from_ms,
            "to_ms": to_ms,
            "step_ms": step_ms,
            "tracks": tracks,
            "truncated": bool(read and read.truncated),
            "recordings": self._tracks_dir is not None,
            "events": events,
        }


def start_backend_and_server(
    config: ConsoleConfig,
    backend: InProcessBackend,
    on_close: Callable[[], None] | None = None,
) -> ConsoleServer:
    """Start the pump and the HTTP server on an already built backend."""

    def close_backend() -> None:
        """Stop the pump and streams, then the caller's own closing."""
        backend.stop()
        if on_close is not None:
            on_close()

    server = ConsoleServer(config, backend, config.users_path, on_close=close_backend)  # binds
    backend.start()
    server.start()
    return server


def start_console(
    config: ConsoleConfig,
    site: Site,
    index: Projector,
    store: EventStoreLike,
    state_source: StateSource,
    tracks_dir: Path | None,
) -> ConsoleServer:
    """Start the console for a running engine; returns the started server.

    ``index`` is the ``ZoneIndex`` (its ``project_many`` places recorded tracks);
    ``store`` the ``fence.store.EventStore`` (on a file); ``state_source`` a thread-safe
    callable returning ``Evaluator.view()`` (it is called from the console's thread every
    ``config.update_ms``); ``tracks_dir`` the track recordings directory (None: no
    history replay). Stop with ``server.close()`` before closing the store.
    """
    alarms = StoreAlarms(store)
    try:
        backend = InProcessBackend(site, index, alarms, state_source, tracks_dir, config)
        return start_backend_and_server(config, backend, on_close=alarms.close)
    except BaseException:
        alarms.close()
        raise

