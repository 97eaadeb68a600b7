"""Opening replay inputs: files, pipes, standard input, gzip, and telling their format.

Inputs may be process substitutions (``<(gunzip -c fixes.jsonl.gz)``), so nothing here
seeks: the format is told from the name when it says, otherwise from the first bytes
(peeked through a buffer, not consumed).
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import sys
import zlib
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO

_GZIP_MAGIC = b"\x1f\x8b"
_PEEK_BYTES = 4096
MAX_BUFFER_BYTES = 1 << 20
MIN_BUFFER_BYTES = 4 << 10
ALL_BUFFERS_BYTES = 16 << 20  # read buffers of inputs open at once (merged inputs)


class InputFormat(Enum):
    """What an input holds."""

    FIXES = "fixes"  # contract fix JSON Lines
    TRACK = "track"  # the engine's track recording: fix JSON Lines with "rx"
    JSONL = "jsonl"  # fix JSON Lines, fixes or track told by the first valid line
    NMEA = "nmea"
    CSV = "csv"
    GPX = "gpx"


class InputError(Exception):
    """An input that cannot be opened or whose format cannot be told; names the input."""


@dataclass(frozen=True, slots=True)
class InputSpec:
    """One input named on the command line, with its format (None: tell it when opening)."""

    path: str
    format: InputFormat | None = None
    buffer_bytes: int = MAX_BUFFER_BYTES

    def __post_init__(self) -> None:
        if self.buffer_bytes < 1:
            raise ValueError(f"{self.display}: buffer size must be positive")

    @property
    def display(self) -> str:
        """The name used in messages."""
        return "<stdin>" if self.path == "-" else self.path


_SUFFIX_FORMATS: dict[str, InputFormat] = {
    ".jsonl": InputFormat.JSONL,
    ".ndjson": InputFormat.JSONL,
    ".json": InputFormat.JSONL,
    ".nmea": InputFormat.NMEA,
    ".log": InputFormat.NMEA,
    ".txt": InputFormat.NMEA,
    ".csv": InputFormat.CSV,
    ".gpx": InputFormat.GPX,
}


def stem_of(path: str) -> str:
    """The file name without directories, ``.gz`` and the format suffix (a default id)."""
    name = Path(path).name
    if name.endswith(".gz"):
        name = name[:-3]
    suffix = Path(name).suffix.lower()
    if suffix in _SUFFIX_FORMATS:
        name = name[: -len(suffix)]
    return name


def id_from_name(spec: InputSpec) -> str | None:
    """A terminal id from the input's file name, or None when it has no usable name
    (standard input, ``/dev/fd/N`` of a pipe or process substitution)."""
    if spec.path == "-" or spec.path.startswith(("/dev/", "/proc/")):
        return None
    return stem_of(spec.path) or None


def format_from_name(path: str) -> InputFormat | None:
    """The format the file name says (``.jsonl``, ``.nmea.gz``, ...), or None."""
    name = path[:-3] if path.endswith(".gz") else path
    return _SUFFIX_FORMATS.get(Path(name).suffix.lower())


def format_from_bytes(head: bytes) -> InputFormat | None:
    """The format told from the first bytes of the (decompressed) data, or None."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"{"):
        return InputFormat.JSONL
    if text.startswith((b"<?xml", b"<gpx")):
        return InputFormat.GPX
    if text.startswith((b"$", b"!", b"#")):
        return InputFormat.NMEA
    first_line = text.split(b"\n", 1)[0].lower()
    if b"," in first_line and (b"terminal" in first_line or first_line[:1].isdigit()):
        return InputFormat.CSV
    return None


@dataclass(frozen=True, slots=True)
class OpenedInput:
    """An opened input: a buffered binary stream of the decompressed bytes, and its format.

    ``raw`` is the stream of the bytes as stored (compressed or not), whose position
    shows progress; ``size`` is the stored size when the input is a regular file.
    """

    spec: InputSpec
    format: InputFormat
    stream: io.BufferedReader[Any]
    raw: BinaryIO
    size: int | None

    def close(self) -> None:
        """Close the streams (standard input is left open)."""
        if self.spec.path != "-":
            self.stream.close()
            self.raw.close()

    def position(self) -> int:
        """Bytes of the stored input consumed so far (for progress); 0 when unknown."""
        if self.raw.closed:
            return self.size or 0
        try:
            return self.raw.tell()
        except (OSError, ValueError):
            return 0


def _raw_stream(spec: InputSpec) -> tuple[io.BufferedReader[Any], int | None]:
    if spec.path == "-":
        stdin = io.FileIO(os.dup(sys.stdin.fileno()), "rb")
        return io.BufferedReader(stdin, spec.buffer_bytes), None
    try:
        raw = io.BufferedReader(io.FileIO(spec.path, "rb"), spec.buffer_bytes)
    except OSError as exc:
        raise InputError(f"{spec.display}: cannot open: {exc.strerror or exc}") from None
    try:
        info = os.fstat(raw.fileno())
    except OSError:
        return raw, None
    return raw, (info.st_size if stat.S_ISREG(info.st_mode) else None)


GZIP_BLOCK_BYTES = 64 << 10  # decompressed block: what a truncated gzip loses at most


def _gunzip_head(compressed: bytes) -> bytes:
    """The first decompressed bytes of a gzip stream's beginning (never reads further,
    so a truncated stream still shows its format)."""
    return zlib.decompressobj(wbits=31).decompress(compressed, _PEEK_BYTES)


def open_input(spec: InputSpec) -> OpenedInput:
    """Open one input: decompress gzip transparently and tell its format.

    The format is the one named (``--input-format``), else the one the first bytes show,
    else the one the file name says; an empty input reads as an empty fix log.

    Raises InputError naming the input when it cannot be opened or its format cannot
    be told (then name the format with ``--input-format``).
    """
    raw, size = _raw_stream(spec)
    stream: io.BufferedReader[Any] = raw
    try:
        head = raw.peek(_PEEK_BYTES)
        if head[:2] == _GZIP_MAGIC:
            head = _gunzip_head(head)
            gz = gzip.GzipFile(fileobj=raw, mode="rb")
            stream = io.BufferedReader(gz, min(spec.buffer_bytes, GZIP_BLOCK_BYTES))
        head = head[:_PEEK_BYTES]
    except (OSError, zlib.error) as exc:
        raw.close()
        raise InputError(f"{spec.display}: cannot read: {exc}") from None
    if not head.strip():
        return OpenedInput(spec, spec.format or InputFormat.JSONL, stream, raw, size)
    fmt = spec.format or format_from_bytes(head) or format_from_name(spec.path)
    if fmt is None:
        raw.close()
        raise InputError(
            f"{spec.display}: cannot tell the input format from its name or first bytes; "
            "name it with --input-format"
        )
    return OpenedInput(spec, fmt, stream, raw, size)


RECORDING_SUFFIXES = (".jsonl", ".jsonl.gz")


def expand_inputs(paths: list[str], fmt: InputFormat | None) -> list[tuple[InputSpec, ...]]:
    """One group per named input: a file, ``-``, or a directory (a track recording).

    A directory stands for its ``*.jsonl`` and ``*.jsonl.gz`` files in name order (the
    engine names rotated track files by their first arrival), read one after another as
    one input. Raises InputError for a missing path or a directory without such files.
    """
    groups: list[tuple[InputSpec, ...]] = []
    buffer_bytes = buffer_bytes_for(len(paths))
    for path in paths:
        if path == "-" or Path(path).is_file() or Path(path).is_fifo() or path.startswith("/dev/"):
            groups.append((InputSpec(path, fmt, buffer_bytes),))
            continue
        if Path(path).is_dir():
            files = sorted(
                str(f) for f in Path(path).iterdir()
                if f.is_file() and f.name.endswith(RECORDING_SUFFIXES)
            )
            if not files:
                raise InputError(f"{path}: directory holds no .jsonl or .jsonl.gz files")
            groups.append(tuple(InputSpec(f, fmt, buffer_bytes) for f in files))
            continue
        raise InputError(f"{path}: no such file or directory")
    return groups


def buffer_bytes_for(n_open: int) -> int:
    """Read buffer per input when ``n_open`` inputs are read at once (memory stays bounded)."""
    return max(MIN_BUFFER_BYTES, min(MAX_BUFFER_BYTES, ALL_BUFFERS_BYTES // max(n_open, 1)))


def stored_size(spec: InputSpec) -> int | None:
    """The stored size of a regular-file input, None for pipes and standard input."""
    if spec.path == "-":
        return None
    try:
        info = os.stat(spec.path)
    except OSError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None
