"""Readers of replay inputs, each a stream of ``Arrival`` items in file order.

Formats: contract fix JSON Lines, the engine's track recordings (fix JSON Lines with the
arrival instant ``rx``), raw NMEA, CSV (``t, terminal, lat, lon, quality[, acc]``) and GPX.
A line that is not a valid fix is skipped and reported with file and line (``SkipLog``);
it is not heard and does not move the clock (contract 1.1). Several inputs are merged by
their replay time (``merge_arrivals``); one input keeps its file order exactly.

Readers produce ``ArrivalBatch``es (consecutive items of one input); an ``ArrivalStream``
iterates as single items and hands its batches to the driver, so a single input costs
nothing per item between the parser and the evaluator.
"""

from __future__ import annotations

import csv
import heapq
import io
import json
import math
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, NamedTuple, TextIO
from xml.parsers import expat

from msgspec import UNSET

from gnss import native as gnss_native
from gnss.decoder import NmeaDecoder
from gnss.errors import DecodeError
from gnss.fix import Fix
from gnss.fixjson import FastLines, FixLineError, decode_fix_lines, fix_from_obj
from gnss.instant import InstantError, parse_instant
from replay.opening import (
    InputError,
    InputFormat,
    InputSpec,
    OpenedInput,
    id_from_name,
    open_input,
)


class Arrival(NamedTuple):
    """One input step: a fix, and its recorded arrival instant (None outside recordings)."""

    rx_ms: int | None
    fix: Fix


def arrival_key(item: Arrival) -> int:
    """The replay time of an item: its arrival instant when recorded, else the fix time."""
    return item.fix.t_ms if item.rx_ms is None else item.rx_ms


class ArrivalBatch(NamedTuple):
    """Consecutive items of one input: the fixes, and their arrival instants (``rx_ms``
    None: no recorded arrival instants; else one per fix)."""

    rx_ms: list[int] | None
    fixes: list[Fix]

    def arrivals(self) -> Iterator[Arrival]:
        """The batch as single items."""
        if self.rx_ms is None:
            return (Arrival(None, fix) for fix in self.fixes)
        return (Arrival(rx, fix) for rx, fix in zip(self.rx_ms, self.fixes, strict=True))


BATCH = 1024  # items per batch where a reader does not batch by itself


def batches_of(items: Iterable[Arrival]) -> Iterator[ArrivalBatch]:
    """Items grouped into batches of up to ``BATCH`` (a batch never mixes items with and
    without an arrival instant)."""
    it = iter(items)
    while chunk := list(islice(it, BATCH)):
        start = 0
        for end in range(1, len(chunk) + 1):
            if end == len(chunk) or (chunk[end].rx_ms is None) != (chunk[start].rx_ms is None):
                part = chunk[start:end]
                rx = None if part[0].rx_ms is None else [a.rx_ms for a in part if a.rx_ms is not None]
                yield ArrivalBatch(rx, [a.fix for a in part])
                start = end


class ArrivalStream:
    """A one-pass stream of arrivals: iterate it for single items, or take its batches."""

    def __init__(self, batches: Iterator[ArrivalBatch]) -> None:
        self._batches = batches

    def __iter__(self) -> Iterator[Arrival]:
        for batch in self._batches:
            yield from batch.arrivals()

    def batches(self) -> Iterator[ArrivalBatch]:
        """The batches not yet consumed."""
        return self._batches


@dataclass(frozen=True, slots=True)
class Skipped:
    """A skipped input line: where it is and why it is not a fix (``line`` None: the rest
    of an input that could not be read further)."""

    source: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.reason}"


@dataclass(slots=True)
class SkipLog:
    """Counts skipped lines per input; writes the first ``shown_per_input`` of each to ``out``."""

    out: TextIO | None
    shown_per_input: int = 20
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, skipped: Skipped) -> None:
        """Count one skipped line, and report it while under the per-input limit."""
        seen = self.counts.get(skipped.source, 0) + 1
        self.counts[skipped.source] = seen
        if self.out is not None and seen <= self.shown_per_input:
            self.out.write(f"fence replay: skipped {skipped}\n")

    @property
    def total(self) -> int:
        """Skipped lines over every input."""
        return sum(self.counts.values())

    def summary(self) -> list[str]:
        """One line per input that had skipped lines more than were shown."""
        return [
            f"fence replay: {source}: {count} lines skipped in all"
            for source, count in sorted(self.counts.items())
            if count > self.shown_per_input
        ]


