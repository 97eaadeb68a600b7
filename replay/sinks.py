"""Where replayed events go: JSON Lines (contract section 6 plus extras) or CSV."""

from __future__ import annotations

import csv
from enum import Enum
from typing import Any, Protocol, TextIO

from events.model import Event
from events.output import event_to_line, event_to_obj
from zones.model import Site


class OutputFormat(Enum):
    """Event output formats."""

    JSONL = "jsonl"
    CSV = "csv"


class EventSink(Protocol):
    """Takes events in the engine's order."""

    def write(self, event: Event) -> None:
        """Write one event."""


class JsonlSink:
    """One contract JSON line per event (``events.output.event_to_line``)."""

    def __init__(self, out: TextIO, site: Site) -> None:
        self._out = out
        self._site = site

    def write(self, event: Event) -> None:
        """Write one event as a JSON line."""
        self._out.write(event_to_line(event, self._site) + "\n")


CSV_COLUMNS: tuple[str, ...] = (
    "t", "type", "state", "zone", "terminal", "count", "limit",
    "zone_name", "terminal_name", "severity", "lat", "lon", "quality", "id",
)


def _cell(value: Any) -> Any:
    return "" if value is None else value


class CsvSink:
    """One CSV row per event: the contract keys first, then the operator extras."""

    def __init__(self, out: TextIO, site: Site) -> None:
        self._writer = csv.writer(out, lineterminator="\n")
        self._site = site
        self._writer.writerow(CSV_COLUMNS)

    def write(self, event: Event) -> None:
        """Write one event as a CSV row (absent values as empty cells)."""
        obj = event_to_obj(event, self._site)
        self._writer.writerow([_cell(obj.get(column)) for column in CSV_COLUMNS])


def make_sink(fmt: OutputFormat, out: TextIO, site: Site) -> EventSink:
    """The sink for an output format."""
    if fmt is OutputFormat.CSV:
        return CsvSink(out, site)
    return JsonlSink(out, site)
