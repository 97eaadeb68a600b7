"""Track recording: every fix as received, with its arrival time; also the write-ahead log.

One JSON line per fix: the contract fix object (``gnss.fixjson.fix_to_obj``) plus
``"rx"``, the runtime's clock when the fix was accepted (interfaces.md, "Track
recording"). Files are ``track-YYYYMMDDTHHMMSSZ.jsonl`` (named after the first ``rx`` in
them), rotated by size or age; sorting the names sorts them in arrival order.

Each line (or the lines of the fixes of one source read) is written with one ``os.write``
before ``deliver()`` returns to the source, so a killed process (``kill -9``) never loses an acknowledged fix: the kernel has it. The
fsync policy decides what a power cut may lose: ``always`` (fsync every line, slow),
``interval`` (fsync at most every ``fsync_interval_s``, the default, and before every
snapshot) or ``never`` (the OS decides). A line torn by a crash is the one whose fix was
never acknowledged; ``repair_tail`` cuts it off before recovery reads the log.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from gnss.fix import Fix
from gnss.fixjson import FixLineError, fix_from_obj, fix_to_obj
from gnss.instant import InstantError, format_instant, parse_instant, to_datetime
from gnss.native import PURE_PYTHON

log = logging.getLogger("fence.runtime.tracks")

TRACK_NAME = re.compile(r"^track-\d{8}T\d{6}Z\.jsonl$")


class FsyncPolicy(Enum):
    """When track lines are forced to disk."""

    ALWAYS = "always"
    INTERVAL = "interval"
    NEVER = "never"


class TrackError(ValueError):
    """A track file that cannot be read as a recording (names file and line)."""


@dataclass(frozen=True, slots=True, order=True)
class TrackPosition:
    """A point in the recording: a file name and the byte offset just after a line."""

    file: str
    offset: int

    def __post_init__(self) -> None:
        if not TRACK_NAME.match(self.file):
            raise TrackError(f"not a track file name: {self.file!r}")
        if self.offset < 0:
            raise TrackError(f"negative offset {self.offset} in {self.file}")


@dataclass(frozen=True, slots=True)
class RecordedFix:
    """One line of a recording, read back."""

    fix: Fix
    rx_ms: int
    position: TrackPosition


def track_name(rx_ms: int) -> str:
    """The file name of a track file whose first line arrived at ``rx_ms``."""
    return to_datetime(rx_ms).strftime("track-%Y%m%dT%H%M%SZ.jsonl")


class _InstantText:
    """``format_instant`` with the text of the last whole second cached (fixes arrive in
    order, so consecutive calls share their second almost always)."""

    __slots__ = ("_second", "_prefix")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, t_ms: int) -> str:
        second, ms = divmod(t_ms, 1000)
        if second != self._second:
            self._second = second
            self._prefix = format_instant(second * 1000)[:-4]
        return f"{self._prefix}{ms:03d}Z"


_T_TEXT = _InstantText()
_RX_TEXT = _InstantText()
_TERMINAL_JSON: dict[str, str] = {}


def _number(value: float | int | None) -> str:
    """A number as ``json.dumps`` writes it."""
    if type(value) is float and -math.inf < value < math.inf:
        return repr(value)
    if value is None:
        return "null"
    if isinstance(value, float):
        return _float_text(value)
    return str(int(value))


def _float_text(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def track_line(fix: Fix, rx_ms: int) -> bytes:
    """One recording line (with newline) for a fix that arrived at ``rx_ms``.

    The same JSON object as ``fix_to_obj(fix)`` plus ``rx`` (checked by a property test),
    written without the generic encoder: this is the hot path of every accepted fix.
    Not thread-safe (the runtime calls it under its lock).
    """
    terminal = _TERMINAL_JSON.get(fix.terminal)
    if terminal is None:
        terminal = json.dumps(fix.terminal)
        if len(_TERMINAL_JSON) < 100_000:
            _TERMINAL_JSON[fix.terminal] = terminal
    lat, lon = fix.lat, fix.lon
    line = (f'{{"t": "{_T_TEXT(fix.t_ms)}", "terminal": {terminal}, "lat": '
            f'{_number(lat)}, "lon": '
            f'{_number(lon)}, "quality": '
            f'{int(fix.quality)}')
    for key, value in (("acc", fix.acc_m), ("alt", fix.alt_m), ("hdop", fix.hdop),
                       ("sats", fix.sats), ("speed", fix.speed_mps), ("course", fix.course_deg)):
        if value is not None:
            line += f', "{key}": {_number(value)}'
    return f'{line}, "rx": "{_RX_TEXT(rx_ms)}"}}\n'.encode()


TrackLines = Callable[[Sequence[Fix], int, Callable[[Fix, int], bytes]], bytes]


def _load_native() -> TrackLines | None:
    """``track_lines`` of the C extension ``fence.runtime._tracks``, or None when it was not
    compiled or the environment sets ``FENCE_PURE_PYTHON=1`` (tests/live/test_tracks.py
    fails when it is missing otherwise, so CI does not lose it unnoticed)."""
    if PURE_PYTHON:
        return None
    try:
        from fence.runtime import _tracks
    except ImportError:
        return None
    native: TrackLines = _tracks.track_lines
    return native


NATIVE_TRACK_LINES = _load_native()


def track_lines(fixes: Sequence[Fix], rx_ms: int) -> bytes:
    """The recording lines of fixes that arrived together at ``rx_ms``: byte-equal to
    ``track_line`` of each, formatted in C when the extension is built (~6x faster; any
    fix it does not handle exactly goes to ``track_line``)."""
    if NATIVE_TRACK_LINES is not None:
        return NATIVE_TRACK_LINES(fixes, rx_ms, track_line)
    return b"".join([track_line(fix, rx_ms) for fix in fixes])


def reference_track_line(fix: Fix, rx_ms: int) -> bytes:
    """The recording line built with the generic encoder (what ``track_line`` must equal)."""
    obj = fix_to_obj(fix)
    obj["rx"] = format_instant(rx_ms)
    return (json.dumps(obj, separators=(", ", ": ")) + "\n").encode()


def track_files(directory: Path) -> list[Path]:
    """The track files of a directory in arrival order."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if TRACK_NAME.match(p.name))


