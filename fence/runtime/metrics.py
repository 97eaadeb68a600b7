"""Engine metrics: counters and a latency histogram, rendered as Prometheus text."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

LATENCY_BUCKETS_S: tuple[float, ...] = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
)


@dataclass(frozen=True, slots=True)
class CounterSpec:
    """A counter family: its name, help text and the label it is split by ('' for none)."""

    name: str
    help: str
    label: str


FIXES_IN = CounterSpec("fence_fixes_in_total", "Fixes accepted from inputs", "source")
DECODE_ERRORS = CounterSpec("fence_decode_errors_total", "Input items that are not fixes", "kind")
FIXES_UNREGISTERED = CounterSpec(
    "fence_fixes_unregistered_total", "Fixes from terminals not in the site (handled as persons)", ""
)
FIXES_NOT_APPLIED = CounterSpec(
    "fence_fixes_not_applied_total", "Fixes heard but not accepted as positions", "reason"
)
EVENTS = CounterSpec("fence_events_total", "Events raised or cleared", "type")
EVENTS_DEDUPED = CounterSpec(
    "fence_events_deduplicated_total", "Re-derived events already in the store", ""
)
SINK_DELIVERED = CounterSpec("fence_sink_delivered_total", "Events delivered per sink", "sink")
SINK_FAILURES = CounterSpec("fence_sink_failures_total", "Failed delivery attempts per sink", "sink")
RECOVERED_FIXES = CounterSpec(
    "fence_recovered_fixes_total", "Fixes re-applied from the recording at start-up", ""
)

COUNTERS: tuple[CounterSpec, ...] = (
    FIXES_IN, DECODE_ERRORS, FIXES_UNREGISTERED, FIXES_NOT_APPLIED, EVENTS, EVENTS_DEDUPED,
    SINK_DELIVERED, SINK_FAILURES, RECOVERED_FIXES,
)


class Metrics:
    """Thread-safe counters and the evaluator step latency histogram."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], int] = {}
        self._buckets = [0] * (len(LATENCY_BUCKETS_S) + 1)
        self._latency_sum_s = 0.0
        self._latency_n = 0
        self._gauges: list[Callable[[], str]] = []

    def inc(self, spec: CounterSpec, label: str = "", by: int = 1) -> None:
        """Add to a counter (``label`` is the value of the family's label)."""
        with self._lock:
            key = (spec.name, label)
            self._counts[key] = self._counts.get(key, 0) + by

    def get(self, spec: CounterSpec, label: str = "") -> int:
        """The current value of one counter."""
        with self._lock:
            return self._counts.get((spec.name, label), 0)

    def total(self, spec: CounterSpec) -> int:
        """The sum of a counter family over its labels."""
        with self._lock:
            return sum(v for (name, _), v in self._counts.items() if name == spec.name)

    def by_label(self, spec: CounterSpec) -> dict[str, int]:
        """The values of a counter family per label value."""
        with self._lock:
            return {label: v for (name, label), v in self._counts.items() if name == spec.name}

    def observe_step(self, seconds: float) -> None:
        """Record one evaluator step's duration."""
        self.observe_steps((seconds,))

    def observe_steps(self, durations_s: Sequence[float]) -> None:
        """Record the durations of several evaluator steps (one lock for all)."""
        buckets = self._buckets
        with self._lock:
            for seconds in durations_s:
                buckets[bisect.bisect_left(LATENCY_BUCKETS_S, seconds)] += 1
            self._latency_sum_s += sum(durations_s)
            self._latency_n += len(durations_s)

    def add_gauges(self, render: Callable[[], str]) -> None:
        """Add a callable that renders extra gauge lines (sink lag, verdicts)."""
        self._gauges.append(render)

    def render(self) -> str:
        """Prometheus text exposition format, version 0.0.4."""
        with self._lock:
            counts = dict(self._counts)
            buckets = list(self._buckets)
            lat_sum, lat_n = self._latency_sum_s, self._latency_n
        out: list[str] = []
        for spec in COUNTERS:
            out += [f"# HELP {spec.name} {spec.help}", f"# TYPE {spec.name} counter"]
            values = {label: v for (name, label), v in counts.items() if name == spec.name}
            if not spec.label:
                out.append(f"{spec.name} {values.get('', 0)}")
            for label, value in sorted(values.items()):
                if spec.label:
                    out.append(f'{spec.name}{{{spec.label}="{_escape(label)}"}} {value}')
        name = "fence_evaluator_step_seconds"
        out += [f"# HELP {name} Evaluator step latency", f"# TYPE {name} histogram"]
        running = 0
        for bound, n in zip(LATENCY_BUCKETS_S, buckets, strict=False):
            running += n
            out.append(f'{name}_bucket{{le="{bound}"}} {running}')
        out.append(f'{name}_bucket{{le="+Inf"}} {lat_n}')
        out += [f"{name}_sum {lat_sum:.6f}", f"{name}_count {lat_n}"]
        for render in self._gauges:
            out.append(render().rstrip("\n"))
        return "\n".join(out) + "\n"


def gauge_lines(name: str, help_text: str, label: str, values: Mapping[str, float]) -> str:
    """Render one gauge family."""
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    lines += [f'{name}{{{label}="{_escape(k)}"}} {v:g}' for k, v in sorted(values.items())]
    return "\n".join(lines)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
