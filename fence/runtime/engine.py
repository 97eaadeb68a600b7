"""The live engine: sources in, track recording, evaluator, event store and sinks out.

Threads:
- each source's own threads call ``deliver``: under one lock the fix gets its arrival
  time ``rx`` from the runtime's clock (never going back), is written to the track
  recording (the write-ahead log) and evaluated right there (``advance_to(rx)`` then
  ``feed(fix)``); its events are stored with their outbox rows in one transaction.
  ``deliver`` returns only then, so the source may acknowledge it. Evaluating in the
  caller's thread keeps the alert path free of thread hand-offs; the lock orders the
  inputs of several sources;
- the tick thread takes the same lock about once a second for ``advance_to(now)``, so
  ticks and fixes reach the evaluator in the order of their times; it also publishes
  the operators' view and hands periodic snapshots to the snapshot thread;
- the snapshot thread fsyncs the recording and installs snapshots (off the alert path);
  a periodic snapshot is taken by a forked child process (copy-on-write memory: the
  inputs wait for the fork, not for serialising every terminal's state);
- one thread per sink (``fence.sinks``): the evaluation never waits on a sink;
- the health/metrics HTTP server.

Recovery at start: restore the last snapshot, replay the recording after its position
with the recorded arrival times, store the re-derived events (the store drops the ones
it already has, by id). Ticks start only after the evaluator has seen its first fix,
so a replay of the recording (which starts at the first fix) sees the same steps.
"""

from __future__ import annotations

import fcntl
import gc
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from events.evaluator import Evaluator
from events.model import Event
from events.output import event_to_obj
from events.view import EvaluatorView
from fence.config import EngineConfig, JsonlOutput, MqttOutput, WebhookOutput
from fence.runtime import metrics as m
from fence.runtime.clock import ClockMs, wall_clock_ms
from fence.runtime.http import HealthServer
from fence.runtime.snapshot import (
    EngineSnapshot,
    install_snapshot,
    load_snapshot,
    save_snapshot,
    write_snapshot_file,
)
from fence.runtime.tracks import (
    TrackPosition,
    TrackRecorder,
    fsync_path,
    read_recording,
    repair_tail,
)
from fence.sinks.jsonl import JsonlDeliverer
from fence.sinks.mqtt import MqttDeliverer
from fence.sinks.state import StateBoard
from fence.sinks.webhook import WebhookDeliverer
from fence.sinks.worker import Deliverer, SinkWorker
from fence.store import EventRecord, EventStore
from gnss.errors import DecodeError
from gnss.fix import Fix
from gnss.instant import to_datetime
from gnss.sources import BatchSource, DeliverMany
from zones.index import ZoneIndex
from zones.model import Site

log = logging.getLogger("fence.runtime")

SourceItem = Fix | DecodeError
Deliver = Callable[[SourceItem], None]
EventsCallback = Callable[[Sequence[EventRecord]], None]


SINK_DRAIN_S = 1.0
"""How long a stopping engine waits for its sinks to deliver what is queued."""

VIEW_EVERY_S = 0.25
"""How often the operators' view is refreshed while fixes flow and someone (the console)
reads it; otherwise once per tick when it is read or the MQTT output keeps retained
occupancy, and not at all when nobody needs it."""


FORK_SNAPSHOTS = hasattr(os, "fork")
"""Periodic snapshots are written by a forked child (see ``Engine._fork_snapshot``)."""

FEED_MANY_MIN = 8
"""From this many fixes in one read on, they are evaluated with one ``feed_many`` call
(one pyproj call for the read; below it the one-fix projection is as cheap)."""


SWITCH_INTERVAL_S = 0.0005
"""How long a Python thread may keep the GIL while another waits (CPython's default is
5 ms). The input thread, the sink threads and the ticker share one interpreter; at 6,000
fixes/s a shorter interval halved the publish-to-alert latency (p50 11 -> 6 ms, p99 33
-> 14 ms, same machine, alternating runs) for about 7% more CPU per fix."""