class TrackRecorder:
    """Appends fixes to rotating track files.

    ``append`` is called by one thread at a time (the runtime's input lock); ``sync`` may be
    called from any thread: it flushes a duplicate of the current descriptor outside the
    recorder's lock, so an fsync never holds up the inputs.
    """

    def __init__(
        self,
        directory: Path,
        *,
        rotate_bytes: int = 64 * 1024 * 1024,
        rotate_s: float = 3600.0,
        fsync: FsyncPolicy = FsyncPolicy.INTERVAL,
        fsync_interval_s: float = 1.0,
    ) -> None:
        if rotate_bytes <= 0 or rotate_s <= 0 or fsync_interval_s <= 0:
            raise TrackError("rotate_bytes, rotate_s and fsync_interval_s must be > 0")
        self.directory = directory
        self.rotate_bytes = rotate_bytes
        self.rotate_ms = int(rotate_s * 1000)
        self.fsync = fsync
        self.fsync_interval_ms = int(fsync_interval_s * 1000)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._name = ""
        self._offset = 0
        self._opened_rx_ms = 0
        self._dirty = False
        self._synced_ms = 0

    @property
    def position(self) -> TrackPosition | None:
        """The position just after the last line written (None before the first)."""
        with self._lock:
            return TrackPosition(self._name, self._offset) if self._fd is not None else None

    def _open(self, rx_ms: int) -> None:
        self._close()
        name = track_name(rx_ms)
        fd = os.open(self.directory / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._fd = fd
        self._name = name
        self._offset = os.fstat(fd).st_size
        self._opened_rx_ms = rx_ms
        fsync_path(self.directory)

    def _needs_rotation(self, rx_ms: int) -> bool:
        if self._fd is None:
            return True
        too_big = self._offset >= self.rotate_bytes
        too_old = rx_ms - self._opened_rx_ms >= self.rotate_ms
        # at most one file per second: names carry whole seconds
        return (too_big or too_old) and track_name(rx_ms) != self._name

    def append(self, fix: Fix, rx_ms: int) -> TrackPosition:
        """Write one fix; return the position after it. Durable against a process kill."""
        return self.append_many((fix,), rx_ms)

    def append_many(self, fixes: Sequence[Fix], rx_ms: int) -> TrackPosition:
        """Write fixes that arrived together (one read of a source) with one write;
        return the position after the last. Durable against a process kill."""
        data = track_lines(fixes, rx_ms)
        with self._lock:
            if self._needs_rotation(rx_ms):
                self._open(rx_ms)
            assert self._fd is not None
            written = os.write(self._fd, data)
            while written < len(data):
                written += os.write(self._fd, data[written:])
            self._offset += len(data)
            self._dirty = True
            position = TrackPosition(self._name, self._offset)
        if self.fsync is FsyncPolicy.ALWAYS:
            self.sync()
        return position

    def sync(self) -> None:
        """Force the lines written so far to disk (earlier files were synced when closed)."""
        with self._lock:
            if self._fd is None or not self._dirty:
                return
            fd = os.dup(self._fd)
            self._dirty = False
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def sync_if_due(self, now_ms: int) -> None:
        """Apply the ``interval`` policy (called from the runtime's tick thread)."""
        if self.fsync is FsyncPolicy.INTERVAL and now_ms - self._synced_ms >= self.fsync_interval_ms:
            self._synced_ms = now_ms
            try:
                self.sync()
            except OSError as exc:
                log.error("recording: fsync failed: %s (tried again at the next interval)", exc)

    def _close(self) -> None:
        if self._fd is not None:
            try:
                if self.fsync is not FsyncPolicy.NEVER:
                    os.fsync(self._fd)
            except OSError as exc:
                log.error("recording: fsync of %s failed on close: %s", self._name, exc)
            finally:
                os.close(self._fd)
                self._fd = None
                self._dirty = False

    def close(self) -> None:
        """Sync and close the current file."""
        with self._lock:
            self._close()


def fsync_path(path: Path) -> None:
    """Force a file's or a directory's contents to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def repair_tail(directory: Path, chunk_bytes: int = 64 * 1024) -> int:
    """Cut a torn last line off the newest track file; return the bytes removed.

    Reads the file backwards from its end in chunks until the last newline."""
    files = [p for p in track_files(directory) if p.is_file()]
    if not files:
        return 0
    last = files[-1]
    with open(last, "r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        end = size
        keep = 0
        while end > 0:
            start = max(0, end - chunk_bytes)
            handle.seek(start)
            newline = handle.read(end - start).rfind(b"\n")
            if newline >= 0:
                keep = start + newline + 1
                break
            end = start
        if keep == size:
            return 0
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    return size - keep


def parse_track_line(line: bytes, where: str) -> tuple[Fix, int]:
    """A recording line back to (fix, rx_ms); TrackError naming ``where`` when it is not one."""
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise TrackError(f"{where}: bad JSON: {exc}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("rx"), str):
        raise TrackError(f"{where}: no 'rx' arrival time")
    try:
        return fix_from_obj(obj), parse_instant(obj["rx"])
    except (FixLineError, InstantError) as exc:
        raise TrackError(f"{where}: {exc}") from None


def read_recording(directory: Path, after: TrackPosition | None = None) -> Iterator[RecordedFix]:
    """The recorded fixes after a position (all when None), in arrival order."""
    for path in track_files(directory):
        if after is not None and path.name < after.file:
            continue
        start = after.offset if after is not None and path.name == after.file else 0
        with open(path, "rb") as handle:
            handle.seek(start)
            offset = start
            for line in handle:
                if not line.endswith(b"\n"):
                    break  # torn tail: never acknowledged
                offset += len(line)
                fix, rx_ms = parse_track_line(line, f"{path.name}: byte {offset - len(line)}")
                yield RecordedFix(fix, rx_ms, TrackPosition(path.name, offset))