@dataclass(frozen=True, slots=True)
class ReaderOptions:
    """Options for single-terminal formats (NMEA, GPX) and for GPX quality."""

    terminal_id: str | None = None
    gpx_quality: int | None = None

    def __post_init__(self) -> None:
        if self.terminal_id is not None and not self.terminal_id:
            raise ValueError("terminal id is empty")
        if self.gpx_quality is not None and not 0 <= self.gpx_quality <= 9:
            raise ValueError(f"GPX quality {self.gpx_quality} outside 0-9")


Reader = Callable[[OpenedInput, SkipLog, ReaderOptions], Iterator[ArrivalBatch]]

_TRACK_MODE: dict[InputFormat, bool] = {InputFormat.FIXES: False, InputFormat.TRACK: True}


class _JsonLines:
    """What every fix JSON line goes through, fast path or not: the format of the input
    (told by its first valid line), the ``rx`` of recordings, the skipped lines."""

    def __init__(self, opened: OpenedInput, skips: SkipLog) -> None:
        self.source = opened.spec.display
        self.skips = skips
        self.track: bool | None = _TRACK_MODE.get(opened.format)
        self._decode = json.JSONDecoder().decode  # str lines: no per-line encoding detection

    def reference(self, line: str, number: int) -> Arrival | None:
        """One line (text as read, with its newline) by the reference parser."""
        try:
            if not line.isascii():
                line.encode("utf-8")  # bytes that are not UTF-8 came in as lone surrogates
            obj = self._decode(line)
            fix = fix_from_obj(obj)
        except RecursionError:
            self.skips.add(Skipped(self.source, number, "bad JSON: nested too deep"))
            return None
        except (ValueError, FixLineError) as exc:
            if line.strip():
                self.skips.add(Skipped(self.source, number, _json_reason(exc)))
            return None
        return self.placed(fix, "rx" in obj, obj.get("rx"), number)

    def placed(self, fix: Fix, has_rx: bool, rx: Any, number: int) -> Arrival | None:
        """A valid fix line as an item: with its arrival instant in a recording."""
        if self.track is None:
            self.track = has_rx
        if not self.track:
            return Arrival(None, fix)
        if not isinstance(rx, str):
            self.skips.add(Skipped(self.source, number, "track recording line without a string 'rx'"))
            return None
        try:
            return Arrival(parse_instant(rx), fix)
        except InstantError as exc:
            self.skips.add(Skipped(self.source, number, f"'rx': {exc}"))
            return None


def read_jsonl_reference(
    opened: OpenedInput, skips: SkipLog, options: ReaderOptions
) -> Iterator[ArrivalBatch]:
    """Fix JSON Lines through the reference parser, line by line (what ``read_jsonl`` must
    equal; the benchmark's baseline)."""
    lines = _JsonLines(opened, skips)
    text = io.TextIOWrapper(opened.stream, encoding="utf-8", errors="surrogateescape")
    items = (lines.reference(line, number) for number, line in enumerate(text, 1))
    yield from batches_of(item for item in items if item is not None)


JSONL_CHUNK_BYTES = 1 << 17


def _line_chunks(stream: io.BufferedReader[Any], chunk_bytes: int) -> Iterator[tuple[list[bytes], bool]]:
    """The lines of a stream a chunk at a time, split as text mode splits them (LF, CRLF
    and a lone CR end a line), without their ends; the flag says whether the chunk's last
    line had one (only the end of the input may lack it)."""
    parts: list[bytes] = []
    while data := stream.read1(chunk_bytes):
        cut = data.rfind(b"\n") + 1
        if not cut:
            parts.append(data)
            continue
        chunk = b"".join((*parts, data[:cut])) if parts else data[:cut]
        parts = [data[cut:]] if cut < len(data) else []
        yield _split_lines(chunk[:-1] if b"\r" not in chunk else _universal(chunk)[:-1]), True
    if parts:
        rest = b"".join(parts)
        if b"\r" in rest:
            rest = _universal(rest)
        ended = rest.endswith(b"\n")
        yield _split_lines(rest[:-1] if ended else rest), ended