GC_FREEZE_S = 1.0
"""How often the objects that survived the young collections are moved out of the
garbage collector's sight (``gc.freeze``)."""

GC_FULL_EVERY_S = 3600.0
"""How often everything is unfrozen and fully collected once (~150 ms with 10,000
terminals): a cycle of other parts (outputs, console) that became garbage after it was
frozen is kept at most this long."""


def _freeze_heap(*, young_only: bool) -> None:
    """Keep full garbage collections short: move what is alive now to the permanent
    generation, after collecting the young generations (or all of them at start).

    Why: a full collection walks every tracked object while holding the GIL; with
    10,000 terminals (decoders, evaluator state: ~230,000 objects) that is 100-200 ms
    during which no fix is read, every few seconds while terminals and their state
    accumulate. The evaluation path makes no reference cycles (a steady-state run
    leaves no cyclic garbage), so what is frozen is freed by reference counting as
    before; only a cycle that was already promoted to the oldest generation when it
    is frozen would stay until the process ends."""
    gc.collect(1 if young_only else 2)
    gc.freeze()


class Source(Protocol):
    """An input (gnss.sources): starts its own threads and calls ``deliver`` per item."""

    name: str

    def start(self, deliver: Deliver) -> None:
        """Start reading; call ``deliver`` for each fix or decode error."""
        ...

    def stop(self) -> None:
        """Stop reading and release the input."""
        ...


@dataclass(frozen=True, slots=True)
class _Tick:
    now_ms: int


@dataclass(frozen=True, slots=True)
class _ForkedSnapshot:
    """A child process writing a snapshot of the evaluator as it was when it forked."""

    pid: int
    tmp: Path


class EngineError(RuntimeError):
    """The engine cannot start (bad state files, unusable store)."""


