"""One thread per sink: reads the outbox in order, delivers, deletes, retries with backoff."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from fence.config import Backoff
from fence.runtime import metrics as m
from fence.store import EventRecord, EventStore, OutboxItem

log = logging.getLogger("fence.sinks")


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of one batch: how many rows (a prefix) went out, and the error after."""

    done: int
    error: str | None = None

    def __post_init__(self) -> None:
        if self.done < 0:
            raise ValueError("done must be >= 0")


class Deliverer(Protocol):
    """Something events can be delivered to."""

    name: str

    def deliver(self, items: Sequence[OutboxItem]) -> Delivery:
        """Deliver rows in order; report the delivered prefix and the first error."""
        ...

    def idle(self) -> None:
        """Called once per round, after delivering (e.g. to publish retained state)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class FastLane(Protocol):
    """A deliverer that can send a fresh event from the thread that stored it."""

    @property
    def needs_catch_up(self) -> bool:
        """True while fresh events must wait for the sink thread (to keep the order)."""
        ...

    def publish_now(self, records: Sequence[EventRecord]) -> bool:
        """Send freshly stored events now if that cannot block; False if left to the thread."""
        ...

    def catch_up(self, pending: Sequence[str], complete: bool) -> None:
        """Given every outbox row's event id while no event can be stored (``complete``:
        that is all of them): open the fast lane if all of them went out."""
        ...


ALL_DUE_MS = 1 << 62
"""An instant after every retry time: ``outbox_due`` at it returns every pending row."""


class SinkWorker:
    """Drains one sink's outbox rows; its own thread and its own store connection."""

    def __init__(
        self,
        deliverer: Deliverer,
        store_path: Path,
        backoff: Backoff,
        metrics: m.Metrics,
        clock_ms: Callable[[], int],
        *,
        batch: int = 200,
        idle_s: float = 0.5,
        write_lock: threading.Lock | None = None,
    ) -> None:
        self.deliverer = deliverer
        self.name = deliverer.name
        self.store = EventStore(store_path, autocheckpoint=False)  # the engine checkpoints
        # (snapshot thread): no fsync of a checkpoint while this worker holds write_lock
        self.backoff = backoff
        self.metrics = metrics
        self.clock_ms = clock_ms
        self.batch = batch
        self.idle_s = idle_s
        self._write_lock = write_lock if write_lock is not None else threading.Lock()
        """Held while this worker writes to the store: the engine passes its input lock,
        so an input that stores events waits on a Python lock for the worker's short
        delete instead of SQLite's busy handler (which sleeps 1, 2, 5... ms)."""
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sink-{self.name}", daemon=True)
        self.last_error: str | None = None

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def wake(self) -> None:
        """New rows were queued: look now."""
        self._wake.set()

    def offer(self, records: Sequence[EventRecord]) -> None:
        """New rows were queued for these events (call right after the commit, with the
        engine's input lock held): a fast lane sends them now, else the thread wakes."""
        deliverer = self.deliverer
        if not (isinstance(deliverer, FastLane) and deliverer.publish_now(records)):
            self._wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop after the current attempt; undelivered rows stay in the outbox."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)
        self.deliverer.close()
        self.store.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait_s = self._round()
            except Exception:  # a sink must never take the engine down
                log.exception("sink %s: unexpected error", self.name)
                wait_s = self.backoff.max_s
            if wait_s > 0:
                self._wake.wait(wait_s)
                self._wake.clear()

    def _open_fast_lane(self) -> None:
        """If the deliverer has a closed fast lane: under the write lock (the engine's
        input lock: no event is stored meanwhile), show it every pending row, so it opens
        only when all of them went out."""
        lane = self.deliverer
        if not (isinstance(lane, FastLane) and lane.needs_catch_up):
            return
        with self._write_lock:
            rows = self.store.outbox_due(self.name, ALL_DUE_MS, self.batch)
            lane.catch_up([row.event_id for row in rows], complete=len(rows) < self.batch)

    def _round(self) -> float:
        """One attempt; returns how long to wait before the next one."""
        now = self.clock_ms()
        items = self.store.outbox_due(self.name, now, self.batch)
        if not items:
            self.deliverer.idle()
            self._open_fast_lane()
            return self.idle_s
        result = self.deliverer.deliver(items)
        self.deliverer.idle()  # after the events: state updates never delay an alert
        delivered = items[: result.done]
        if delivered:
            with self._write_lock:
                self.store.outbox_done(delivered)
        if delivered:
            self.metrics.inc(m.SINK_DELIVERED, self.name, len(delivered))
        if result.error is None:
            self.last_error = None
            self._open_fast_lane()
            return 0.0
        head = items[result.done] if result.done < len(items) else items[-1]
        delay_s = self.backoff.delay_s(head.attempts + 1)
        with self._write_lock:
            self.store.outbox_retry(head, now + int(delay_s * 1000), result.error)
        self.metrics.inc(m.SINK_FAILURES, self.name)
        if self.last_error != result.error:
            log.warning("sink %s: %s (retrying in %.1fs)", self.name, result.error, delay_s)
        self.last_error = result.error
        return delay_s
