"""MQTT sink: events on ``<prefix>/events/<type>`` (QoS 1) and retained current state.

Retained topics (QoS 1): ``<prefix>/state/occupancy/<zone>`` with
``{"zone", "count", "t"}`` and ``<prefix>/state/alarms`` with the list of open alarms
(at most every half second; always after the events that changed it).
A row leaves the outbox only after the broker's PUBACK; a broker that is down or slow
leaves it there for the next attempt (at-least-once: a consumer may see an event twice
after a reconnect and can drop it by its ``id``).

``MqttDeliverer`` publishes a fresh event from the thread that stored it (the fast lane,
see fence/sinks/mqttlink.py) and leaves PUBACKs, retries, reconnects and the retained
state to the sink thread. ``fence.sinks.mqttpaho.PahoMqttDeliverer`` is the same sink on
paho-mqtt without a fast lane, kept as the reference for tests and the load bench.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from events.model import EventType
from fence.config import MqttOutput
from fence.runtime.clock import ClockMs, wall_clock_ms
from fence.sinks.mqttlink import LinkError, MqttLink, connect_packet, publish_packet
from fence.sinks.state import StateBoard
from fence.sinks.worker import Delivery
from fence.store import EventRecord, OutboxItem
from gnss.instant import format_instant
from gnss.sources.mqtt import TlsOptions, tls_context
from gnss.sources.mqttwire import Endpoint

log = logging.getLogger("fence.sinks.mqtt")

ALARMS_EVERY_MS = 500
"""The retained list of open alarms is republished at most this often (it can be long)."""

CONNECT_TIMEOUT_S = 5.0
"""Longest wait for the TCP/TLS connection and the CONNACK."""

MAX_IN_FLIGHT = 10_000
"""Events the fast lane may have published and not seen acknowledged; beyond it the rows
wait for the sink thread (whose rounds publish at most one outbox batch), so packet ids
(65,535) never run out."""


def topic_level(text: str) -> str:
    """A string made safe as one MQTT topic level (no '/', '+', '#')."""
    return text.replace("/", "_").replace("+", "_").replace("#", "_") or "_"


class RetainedState:
    """Which retained messages are due: occupancy counts that changed, and the list of
    open alarms when it changed (at most every ``ALARMS_EVERY_MS``). One per connection:
    ``reset`` after a (re)connect publishes everything again."""

    def __init__(self, prefix: str, board: StateBoard | None,
                 open_alarms: Callable[[], list[dict[str, Any]]] | None, clock_ms: ClockMs) -> None:
        self.prefix = prefix
        self.board = board
        self.open_alarms = open_alarms
        self.clock_ms = clock_ms
        self._published_occupancy: dict[str, int] = {}
        self._occupancy_version = -1
        self._alarms_version = -1
        self._alarms_at_ms = 0

    def reset(self) -> None:
        """Forget what was published (a new connection)."""
        self._published_occupancy = {}
        self._occupancy_version = -1
        self._alarms_version = -1

    def due(self) -> list[tuple[str, str]]:
        """(topic, payload) of each retained message to publish now, marked as published."""
        if self.board is None:
            return []
        out = []
        version, t_ms, counts = self.board.occupancy()
        if version != self._occupancy_version:
            for zone, count in sorted(counts.items()):
                if self._published_occupancy.get(zone) != count:
                    payload = json.dumps({"zone": zone, "count": count, "t": format_instant(t_ms)})
                    out.append((f"{self.prefix}/state/occupancy/{topic_level(zone)}", payload))
                    self._published_occupancy[zone] = count
            self._occupancy_version = version
        alarms_version = self.board.alarms_version
        now_ms = self.clock_ms()
        if (alarms_version != self._alarms_version and self.open_alarms is not None
                and abs(now_ms - self._alarms_at_ms) >= ALARMS_EVERY_MS):
            self._alarms_at_ms = now_ms
            out.append((f"{self.prefix}/state/alarms", json.dumps(self.open_alarms(), ensure_ascii=False)))
            self._alarms_version = alarms_version
        return out


def endpoint_of(cfg: MqttOutput) -> Endpoint:
    """Where the output connects, with its TLS context (the host name is checked)."""
    if not cfg.tls:
        return Endpoint(cfg.host, cfg.port)
    options = TlsOptions(
        ca_certs=None if cfg.ca_file is None else str(cfg.ca_file),
        certfile=None if cfg.cert_file is None else str(cfg.cert_file),
        keyfile=None if cfg.key_file is None else str(cfg.key_file),
    )
    return Endpoint(cfg.host, cfg.port, tls_context(options))


class _InFlight:
    """Events published and not yet deleted from the outbox: packet ids both ways and
    the ids the broker acknowledged (guarded by the deliverer's lock)."""

    def __init__(self) -> None:
        self.pid_of: dict[str, int] = {}
        self.event_of: dict[int, str] = {}
        self.acked: set[str] = set()
        self._last_pid = 0

    @property
    def count(self) -> int:
        """Events published and not acknowledged."""
        return len(self.event_of)

    def published(self, event_id: str) -> bool:
        """True when the event went out on this connection (acknowledged or not)."""
        return event_id in self.pid_of or event_id in self.acked

    def take_pid(self, event_id: str | None = None) -> int:
        """A packet id not in use; registered for ``event_id`` when given."""
        pid = self._last_pid
        while True:
            pid = pid % 0xFFFF + 1
            if pid not in self.event_of:
                break
        self._last_pid = pid
        if event_id is not None:
            self.pid_of[event_id] = pid
            self.event_of[pid] = event_id
        return pid

    def drop(self, event_ids: Sequence[str]) -> None:
        """Forget events that were not sent after all."""
        for event_id in event_ids:
            pid = self.pid_of.pop(event_id, None)
            if pid is not None:
                del self.event_of[pid]

    def ack(self, pids: Sequence[int]) -> None:
        """The broker acknowledged these packet ids."""
        for pid in pids:
            event_id = self.event_of.pop(pid, None)
            if event_id is not None:
                del self.pid_of[event_id]
                self.acked.add(event_id)

    def lost(self) -> None:
        """The connection is gone: what was not acknowledged must go out again."""
        self.pid_of.clear()
        self.event_of.clear()


class MqttDeliverer:
    """Publishes events and retained state over one ``MqttLink``; fresh events go out
    from the storing thread (``publish_now``), everything else from the sink thread."""

    def __init__(
        self,
        cfg: MqttOutput,
        board: StateBoard | None = None,
        open_alarms: Callable[[], list[dict[str, Any]]] | None = None,
        *,
        ack_timeout_s: float = 10.0,
        clock_ms: ClockMs = wall_clock_ms,
    ) -> None:
        self.name = cfg.name
        self.cfg = cfg
        self.ack_timeout_s = ack_timeout_s
        self.link = MqttLink(endpoint_of(cfg),
                             connect_packet(cfg.client_id, cfg.keepalive_s, cfg.username, cfg.password),
                             cfg.keepalive_s)
        self.retained = RetainedState(cfg.topic_prefix, board, open_alarms, clock_ms)
        self._topics = {t: f"{cfg.topic_prefix}/events/{t.value}".encode() for t in EventType}
        self._lock = threading.Lock()
        self._flight = _InFlight()
        self._caught_up = False
        """True while every outbox row of this sink is published: only then may a fresh
        event overtake the sink thread (per-sink order is kept)."""
        self._connect_failures = 0
        self._connect_after = 0.0

    @property
    def connected(self) -> bool:
        """True while the link is up."""
        return self.link.up

    # -- the storing thread -----------------------------------------------------------

    def publish_now(self, records: Sequence[EventRecord]) -> bool:
        """Publish freshly stored events at once if that cannot block and keeps the order;
        False when they were left to the sink thread."""
        if not self._caught_up or not self.link.fast_lane or not self._lock.acquire(blocking=False):
            return False
        try:
            if self._flight.count + len(records) > MAX_IN_FLIGHT:  # the broker is not acknowledging
                self._caught_up = False
                return False
            data, fresh = self._packets([(rec.id, rec.type, rec.line) for rec in records])
            if not data or self.link.try_send(data):
                return True
            self._flight.drop(fresh)
            self._caught_up = False
            return False
        finally:
            self._lock.release()

    # -- the sink thread --------------------------------------------------------------

    @property
    def needs_catch_up(self) -> bool:
        """True while fresh events must wait for the sink thread."""
        return not self._caught_up and self.link.fast_lane

    def catch_up(self, pending: Sequence[str], complete: bool) -> None:
        """Called with the ids of every outbox row of this sink (``complete``: that is all
        of them), while no event can be stored: when all went out, the fast lane opens."""
        with self._lock:
            if complete and all(self._flight.published(event_id) for event_id in pending):
                self._caught_up = True

    def deliver(self, items: Sequence[OutboxItem]) -> Delivery:
        """Publish at QoS 1 the rows not yet out, wait for the first row's PUBACK and
        report the acknowledged prefix (pipelined: later rows are acknowledged in later
        rounds)."""
        try:
            self._ensure_link()
            self._publish_missing(items)
            self._await_ack(items[0].event_id)
        except (LinkError, OSError) as exc:
            self._lost(str(exc))
            return Delivery(0, f"broker {self.cfg.host}:{self.cfg.port}: {exc}")
        with self._lock:
            acked = self._flight.acked
            done = 0
            while done < len(items) and items[done].event_id in acked:
                acked.discard(items[done].event_id)
                done += 1
        return Delivery(done)

    def idle(self) -> None:
        """Read what the broker sent, keep the link alive, publish changed retained state."""
        try:
            self._ensure_link()
            self._take_acks(0.0)
            if self.cfg.retain_state:
                self._publish_retained()
            self.link.keep_alive()
        except (LinkError, OSError) as exc:
            self._lost(str(exc))

    def close(self) -> None:
        """Say goodbye to the broker."""
        self.link.close(polite=True)

    def _ensure_link(self) -> None:
        if self.link.up:
            return
        if time.monotonic() < self._connect_after:
            raise LinkError("not connected (waiting to reconnect)")
        try:
            self.link.open(CONNECT_TIMEOUT_S)
        except (LinkError, OSError) as exc:
            self._connect_failures += 1
            delay_s = self.cfg.backoff.delay_s(self._connect_failures)
            self._connect_after = time.monotonic() + delay_s
            if self._connect_failures == 1:  # once per outage: the sink's metrics count the rest
                log.warning("mqtt %s: cannot connect to %s:%d: %s (retrying, backoff up to %g s)",
                            self.name, self.cfg.host, self.cfg.port, exc, self.cfg.backoff.max_s)
            raise LinkError(f"connect failed: {exc}") from None
        self._connect_failures = 0
        self.retained.reset()
        log.info("mqtt %s: connected to %s:%d", self.name, self.cfg.host, self.cfg.port)

    def _publish_missing(self, items: Sequence[OutboxItem]) -> None:
        with self._lock:
            data, _ = self._packets([(item.event_id, item.type, item.line) for item in items])
            if data:
                self.link.send(data)

    def _packets(self, rows: Sequence[tuple[str, EventType, str]]) -> tuple[bytes, list[str]]:
        """PUBLISH packets of the (event id, type, line) rows not yet out, each registered
        in flight under a new packet id, and the ids of those rows (call under the lock)."""
        flight = self._flight
        fresh = [row for row in rows if not flight.published(row[0])]
        data = b"".join([publish_packet(self._topics[kind], line.encode(), flight.take_pid(event_id))
                         for event_id, kind, line in fresh])
        return data, [row[0] for row in fresh]

    def _await_ack(self, event_id: str) -> None:
        deadline = time.monotonic() + self.ack_timeout_s
        self._take_acks(0.0)
        while True:
            with self._lock:
                if event_id in self._flight.acked:
                    return
            left_s = deadline - time.monotonic()
            if left_s <= 0:
                raise LinkError(f"no PUBACK within {self.ack_timeout_s:g} s")
            self._take_acks(left_s)

    def _take_acks(self, timeout_s: float) -> None:
        pids = self.link.read_acks(timeout_s)
        while pids:
            with self._lock:
                self._flight.ack(pids)
            pids = self.link.read_acks(0.0)

    def _publish_retained(self) -> None:
        due = self.retained.due()
        if not due:
            return
        with self._lock:
            take = self._flight.take_pid
            self.link.send(b"".join([publish_packet(topic.encode(), payload.encode(), take(), retain=True)
                                     for topic, payload in due]))

    def _lost(self, why: str) -> None:
        """Drop the link after a failure; logged when a connection was lost, not for each
        attempt while the broker stays away."""
        if self.link.up or self.link.broken:
            log.warning("mqtt %s: disconnected: %s", self.name, why)
        self.link.close()
        with self._lock:
            self._flight.lost()
            self._caught_up = False
