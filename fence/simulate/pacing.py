"""The publishing loop: the only part of the simulator that reads the wall clock.

Message ``t_ms`` is simulated GNSS time; the loop sends each message when
``(t_ms - start_ms) / speed`` seconds of wall time have passed since it began
(``speed`` None: as fast as possible, for load tests).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fence.simulate.simulator import Message


@dataclass(frozen=True, slots=True)
class RunStats:
    """What a publishing run did."""

    messages: int
    payload_bytes: int
    wall_s: float
    sim_s: float
    max_lag_s: float  # how far behind its schedule the loop fell at worst


def publish(
    messages: Iterable[Message],
    send: Callable[[Message], None],
    *,
    start_ms: int,
    speed: float | None = 1.0,
    stop: threading.Event | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> RunStats:
    """Send every message at its paced wall time; returns early when ``stop`` is set.

    The wall clock starts when the first message is ready (building thousands of
    terminals' plans takes a few seconds and must not count as lag).
    """
    if speed is not None and speed <= 0:
        raise ValueError(f"speed must be > 0 (or None for as fast as possible), got {speed}")
    stop = stop if stop is not None else threading.Event()
    stream = iter(messages)
    first = next(stream, None)
    began = monotonic()
    count = size = 0
    max_lag = 0.0
    last_ms = start_ms
    for message in itertools.chain([] if first is None else [first], stream):
        if stop.is_set():
            break
        if speed is not None:
            due = began + (message.t_ms - start_ms) / 1000.0 / speed
            wait = due - monotonic()
            if wait > 0:
                if stop.wait(wait):
                    break
            else:
                max_lag = max(max_lag, -wait)
        send(message)
        count += 1
        size += len(message.payload)
        last_ms = message.t_ms
    return RunStats(count, size, monotonic() - began, (last_ms - start_ms) / 1000.0, max_lag)
