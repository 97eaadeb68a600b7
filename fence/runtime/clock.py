"""The runtime's one clock: wall-clock epoch ms, injectable so tests can drive time."""

from __future__ import annotations

import time
from collections.abc import Callable

ClockMs = Callable[[], int]


def wall_clock_ms() -> int:
    """The system's UTC time in epoch milliseconds (the only wall-clock read of the engine)."""
    return time.time_ns() // 1_000_000
