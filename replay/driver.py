"""The replay driver: arrivals in, through the evaluator, events out.

Per arrival (contract section 2): a recorded arrival instant is a tick first
(``advance_to(rx)``), then the fix is one input step (``feed``). Inputs are fed in the
order given; the driver reorders nothing. With ``until_ms`` the clock runs on to that
instant at the end (timers due then fire); otherwise the replay ends with its last input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Protocol

from events.evaluator import Evaluator
from events.model import Event
from gnss.fix import Fix
from replay.readers import Arrival, ArrivalBatch, ArrivalStream, batches_of
from replay.sinks import EventSink

PROGRESS_EVERY = 16384


class StepObserver(Protocol):
    """Watches the replay step by step (the report and the plots use it)."""

    def on_events(self, events: Sequence[Event]) -> None:
        """Every event of a step, in the engine's order, before any filter."""

    def on_fix(self, fix: Fix, step_ms: int) -> None:
        """A fix that was fed, with the time of its step (after ``on_events`` of the timers)."""

    def on_end(self, end_ms: int) -> None:
        """The replay ended with the clock at ``end_ms``."""


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    """Window and filters.

    ``from_ms``/``to_ms`` select arrivals by replay time (arrival instant in recordings,
    else fix time), ``[from, to)``. ``terminal_patterns`` (shell patterns) select the fixes
    fed; ``zones`` selects the events written (events without a zone are left out).
    """

    from_ms: int | None = None
    to_ms: int | None = None
    until_ms: int | None = None
    terminal_patterns: tuple[str, ...] = ()
    zones: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.from_ms is not None and self.to_ms is not None and self.from_ms >= self.to_ms:
            raise ValueError("--from must be before --to")

    def wants_event(self, event: Event) -> bool:
        """Whether the zone filter lets this event through."""
        return self.zones is None or event.zone in self.zones


@dataclass(frozen=True, slots=True)
class ReplayStats:
    """What a replay did: fixes fed and left out, events written, and its time span."""

    fixes_fed: int
    fixes_filtered: int
    events_written: int
    events_total: int
    first_step_ms: int | None
    end_ms: int | None


class _TerminalFilter:
    """Shell-pattern match of terminal ids, remembered per id."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self._patterns = patterns
        self._known: dict[str, bool] = {}

    def __call__(self, terminal: str) -> bool:
        known = self._known.get(terminal)
        if known is None:
            known = any(fnmatchcase(terminal, p) for p in self._patterns)
            self._known[terminal] = known
        return known


@dataclass(slots=True)
class _Counts:
    written: int = 0
    total: int = 0


def _emitter(
    sink: EventSink, options: ReplayOptions, observer: StepObserver | None, counts: _Counts
) -> Callable[[list[Event]], None]:
    write = sink.write

    def emit(events: list[Event]) -> None:
        """Show the events to the observer, write those the zone filter keeps."""
        counts.total += len(events)
        if observer is not None:
            observer.on_events(events)
        for event in events:
            if options.wants_event(event):
                write(event)
                counts.written += 1

    return emit


def _positions(
    project_many: Callable[[list[float], list[float]], tuple[Any, Any]], fixes: list[Fix]
) -> Iterator[tuple[float, float] | None]:
    """The fixes projected into the metric CRS in one call (about a tenth of the cost of
    one call per fix); None for a fix without a position (the evaluator never projects it)."""
    lons = [f.lon for f in fixes if f.lon is not None]
    if not lons:
        return iter([None] * len(fixes))
    lats = [f.lat for f in fixes if f.lat is not None]
    xs, ys = project_many(lons, lats)
    placed = zip(xs.tolist(), ys.tolist(), strict=True)
    if len(lons) == len(fixes):
        return iter(placed)
    return (next(placed) if f.lat is not None else None for f in fixes)


def _feed_lean(
    evaluator: Evaluator, rx_list: list[int] | None, fixes: list[Fix],
    emit: Callable[[list[Event]], None],
) -> None:
    """A batch fed with nothing to check per item, in one ``feed_many`` call (it projects
    the batch at once); a recording's arrival instants become a tick before each fix."""
    events = evaluator.feed_many(fixes, ticks_ms=rx_list)
    if events:
        emit(events)


def _batches(arrivals: Iterable[Arrival]) -> Iterator[ArrivalBatch]:
    if isinstance(arrivals, ArrivalStream):
        return arrivals.batches()
    return batches_of(arrivals)


def run_replay(
    evaluator: Evaluator,
    arrivals: Iterable[Arrival],
    options: ReplayOptions,
    sink: EventSink,
    observer: StepObserver | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReplayStats:
    """Feed the arrivals through the evaluator, writing the events the filters let through.

    Without window, terminal filter or observer, batches after the first fix take the
    lean path (``_feed_lean``); otherwise the general loop, item by item. Both feed the
    same fixes and ticks in the same order.
    """
    counts = _Counts()
    emit = _emitter(sink, options, observer, counts)
    wanted = _TerminalFilter(options.terminal_patterns) if options.terminal_patterns else None
    advance_to, feed = evaluator.advance_to, evaluator.feed
    windowed = options.from_ms is not None or options.to_ms is not None
    lean = not windowed and wanted is None and observer is None
    lo_ms = options.from_ms if options.from_ms is not None else -(2**62)
    hi_ms = options.to_ms if options.to_ms is not None else 2**62
    fed = filtered = seen = 0
    first_step: int | None = None
    project_many = evaluator.index.project_many
    for rx_list, fixes in _batches(arrivals):
        if lean and first_step is not None:
            _feed_lean(evaluator, rx_list, fixes, emit)
            fed += len(fixes)
        else:
            rx_each: Sequence[int | None] = rx_list if rx_list is not None else [None] * len(fixes)
            positions = _positions(project_many, fixes)
            for rx_ms, fix, position_m in zip(rx_each, fixes, positions, strict=True):
                if windowed and not lo_ms <= (fix.t_ms if rx_ms is None else rx_ms) < hi_ms:
                    filtered += 1
                    continue
                if wanted is not None and not wanted(fix.terminal):
                    filtered += 1
                    continue
                if rx_ms is not None:
                    events = advance_to(rx_ms)
                    if events:
                        emit(events)
                events = feed(fix, position_m)
                if events:
                    emit(events)
                fed += 1
                if observer is not None:
                    step_ms = evaluator.clock_ms
                    if step_ms is not None:
                        observer.on_fix(fix, step_ms)
                if first_step is None:
                    first_step = evaluator.clock_ms
        if progress is not None and (seen + len(fixes)) // PROGRESS_EVERY > seen // PROGRESS_EVERY:
            progress(seen + len(fixes))
        seen += len(fixes)
    if options.until_ms is not None:
        events = advance_to(options.until_ms)
        if events:
            emit(events)
    end_ms = evaluator.clock_ms
    if observer is not None and end_ms is not None:
        observer.on_end(end_ms)
    if progress is not None:
        progress(seen)
    return ReplayStats(fed, filtered, counts.written, counts.total, first_step, end_ms)
