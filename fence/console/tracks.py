"""Reading the engine's track recordings (``tracks/track-YYYYMMDDTHHMMSSZ.jsonl``).

Each line is a contract fix object plus ``rx``, the arrival instant. History replay
selects by fix time ``t`` (the time events carry). A file covers the arrival times
from the instant in its name up to the next file's. A fix arrives after its time, by
little in live operation but by minutes after a terminal's outage (late fixes), and
receiver clocks may run a little ahead; so a file is read when its arrival span
overlaps ``[from - AHEAD_MS, to + LATE_MS]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gnss.instant import InstantError, from_datetime, parse_instant

_NAME = re.compile(r"^track-(\d{8}T\d{6}Z)(?:[-.].*)?\.jsonl$")
AHEAD_MS = 60_000
LATE_MS = 15 * 60_000


@dataclass(frozen=True, slots=True)
class TrackPoint:
    """One recorded position: fix time, terminal, position and quality."""

    t_ms: int
    terminal: str
    lon: float
    lat: float
    quality: int


@dataclass(frozen=True, slots=True)
class TrackRead:
    """Positions read from recordings; ``truncated`` when ``max_points`` stopped the read."""

    points: tuple[TrackPoint, ...]
    truncated: bool
    skipped_lines: int


def recording_files(tracks_dir: Path) -> list[tuple[int, Path]]:
    """Recording files with the start instant (epoch ms) in their names, oldest first."""
    if not tracks_dir.is_dir():
        return []
    found = []
    for path in tracks_dir.iterdir():
        m = _NAME.match(path.name)
        if m is None:
            continue
        start = datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        found.append((from_datetime(start), path))
    return sorted(found)


def files_for_range(tracks_dir: Path, from_ms: int, to_ms: int) -> list[Path]:
    """The recording files that may hold fixes with ``from_ms <= t <= to_ms``."""
    files = recording_files(tracks_dir)
    chosen = []
    for i, (start_ms, path) in enumerate(files):
        end_ms = files[i + 1][0] if i + 1 < len(files) else None
        if start_ms > to_ms + LATE_MS:
            continue
        if end_ms is not None and end_ms < from_ms - AHEAD_MS:
            continue
        chosen.append(path)
    return chosen


def _positions(path: Path, terminal: str | None) -> Iterator[TrackPoint | None]:
    """Positions of one file; None for a line that is not a usable fix."""
    needle = json.dumps(terminal) if terminal is not None else None
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if needle is not None and needle not in line:
                continue
            yield _point(line)


def _point(line: str) -> TrackPoint | None:
    try:
        obj = json.loads(line)
        t_ms = parse_instant(obj["t"])
        lat, lon, quality = obj.get("lat"), obj.get("lon"), obj["quality"]
        terminal = obj["terminal"]
    except (ValueError, KeyError, TypeError, InstantError):
        return None
    if not isinstance(lat, (int, float)) or not isinstance(lon, (int, float)):
        return None
    if not isinstance(terminal, str) or not isinstance(quality, int):
        return None
    return TrackPoint(t_ms, terminal, float(lon), float(lat), quality)


def read_range(
    tracks_dir: Path,
    from_ms: int,
    to_ms: int,
    terminal: str | None,
    min_step_ms: int,
    max_points: int,
) -> TrackRead:
    """Positions with fix time in ``[from_ms, to_ms]``, at most one per terminal per
    ``min_step_ms`` (downsampling), stopping at ``max_points``."""
    last_kept: dict[str, int] = {}
    points: list[TrackPoint] = []
    skipped = 0
    for path in files_for_range(tracks_dir, from_ms, to_ms):
        for point in _positions(path, terminal):
            if point is None:
                skipped += 1
                continue
            if not from_ms <= point.t_ms <= to_ms:
                continue
            if terminal is not None and point.terminal != terminal:
                continue
            previous = last_kept.get(point.terminal)
            if previous is not None and abs(point.t_ms - previous) < min_step_ms:
                continue
            if len(points) >= max_points:
                return TrackRead(tuple(points), True, skipped)
            last_kept[point.terminal] = point.t_ms
            points.append(point)
    return TrackRead(tuple(points), False, skipped)