def _universal(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def _split_lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def read_jsonl(opened: OpenedInput, skips: SkipLog, options: ReaderOptions) -> Iterator[ArrivalBatch]:
    """Fix JSON Lines, or a track recording when the first valid line carries ``rx``.

    In a recording every line must carry a valid ``rx``; ``--input-format fixes`` replays
    a recording by fix times alone. Blank lines are ignored. Lines are read a chunk at a
    time through the fast decoder (``gnss.fixjson.decode_fix_lines``); a line it does not
    take goes to the reference parser, so fixes and messages are the reference's.
    """
    lines = _JsonLines(opened, skips)
    number = 0
    for chunk, ended in _line_chunks(opened.stream, JSONL_CHUNK_BYTES):
        fast = decode_fix_lines(chunk)
        batch = _fast_batch(lines, chunk, fast) if len(fast.fixes) == len(chunk) else None
        if batch is None:
            items = _mixed(lines, chunk, ended, number, fast)
            rx_ms = [a.rx_ms for a in items if a.rx_ms is not None] if lines.track else None
            batch = ArrivalBatch(rx_ms, [a.fix for a in items])
        if batch.fixes:
            yield batch
        number += len(chunk)


def _fast_batch(lines: _JsonLines, chunk: list[bytes], fast: FastLines) -> ArrivalBatch | None:
    """A chunk whose every line the fast path took, when no line needs a closer look:
    a fix log whose lines carry no ``rx`` (or one whose format is settled), or a
    recording whose every ``rx`` parses. None: go line by line."""
    if not chunk:
        return None
    if lines.track is None:
        has_rx = [rx is not UNSET for rx in fast.rx]
        if any(has_rx) and not all(has_rx):
            return None
        lines.track = has_rx[0]
    if not lines.track:
        return ArrivalBatch(None, fast.fixes)
    texts = [rx for rx in fast.rx if isinstance(rx, str)]
    if len(texts) != len(chunk):
        return None
    try:
        return ArrivalBatch([parse_instant(text) for text in texts], fast.fixes)
    except InstantError:
        return None


def _mixed(lines: _JsonLines, chunk: list[bytes], ended: bool, number: int,
           fast: FastLines) -> list[Arrival]:
    """A chunk line by line: the fast path's fix where it took the line, else the reference."""
    taken = dict(zip(fast.taken, zip(fast.fixes, fast.rx, strict=True), strict=True))
    last = len(chunk) - 1
    items: list[Arrival] = []
    for index, raw in enumerate(chunk):
        got = taken.get(index)
        if got is not None:
            item = lines.placed(got[0], got[1] is not UNSET, got[1], number + index + 1)
        else:
            text = raw.decode("utf-8", "surrogateescape")
            item = lines.reference(text if index == last and not ended else text + "\n",
                                   number + index + 1)
        if item is not None:
            items.append(item)
    return items


def _json_reason(exc: Exception) -> str:
    if isinstance(exc, FixLineError):
        return str(exc)
    if isinstance(exc, UnicodeError):
        return "not UTF-8 text"
    return f"bad JSON: {exc}"


def read_nmea(opened: OpenedInput, skips: SkipLog, options: ReaderOptions) -> Iterator[ArrivalBatch]:
    """Raw NMEA 0183 through the GNSS decoder; the terminal id is the option or file name.

    Decoder errors are reported as skipped lines with the decoder's line number. The
    bytes go to the decoder in chunks of half the read buffer, so many merged inputs
    hold few decoded fixes each.
    """
    source = opened.spec.display
    terminal = options.terminal_id or id_from_name(opened.spec)
    if terminal is None:
        raise InputError(f"{source}: NMEA without a file name: name its terminal with --terminal-id")
    decoder = NmeaDecoder(terminal)
    lines_fed = 0
    chunk_bytes = min(NMEA_CHUNK_BYTES, max(opened.spec.buffer_bytes // 2, 1024))
    while chunk := opened.stream.read1(chunk_bytes):
        lines_fed += chunk.count(b"\n")
        yield _decoded(decoder.feed(chunk), source, lines_fed, skips)
    yield _decoded(decoder.flush(), source, lines_fed + 1, skips)


NMEA_CHUNK_BYTES = 1 << 16


def _decoded(
    items: Sequence[Fix | DecodeError], source: str, lines_fed: int, skips: SkipLog
) -> ArrivalBatch:
    fixes: list[Fix] = []
    for item in items:
        if isinstance(item, Fix):
            fixes.append(item)
        else:
            line = item.line if item.line is not None else max(lines_fed, 1)
            skips.add(Skipped(source, line, f"{item.kind.value}: {item.detail}"))
    return ArrivalBatch(None, fixes)


_CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "t": ("t", "time", "timestamp"),
    "terminal": ("terminal", "terminal_id", "id"),
    "lat": ("lat", "latitude"),
    "lon": ("lon", "lng", "longitude"),
    "quality": ("quality", "fix_quality"),
    "acc": ("acc", "accuracy", "acc_m"),
}
_CSV_REQUIRED = ("t", "terminal", "lat", "lon", "quality")
_CSV_POSITIONAL = {"t": 0, "terminal": 1, "lat": 2, "lon": 3, "quality": 4, "acc": 5}


def _csv_header(row: Sequence[str], source: str) -> dict[str, int] | None:
    """Column positions from a header row, or None when the row is data (no header)."""
    cells = [cell.strip().lower() for cell in row]
    if not cells or not any(name in cells for name in _CSV_COLUMNS["t"]):
        return None
    positions: dict[str, int] = {}
    for key, names in _CSV_COLUMNS.items():
        for name in names:
            if name in cells:
                positions[key] = cells.index(name)
                break
    missing = [key for key in _CSV_REQUIRED if key not in positions]
    if missing:
        raise InputError(f"{source}:1: CSV header lacks column(s) {', '.join(missing)}")
    return positions


def _csv_number(cell: str, key: str) -> float | None:
    text = cell.strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        raise FixLineError(f"{key} {text!r} is not a number") from None
    if not math.isfinite(number):
        raise FixLineError(f"{key} {text!r} is not a finite number")
    return number


def _csv_quality(cell: str) -> int:
    text = cell.strip()
    if not text.isdigit():
        raise FixLineError(f"quality {text!r} is not an integer 0-9")
    return int(text)


def _csv_fix(row: Sequence[str], columns: dict[str, int]) -> Fix:
    if len(row) <= max(columns[key] for key in _CSV_REQUIRED):
        raise FixLineError(f"{len(row)} columns, expected at least {len(_CSV_REQUIRED)}")
    cell = {key: (row[pos] if pos < len(row) else "") for key, pos in columns.items()}
    obj = {
        "t": cell["t"].strip(),
        "terminal": cell["terminal"].strip(),
        "lat": _csv_number(cell["lat"], "lat"),
        "lon": _csv_number(cell["lon"], "lon"),
        "quality": _csv_quality(cell["quality"]),
        "acc": _csv_number(cell.get("acc", ""), "acc"),
    }
    return fix_from_obj(obj)


def read_csv(opened: OpenedInput, skips: SkipLog, options: ReaderOptions) -> Iterator[ArrivalBatch]:
    """CSV with columns t, terminal, lat, lon, quality[, acc], with or without a header.

    An empty lat/lon cell means no position (never 0.0); other cells must be numbers.
    """
    return batches_of(_csv_items(opened, skips))


def _csv_items(opened: OpenedInput, skips: SkipLog) -> Iterator[Arrival]:
    source = opened.spec.display
    text = io.TextIOWrapper(opened.stream, encoding="utf-8", errors="replace", newline="")
    rows = csv.reader(text)
    columns: dict[str, int] | None = None
    for row in rows:
        number = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        if columns is None:
            columns = _csv_header(row, source)
            if columns is not None:
                continue
            columns = {k: v for k, v in _CSV_POSITIONAL.items() if k != "acc" or len(row) > v}
        try:
            yield Arrival(None, _csv_fix(row, columns))
        except (FixLineError, ValueError) as exc:
            skips.add(Skipped(source, number, str(exc)))


_GPX_FIX_QUALITY = {"none": 0, "2d": 1, "3d": 1, "dgps": 2, "pps": 3}


@dataclass(slots=True)
class _GpxPoint:
    """A trkpt being read (the parser fills it between its start and end tags)."""

    line: int
    lat: str | None
    lon: str | None
    time: str | None = None
    fix: str | None = None


@dataclass(slots=True)
class _GpxState:
    """What the GPX parser has seen so far: the track name, the open point, the text."""

    track_name: str | None = None
    point: _GpxPoint | None = None
    text: list[str] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    done: list[tuple[_GpxPoint, str | None]] = field(default_factory=list)


def _local(name: str) -> str:
    return name.rsplit(" ", 1)[-1]


def _gpx_fix(point: _GpxPoint, terminal: str, quality: int | None) -> Fix:
    lat = _csv_number(point.lat or "", "lat")
    lon = _csv_number(point.lon or "", "lon")
    if lat is None or lon is None:
        raise FixLineError("trkpt without lat/lon")
    if point.time is None:
        raise FixLineError("trkpt without <time>")
    try:
        t_ms = parse_instant(point.time.strip())
    except InstantError as exc:
        raise FixLineError(str(exc)) from None
    if quality is None:
        fix_kind = (point.fix or "3d").strip().lower()
        if fix_kind not in _GPX_FIX_QUALITY:
            raise FixLineError(f"<fix> {point.fix!r} is not one of {sorted(_GPX_FIX_QUALITY)}")
        quality = _GPX_FIX_QUALITY[fix_kind]
    return Fix(t_ms, terminal, lat, lon, quality)


def _gpx_parser(state: _GpxState) -> expat.XMLParserType:
    parser = expat.ParserCreate(namespace_separator=" ")

    def start(name: str, attrs: dict[str, str]) -> None:
        """Open an element; a trkpt starts a point at its line."""
        local = _local(name)
        state.path.append(local)
        state.text.clear()
        if local == "trkpt":
            state.point = _GpxPoint(parser.CurrentLineNumber, attrs.get("lat"), attrs.get("lon"))

    def end(name: str) -> None:
        """Close an element: finish a point, or keep its time, fix or the track name."""
        local = _local(name)
        state.path.pop()
        text = "".join(state.text)
        point = state.point
        if local == "trkpt" and point is not None:
            state.done.append((point, state.track_name))
            state.point = None
        elif point is not None and local == "time":
            point.time = text
        elif point is not None and local == "fix":
            point.fix = text
        elif local == "name" and state.path[-1:] == ["trk"]:
            state.track_name = text.strip() or None
        elif local == "trk":
            state.track_name = None

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = state.text.append
    return parser


def read_gpx(opened: OpenedInput, skips: SkipLog, options: ReaderOptions) -> Iterator[ArrivalBatch]:
    """GPX track points (trkpt lat/lon and time), streamed.

    Terminal: the option, else the track's ``<name>``, else the file name. Quality: the
    option, else the point's ``<fix>`` (none 0, 2d/3d 1, dgps 2, pps 3), else 1. A point
    that is not a fix is skipped with its line; an XML syntax error ends the file there.
    """
    return batches_of(_gpx_items(opened, skips, options))


def _gpx_items(opened: OpenedInput, skips: SkipLog, options: ReaderOptions) -> Iterator[Arrival]:
    source = opened.spec.display
    default_terminal = id_from_name(opened.spec)
    state = _GpxState()
    parser = _gpx_parser(state)
    while True:
        chunk = opened.stream.read(1 << 16)
        try:
            parser.Parse(chunk, not chunk)
        except expat.ExpatError as exc:
            yield from _gpx_flush(state, source, default_terminal, options, skips)
            skips.add(Skipped(source, exc.lineno, f"XML syntax error, rest of file not read: "
                                                  f"{expat.ErrorString(exc.code)}"))
            return
        yield from _gpx_flush(state, source, default_terminal, options, skips)
        if not chunk:
            return


def _gpx_flush(
    state: _GpxState, source: str, default_terminal: str | None, options: ReaderOptions,
    skips: SkipLog,
) -> Iterator[Arrival]:
    done = list(state.done)
    state.done.clear()
    for point, track_name in done:
        terminal = options.terminal_id or track_name or default_terminal
        if terminal is None:
            raise InputError(f"{source}:{point.line}: track without <name> and input without a "
                             "file name: name its terminal with --terminal-id")
        try:
            yield Arrival(None, _gpx_fix(point, terminal, options.gpx_quality))
        except (FixLineError, ValueError) as exc:
            skips.add(Skipped(source, point.line, str(exc)))


READERS: dict[InputFormat, Reader] = {
    InputFormat.FIXES: read_jsonl,
    InputFormat.TRACK: read_jsonl,
    InputFormat.JSONL: read_jsonl,
    InputFormat.NMEA: read_nmea,
    InputFormat.CSV: read_csv,
    InputFormat.GPX: read_gpx,
}


def read_input(
    opened: OpenedInput, skips: SkipLog, options: ReaderOptions,
    readers: dict[InputFormat, Reader] = READERS,
) -> ArrivalStream:
    """The items of one opened input in file order; closes it at the end.

    An input that breaks off (a truncated or corrupt gzip stream, a read error) ends
    there: what was read is replayed, the break is reported and counted as one skip.
    ``readers`` picks the reader per format (the benchmark passes the reference readers).
    """
    return ArrivalStream(_input_batches(opened, skips, options, readers))


def _input_batches(
    opened: OpenedInput, skips: SkipLog, options: ReaderOptions, readers: dict[InputFormat, Reader]
) -> Iterator[ArrivalBatch]:
    try:
        yield from readers[opened.format](opened, skips, options)
    except (OSError, EOFError, zlib.error) as exc:
        skips.add(Skipped(opened.spec.display, None,
                          f"input breaks off, rest not read: {exc or type(exc).__name__}"))
    finally:
        opened.close()


def read_group(
    specs: Sequence[InputSpec],
    skips: SkipLog,
    options: ReaderOptions,
    on_open: Callable[[OpenedInput], None] | None = None,
    readers: dict[InputFormat, Reader] = READERS,
) -> ArrivalStream:
    """The items of several inputs read one after another (files of one recording),
    each opened only when the previous one is done."""
    return ArrivalStream(_group_batches(specs, skips, options, on_open, readers))


def _group_batches(
    specs: Sequence[InputSpec],
    skips: SkipLog,
    options: ReaderOptions,
    on_open: Callable[[OpenedInput], None] | None,
    readers: dict[InputFormat, Reader],
) -> Iterator[ArrivalBatch]:
    for spec in specs:
        opened = open_input(spec)
        if on_open is not None:
            on_open(opened)
        yield from _input_batches(opened, skips, options, readers)


def merge_arrivals(streams: Sequence[Iterable[Arrival]], native: bool = True) -> Iterable[Arrival]:
    """Merge inputs by replay time (k-way, streaming); ties keep input order.

    Each input keeps its own order even where it is not sorted (late fixes stay late);
    a single input is passed through unchanged (in its batches). Batched inputs are
    merged by the C step (``gnss._scan.merge_into``) when the extension is built and
    ``native`` is true, else by ``_merge_batches`` (the reference): the same items in
    the same batches.
    """
    if len(streams) == 1:
        only = streams[0]
        return only if isinstance(only, ArrivalStream) else iter(only)
    batched = [stream for stream in streams if isinstance(stream, ArrivalStream)]
    if len(batched) == len(streams):
        inputs = [stream.batches() for stream in batched]
        step = gnss_native.merge_into if native else None
        return ArrivalStream(_merge_batches(inputs) if step is None else _merge_native(inputs, step))
    return heapq.merge(*streams, key=arrival_key)


@dataclass(slots=True)
class _Cursor:
    """Where the merge is in one input: its current batch, the replay times of its items
    and the position of the next item."""

    batches: Iterator[ArrivalBatch]
    rx_ms: list[int] | None = None
    fixes: list[Fix] = field(default_factory=list)
    keys: list[int] = field(default_factory=list)
    pos: int = 0

    def next_batch(self) -> bool:
        """Move to the next non-empty batch (its items and arrival instants, position 0);
        False at the end of the input."""
        for batch in self.batches:
            if batch.fixes:
                self.rx_ms, self.fixes, self.pos = batch.rx_ms, batch.fixes, 0
                return True
        return False

    def load(self) -> bool:
        """``next_batch``, and the replay times of its items."""
        if not self.next_batch():
            return False
        self.keys = self.rx_ms if self.rx_ms is not None else [f.t_ms for f in self.fixes]
        return True


def _merge_batches(inputs: Sequence[Iterator[ArrivalBatch]]) -> Iterator[ArrivalBatch]:
    """``heapq.merge`` by ``arrival_key`` over the items of batched inputs (the same
    algorithm: the smallest (replay time, input number) head next, then that input's next
    item), with batches out and no per-item tuples or key calls. The heap holds
    ``time * inputs + input number``: one int compares as the pair does, and faster."""
    width = len(inputs)
    cursors = [_Cursor(batches) for batches in inputs]
    heap = [cursor.keys[0] * width + order for order, cursor in enumerate(cursors) if cursor.load()]
    heapq.heapify(heap)
    out_rx: list[int] = []
    out_fixes: list[Fix] = []
    out_recorded = False
    while heap:
        head = heap[0]
        cursor = cursors[head % width]
        pos = cursor.pos
        recorded = cursor.rx_ms is not None
        if out_fixes and (recorded != out_recorded or len(out_fixes) >= BATCH):
            yield ArrivalBatch(out_rx if out_recorded else None, out_fixes)
            out_rx, out_fixes = [], []
        out_recorded = recorded
        out_fixes.append(cursor.fixes[pos])
        if recorded:
            out_rx.append(cursor.keys[pos])
        cursor.pos = pos + 1
        if cursor.pos < len(cursor.keys) or cursor.load():
            heapq.heapreplace(heap, cursor.keys[cursor.pos] * width + head % width)
        else:
            heapq.heappop(heap)
    if out_fixes:
        yield ArrivalBatch(out_rx if out_recorded else None, out_fixes)


_SETTLE_LOADED, _SETTLE_ENDED = 1, 2


def _merge_native(inputs: Sequence[Iterator[ArrivalBatch]], step: gnss_native.MergeInto) -> Iterator[ArrivalBatch]:
    """``_merge_batches`` with its per-item loop in C (``merge_into``: the heap of
    (replay time, input number) pairs, the positions, the output batch); Python loads the
    inputs' batches when the step says one is used up, as the reference does (at the
    same points of the merge), and starts a new batch at ``BATCH`` items or when the
    head is of the other kind (with or without arrival instants)."""
    width = len(inputs)
    cursors = [_Cursor(batches) for batches in inputs]
    heads = sorted((_first_key(cursor), order) for order, cursor in enumerate(cursors) if cursor.next_batch())
    keys: list[list[int] | None] = [cursor.rx_ms for cursor in cursors]
    fixes = [cursor.fixes for cursor in cursors]
    heap = array("q", bytes(16 * width))
    heap[: 2 * len(heads)] = array("q", [number for head in heads for number in head])
    pos = array("q", bytes(8 * width))
    live, settle = len(heads), 0
    out_fixes: list[Fix] = []
    out_rx: list[int] | None = None
    while live:
        if not out_fixes:
            out_rx = None if keys[heap[1]] is None else []
        live, stop = step(heap, live, keys, fixes, pos, out_fixes, out_rx, BATCH, settle)
        settle = 0
        if stop >= 0:
            cursor = cursors[stop]
            settle = _SETTLE_ENDED
            if cursor.next_batch():
                keys[stop], fixes[stop], pos[stop], settle = cursor.rx_ms, cursor.fixes, 0, _SETTLE_LOADED
        elif out_fixes:
            yield ArrivalBatch(out_rx, out_fixes)
            out_fixes = []


def _first_key(cursor: _Cursor) -> int:
    return cursor.fixes[0].t_ms if cursor.rx_ms is None else cursor.rx_ms[0]


REFERENCE_READERS: dict[InputFormat, Reader] = {
    **READERS,
    InputFormat.FIXES: read_jsonl_reference,
    InputFormat.TRACK: read_jsonl_reference,
    InputFormat.JSONL: read_jsonl_reference,
}