class Engine:
    """One live engine over one site. ``start()``, then sources deliver; ``stop()`` ends it.

    Two injectable clocks: ``clock_ms`` is the event clock (arrival times, ticks: what
    the evaluator sees); ``ops_clock_ms`` times the operations around it (when an event
    was stored or queued, sink retries and lag). Both are the wall clock in production;
    tests drive the first, the demo scales it.
    """

    def __init__(
        self,
        site: Site,
        cfg: EngineConfig,
        *,
        sources: Sequence[Source] = (),
        clock_ms: ClockMs = wall_clock_ms,
        ops_clock_ms: ClockMs = wall_clock_ms,
        on_events: EventsCallback | None = None,
        index: ZoneIndex | None = None,
    ) -> None:
        self.site = site
        self.cfg = cfg
        self.sources = list(sources)
        self.clock_ms = clock_ms
        self.ops_clock_ms = ops_clock_ms
        self.on_events = on_events
        self.index = index if index is not None else ZoneIndex.build(site)
        self.metrics = m.Metrics()
        self.board = StateBoard()
        self.store = EventStore(cfg.store_path, autocheckpoint=False)  # see _write_snapshot
        self.recorder = TrackRecorder(
            cfg.tracks.dir,
            rotate_bytes=cfg.tracks.rotate_bytes,
            rotate_s=cfg.tracks.rotate_s,
            fsync=cfg.tracks.fsync,
            fsync_interval_s=cfg.tracks.fsync_interval_s,
        )
        self.snapshot_path = cfg.runtime.state_dir / "snapshot.json"
        self.run_id = ""
        self.evaluator = Evaluator(site, self.index)
        self._lock = threading.Lock()
        self._last_rx_ms = 0
        self._applied: TrackPosition | None = None
        self._snapshot_due_ms = 0
        self._stopping = threading.Event()
        self._accepting = False
        self._tick_thread = threading.Thread(target=self._tick_loop, name="ticker", daemon=True)
        self._snap_thread = threading.Thread(target=self._snapshot_loop, name="snapshots",
                                             daemon=True)
        self._snap_cond = threading.Condition()
        self._snap_slot: EngineSnapshot | _ForkedSnapshot | None = None
        self._snap_busy = False
        self._snap_seq = 0
        self._snap_stop = False
        self._snap_write_lock = threading.Lock()
        self._view: EvaluatorView = self.evaluator.view()
        self._view_at = 0.0
        self._view_wanted = False
        self._retained_state = any(isinstance(o, MqttOutput) and o.retain_state for o in cfg.outputs)
        self._seen_unregistered: set[str] = set()
        self._verdicts: dict[str, int] = {}
        self._logged: dict[tuple[str, str], int] = {}
        self._log_lock = threading.Lock()
        self.workers: list[SinkWorker] = []
        self.http: HealthServer | None = None
        self._lock_fd: int | None = None
        self.failure: str | None = None
        """Why fixes are refused right now (shown by /healthz), None when all is well."""
        self.metrics.add_gauges(self._gauges)

    # -- start-up and recovery -----------------------------------------------------------

    def start(self) -> None:
        """Recover, start sinks, the evaluator and tick threads, then the sources."""
        self._recover()
        _freeze_heap(young_only=False)  # the site, the index, the restored state
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self.workers = [self._worker(out) for out in self.cfg.outputs]
        orphans = set(self.store.outbox_pending()) - {out.name for out in self.cfg.outputs}
        for name in sorted(orphans):
            log.warning("outbox: events wait for output %r, which is not configured any more"
                        " (they stay in the store until an output of that name returns)", name)
        for worker in self.workers:
            worker.start()
        if self.cfg.http is not None:
            self.http = HealthServer(self.cfg.http, self.health, self.metrics.render)
            self.http.start()
            log.info("health and metrics on http://%s:%d/", self.cfg.http[0], self.http.port)
        self._accepting = True
        self._snap_thread.start()
        self._tick_thread.start()
        for source in self.sources:
            if isinstance(source, BatchSource):
                source.start_many(self.deliver_many_from(source.name))
            else:
                source.start(self.deliver_from(source.name))
            log.info("input %s started", source.name)

    def _load_run_id(self, snap: EngineSnapshot | None) -> str:
        run_file = self.cfg.runtime.state_dir / "run"
        if snap is not None:
            return snap.run
        if run_file.exists():
            return run_file.read_text(encoding="utf-8").strip()
        run = to_datetime(self.clock_ms()).strftime("%Y%m%dT%H%M%S")
        run_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = run_file.with_name("run.tmp")
        tmp.write_text(run + "\n", encoding="utf-8")
        tmp.replace(run_file)
        return run

    def _lock_state(self) -> None:
        """Refuse a second engine on the same state folder (the lock dies with the process)."""
        state_dir = self.cfg.runtime.state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(state_dir / "engine.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise EngineError(f"{state_dir}: another engine is running on this state folder") from None
        self._lock_fd = fd

    def _recover(self) -> None:
        self._lock_state()
        for stale in self.snapshot_path.parent.glob(f"{self.snapshot_path.name}.*.fork"):
            stale.unlink()  # a snapshot child killed with its engine: never installed
        snap = load_snapshot(self.snapshot_path)
        self.run_id = self._load_run_id(snap)
        if snap is not None:
            self.evaluator = Evaluator.restore(self.site, snap.evaluator, self.index)
            self._applied = snap.position
            self._last_rx_ms = snap.last_rx_ms or 0
        cut = repair_tail(self.cfg.tracks.dir)
        if cut:
            log.warning("recording: cut a torn last line (%d bytes, never acknowledged)", cut)
        replayed = 0
        for rec in read_recording(self.cfg.tracks.dir, self._applied):
            self._apply_fix(rec.fix, rec.rx_ms)
            self._applied = rec.position
            self._last_rx_ms = max(self._last_rx_ms, rec.rx_ms)
            replayed += 1
        self.metrics.inc(m.RECOVERED_FIXES, by=replayed)
        log.info(
            "run %s: recovered %s, replayed %d recorded fixes",
            self.run_id, "from snapshot" if snap is not None else "from the start", replayed,
        )
        self._save_snapshot()
        self._view = self.evaluator.view()

    def _worker(self, out: MqttOutput | WebhookOutput | JsonlOutput) -> SinkWorker:
        return SinkWorker(self.deliverer_for(out), self.cfg.store_path, out.backoff, self.metrics,
                          self.ops_clock_ms, write_lock=self._lock)

    def deliverer_for(self, out: MqttOutput | WebhookOutput | JsonlOutput) -> Deliverer:
        """The deliverer of one configured output (a subclass may choose another, as the
        load bench does to measure the paho-mqtt reference output)."""
        if isinstance(out, MqttOutput):
            return MqttDeliverer(out, self.board, self._open_alarm_objs, clock_ms=self.ops_clock_ms)
        if isinstance(out, WebhookOutput):
            return WebhookDeliverer(out.name, out.url, out.headers, out.timeout_s)
        return JsonlDeliverer(out.name, out.path)

    def _open_alarm_objs(self) -> list[dict[str, object]]:
        return [event.record.obj() for event in self.store.open_alarms()]

    # -- input side (source threads) --------------------------------------------------

    def deliver_many_from(self, source_name: str) -> DeliverMany:
        """The ``deliver_many`` callable handed to a source that delivers a read at once."""

        def deliver_many(items: Sequence[SourceItem]) -> None:
            self.deliver_many(items, source_name)

        return deliver_many

    def deliver_from(self, source_name: str) -> Deliver:
        """The ``deliver`` callable handed to one source."""

        def deliver(item: SourceItem) -> None:
            self.deliver(item, source_name)

        return deliver

    def deliver(self, item: SourceItem, source_name: str = "direct") -> None:
        """Accept one item: returns once a fix is recorded (durable against a process kill)."""
        self.deliver_many((item,), source_name)

    def deliver_many(self, items: Sequence[SourceItem], source_name: str = "direct") -> None:
        """Accept the items of one source read: one arrival time, one recording write,
        then each fix evaluated in order (its events stored as it is evaluated). Returns
        once the fixes are recorded (durable against a process kill)."""
        fixes: list[Fix] = []
        for item in items:
            if isinstance(item, DecodeError):
                self.metrics.inc(m.DECODE_ERRORS, item.kind.value)
                self._log_limited((source_name, item.kind.value), f"input {source_name}: {item}")
            else:
                fixes.append(item)
        if not fixes:
            return
        with self._lock:
            if not self._accepting:
                raise EngineError("engine is not accepting fixes (not started or stopping)")
            rx_ms = self._next_rx()
            try:
                position = self.recorder.append_many(fixes, rx_ms)
            except OSError as exc:  # disk full, read-only file system...
                self.failure = f"recording failed: {exc}"
                log.critical("%s; fixes are not accepted", self.failure)
                raise EngineError(self.failure) from None
            self.failure = None
            self._apply_fixes(fixes, rx_ms, position)
        self.metrics.inc(m.FIXES_IN, source_name, by=len(fixes))
        terminals = self.site.terminals
        unknown = [fix.terminal for fix in fixes if fix.terminal not in terminals]
        if unknown:
            self._unregistered(unknown, source_name)

    def _unregistered(self, terminals: Sequence[str], source_name: str) -> None:
        self.metrics.inc(m.FIXES_UNREGISTERED, by=len(terminals))
        seen = self._seen_unregistered
        for terminal in terminals:
            if terminal not in seen and len(seen) < 100_000:
                seen.add(terminal)
                self._log_limited(
                    (source_name, "unregistered"),
                    f"input {source_name}: fix from unregistered terminal {terminal!r}"
                    " (handled as a person with no roles)",
                )

    def _log_limited(self, key: tuple[str, str], message: str) -> None:
        """Log the first three of a kind, then every thousandth (all are counted).

        Unregistered terminals count once per terminal id here."""
        with self._log_lock:
            n = self._logged[key] = self._logged.get(key, 0) + 1
        if n <= 3 or n % 1000 == 0:
            log.warning("%s (%d of this kind so far)", message, n)

    def _next_rx(self) -> int:
        """The runtime clock, never going back (call with the lock held)."""
        self._last_rx_ms = max(self.clock_ms(), self._last_rx_ms)
        return self._last_rx_ms

    def _tick_loop(self) -> None:
        freeze_at = time.monotonic() + GC_FREEZE_S
        full_at = time.monotonic() + GC_FULL_EVERY_S
        while not self._stopping.wait(self.cfg.runtime.tick_s):
            if time.monotonic() >= freeze_at:
                freeze_at = time.monotonic() + GC_FREEZE_S
                if time.monotonic() >= full_at:  # bound what frozen cycles could keep
                    full_at = time.monotonic() + GC_FULL_EVERY_S
                    gc.unfreeze()
                    _freeze_heap(young_only=False)
                else:
                    _freeze_heap(young_only=True)
            with self._lock:
                now_ms = self._next_rx()
                self._step(_Tick(now_ms))
            self.recorder.sync_if_due(now_ms)  # outside the lock: inputs never wait on fsync

    # -- evaluation: under the lock, in the thread that brought the input ---------------

    def _apply_fixes(self, fixes: Sequence[Fix], rx_ms: int, position: TrackPosition) -> None:
        """Evaluate fixes that arrived together at ``rx_ms`` (recorded up to ``position``).

        A read of ``FEED_MANY_MIN`` fixes or more goes through ``Evaluator.feed_many`` (one
        projection and one grid lookup for all; the events of the read are stored in one
        transaction, and each fix counts the read's mean step time); a smaller read fix by
        fix, each fix's events stored at once. Both give exactly the events of ``advance_to``
        + ``feed`` per fix (the recording is replayed that way)."""
        perf_counter = time.perf_counter
        if len(fixes) >= FEED_MANY_MIN:
            started = perf_counter()
            try:
                events = self.evaluator.advance_to(rx_ms)
                events += self.evaluator.feed_many(fixes)
                if events:
                    self._store_events(events)
            except Exception:  # a bug must not stop the engine (the rest of the read is lost)
                log.exception("evaluator failed on a read of %d fixes from %s", len(fixes), fixes[0])
            done = perf_counter()
            self.metrics.observe_steps([(done - started) / len(fixes)] * len(fixes))
        else:
            durations_s: list[float] = []
            done = perf_counter()
            for fix in fixes:
                started = done
                try:
                    self._apply_fix(fix, rx_ms)
                except Exception:  # a bug in one step must not stop the engine
                    log.exception("evaluator step failed on %s", fix)
                done = perf_counter()
                durations_s.append(done - started)
            self.metrics.observe_steps(durations_s)
        self._applied = position
        if self._view_wanted and done - self._view_at >= VIEW_EVERY_S:
            self._refresh_view()

    def _step(self, tick: _Tick) -> None:
        try:
            self._apply_tick(tick.now_ms)
        except Exception:  # a bug in one step must not stop the engine
            log.exception("evaluator step failed on %s", tick)

    def _apply_fix(self, fix: Fix, rx_ms: int) -> None:
        events = self.evaluator.advance_to(rx_ms)
        events += self.evaluator.feed(fix)
        if events:
            self._store_events(events)

    def _apply_tick(self, now_ms: int) -> None:
        if self.evaluator.clock_ms is not None:
            self._store_events(self.evaluator.advance_to(now_ms))
        if self._view_wanted:  # a view costs ~3 ms per 1,000 terminals, under the lock
            self._refresh_view()
        if self._retained_state:
            self.board.set_occupancy(self.evaluator.zone_counts(), self.evaluator.clock_ms or now_ms)
        for verdict, n in self.evaluator.verdicts.items():
            if not verdict.accepted:
                self._verdicts[verdict.value] = n
        if now_ms >= self._snapshot_due_ms and not self._snap_busy:  # one at a time
            snap = self._fork_snapshot() or self._take_snapshot()
            self._snap_busy = True  # until the snapshot thread is done with it
            self._offer_snapshot(snap)
            self._snapshot_due_ms = now_ms + int(self.cfg.runtime.snapshot_s * 1000)

    def _refresh_view(self) -> EvaluatorView:
        self._view_wanted = False
        self._view = self.evaluator.view()
        self._view_at = time.perf_counter()
        return self._view

    def _records(self, events: Sequence[Event]) -> list[EventRecord]:
        records = []
        for event in events:
            obj = event_to_obj(event, self.site)
            obj["id"] = f"{self.run_id}-{event.event_id}"
            records.append(
                EventRecord(
                    obj["id"], event.t_ms, event.type, event.state, event.zone, event.terminal,
                    event.count, event.limit, json.dumps(obj, ensure_ascii=False),
                )
            )
        return records

    def _store_events(self, events: Sequence[Event]) -> None:
        if not events:
            return
        records = self._records(events)
        new = self.store.add(records, [out.name for out in self.cfg.outputs], self.ops_clock_ms())
        if len(new) < len(records):
            self.metrics.inc(m.EVENTS_DEDUPED, by=len(records) - len(new))
        if not new:
            return
        for worker in self.workers:  # first: an MQTT output sends the alerts right now
            worker.offer(new)
        for rec in new:
            self.metrics.inc(m.EVENTS, rec.type.value)
        self.board.alarms_changed()
        if self.on_events is not None:
            try:
                self.on_events(new)
            except Exception:
                log.exception("on_events callback failed")

    def _take_snapshot(self) -> EngineSnapshot:
        """The evaluator's state with the position it stands at (call with the lock held)."""
        return EngineSnapshot(
            self.run_id, self._applied, self._last_rx_ms or None, self.evaluator.snapshot()
        )

    def _write_snapshot(self, snap: EngineSnapshot) -> None:
        """Sync the recording up to the snapshot's position, then save it atomically."""
        with self._snap_write_lock:
            self.recorder.sync()
            save_snapshot(self.snapshot_path, snap)
        self.store.checkpoint()  # here, not in the committing input thread: it fsyncs

    def _save_snapshot(self) -> None:
        self._write_snapshot(self._take_snapshot())

    def _fork_snapshot(self) -> _ForkedSnapshot | None:
        """Fork (call with the lock held): the child writes the evaluator's state as of
        now to a temporary file and exits, so the inputs wait for the fork (milliseconds)
        instead of the snapshot (about 100 ms per 10,000 terminals). None when the
        system cannot fork (the caller then takes the snapshot in process)."""
        if not FORK_SNAPSHOTS:
            return None
        self._snap_seq += 1
        tmp = self.snapshot_path.with_name(f"{self.snapshot_path.name}.{self._snap_seq}.fork")
        try:
            pid = os.fork()
        except OSError as exc:
            log.warning("snapshot: cannot fork (%s); taking it in process", exc)
            return None
        if pid == 0:  # the child: only this thread exists; never return to the caller
            code = 1
            try:
                write_snapshot_file(tmp, self._take_snapshot(), fsync=False)  # exit soon:
                code = 0  # while the child lives, the parent's writes copy shared pages
            finally:
                os._exit(code)
        return _ForkedSnapshot(pid, tmp)

    def _finish_forked(self, forked: _ForkedSnapshot) -> None:
        """Wait for a snapshot child; sync the recording, then install its file."""
        _, status = os.waitpid(forked.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0 or not forked.tmp.exists():
            forked.tmp.unlink(missing_ok=True)
            raise OSError(f"snapshot child {forked.pid} failed (status {status})")
        fsync_path(forked.tmp)
        with self._snap_write_lock:
            self.recorder.sync()  # the recording up to the snapshot's position, first
            install_snapshot(forked.tmp, self.snapshot_path)
        self.store.checkpoint()

    def _offer_snapshot(self, snap: EngineSnapshot | _ForkedSnapshot) -> None:
        """Hand a snapshot to the writer thread: the fsyncs stay off the alert path."""
        with self._snap_cond:
            self._snap_slot = snap
            self._snap_cond.notify()

    def _snapshot_loop(self) -> None:
        while True:
            with self._snap_cond:
                self._snap_cond.wait_for(lambda: self._snap_slot is not None or self._snap_stop)
                snap, self._snap_slot = self._snap_slot, None
                if snap is None:
                    return
            try:
                if isinstance(snap, _ForkedSnapshot):
                    self._finish_forked(snap)
                else:
                    self._write_snapshot(snap)
            except OSError:
                log.exception("snapshot not saved (the next one is tried at the next period)")
            finally:
                self._snap_busy = False

    # -- read side (console, health) ----------------------------------------------------

    def view(self) -> EvaluatorView:
        """The evaluator's state, at most about a quarter second old while it is read
        regularly (thread-safe; building it costs evaluation time, so it is built only as
        often as someone asks, and once per tick)."""
        self._view_wanted = True
        return self._view

    def _gauges(self) -> str:
        pending = self.store.outbox_pending()
        now_ms = self.ops_clock_ms()
        lag = {
            w.name: (now_ms - oldest) / 1000 if (oldest := pending.get(w.name, (0, None))[1]) else 0.0
            for w in self.workers
        }
        rows = {w.name: float(pending.get(w.name, (0, None))[0]) for w in self.workers}
        verdicts = {k: float(v) for k, v in self._verdicts.items()}
        return "\n".join([
            m.gauge_lines("fence_sink_lag_seconds", "Age of the oldest undelivered event", "sink", lag),
            m.gauge_lines("fence_sink_pending", "Events waiting in the outbox", "sink", rows),
            m.gauge_lines("fence_fixes_not_applied", "Fixes heard but not applied, by reason "
                          "(evaluator verdicts since the last restore)", "reason", verdicts),
        ])

    def health(self) -> dict[str, object]:
        """A small health report (``/healthz``)."""
        pending = self.store.outbox_pending()
        ok = self.alive and self.failure is None
        return {
            "status": "ok" if ok else "down",
            "run": self.run_id,
            "failure": self.failure,
            "clock": self._view.clock_ms,
            "sinks": {
                w.name: {"pending": pending.get(w.name, (0, None))[0], "last_error": w.last_error}
                for w in self.workers
            },
        }

    def _drain_sinks(self, timeout_s: float) -> None:
        """Give the sinks a moment to deliver what is queued (what is left stays queued)."""
        if not self.workers:
            return
        for worker in self.workers:
            worker.wake()
        deadline = time.monotonic() + timeout_s
        names = {w.name for w in self.workers}
        while names & set(self.store.outbox_pending()) and time.monotonic() < deadline:
            time.sleep(0.05)

    @property
    def alive(self) -> bool:
        """True while the engine runs (its tick thread is alive and it was not stopped)."""
        return self._tick_thread.is_alive() and not self._stopping.is_set()

    # -- shutdown ---------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the sources, let the step in progress finish, save a snapshot, stop the
        sinks. Quick: nothing waits in a queue."""
        for source in self.sources:
            try:
                source.stop()
            except Exception:
                log.exception("input %s did not stop cleanly", source.name)
        self._stopping.set()
        with self._lock:
            self._accepting = False
        if self._tick_thread.is_alive():
            self._tick_thread.join()
        with self._snap_cond:
            self._snap_stop = True
            pending, self._snap_slot = self._snap_slot, None
            self._snap_cond.notify()
        if self._snap_thread.is_alive():
            self._snap_thread.join()
        if isinstance(pending, _ForkedSnapshot):  # reap it; the final snapshot follows
            os.waitpid(pending.pid, 0)
            pending.tmp.unlink(missing_ok=True)
        self._save_snapshot()
        self.recorder.close()
        self._drain_sinks(SINK_DRAIN_S)
        for worker in self.workers:
            worker.stop()
        if self.http is not None:
            self.http.stop()
        self.store.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the state folder

