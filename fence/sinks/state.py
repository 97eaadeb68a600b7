"""Live state for retained MQTT topics: occupancy per zone and a change mark for alarms."""

from __future__ import annotations

import threading
from collections.abc import Mapping


class StateBoard:
    """Written by the evaluator thread, read by sink threads; versions tell what changed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._occupancy: dict[str, int] = {}
        self._occupancy_t_ms = 0
        self._occupancy_version = 0
        self._alarms_version = 0

    def set_occupancy(self, counts: Mapping[str, int], t_ms: int) -> None:
        """Record the counts per zone; bumps the version only when a count changed."""
        with self._lock:
            if dict(counts) != self._occupancy:
                self._occupancy = dict(counts)
                self._occupancy_t_ms = t_ms
                self._occupancy_version += 1

    def alarms_changed(self) -> None:
        """Mark that the set of open alarms may have changed."""
        with self._lock:
            self._alarms_version += 1

    def occupancy(self) -> tuple[int, int, dict[str, int]]:
        """(version, time of the counts, counts per zone)."""
        with self._lock:
            return self._occupancy_version, self._occupancy_t_ms, dict(self._occupancy)

    @property
    def alarms_version(self) -> int:
        """Increases whenever open alarms may have changed."""
        with self._lock:
            return self._alarms_version
