"""Byte-stream sources (serial port, TCP) that reconnect with backoff, and file sources."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Protocol

from gnss.decoder import NmeaDecoder
from gnss.sources import Deliver
from gnss.sources.comments import CommentStripper

log = logging.getLogger(__name__)

READ_SIZE = 4096


class Connection(Protocol):
    """An open byte stream: ``read`` returns b"" on a quiet line, raises OSError when gone."""

    def read(self) -> bytes:
        """Bytes available now (may wait a short time); raise OSError when the link is lost."""

    def close(self) -> None:
        """Close the link."""


class Backoff:
    """Reconnect delays: ``first_s``, doubling up to ``max_s``; reset after a good read."""

    __slots__ = ("first_s", "max_s", "_next_s")

    def __init__(self, first_s: float = 0.1, max_s: float = 5.0) -> None:
        if not 0 < first_s <= max_s:
            raise ValueError(f"backoff needs 0 < first_s <= max_s, got {first_s}, {max_s}")
        self.first_s = first_s
        self.max_s = max_s
        self._next_s = first_s

    def next_delay_s(self) -> float:
        """The delay before the next attempt (then doubles)."""
        delay = self._next_s
        self._next_s = min(self._next_s * 2, self.max_s)
        return delay

    def reset(self) -> None:
        """A connection worked: start again from ``first_s``."""
        self._next_s = self.first_s


class ReconnectingSource:
    """Opens a connection, feeds what it reads into one terminal's decoder, reconnects.

    Subclasses give ``open_connection``. A lost or missing device is logged and retried
    with backoff until ``stop``; the decoder keeps its state across reconnects (a sentence
    cut by the unplug is reported as ``CUT``).
    """

    def __init__(
        self,
        name: str,
        terminal: str,
        open_connection: Callable[[], Connection],
        backoff: Backoff | None = None,
    ) -> None:
        self.name = name
        self.terminal = terminal
        self._open = open_connection
        self._backoff = backoff or Backoff()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connected = threading.Event()
        self.connects = 0

    @property
    def connected(self) -> threading.Event:
        """Set while a connection is open (tests and status displays wait on it)."""
        return self._connected

    def start(self, deliver: Deliver) -> None:
        """Start the reader thread."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name} already started")
        self._thread = threading.Thread(target=self._run, args=(deliver,), name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the reader thread and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self, deliver: Deliver) -> None:
        decoder = NmeaDecoder(self.terminal)
        while not self._stop.is_set():
            try:
                conn = self._open()
            except OSError as exc:
                self._wait(f"cannot open: {exc}")
                continue
            self.connects += 1
            self._connected.set()
            log.info("%s: connected", self.name)
            try:
                self._pump(conn, decoder, deliver)
            except OSError as exc:
                log.warning("%s: connection lost: %s", self.name, exc)
            finally:
                self._connected.clear()
                conn.close()
            if not self._stop.is_set():
                self._wait("reconnecting")
        for item in decoder.flush():
            deliver(item)

    def _pump(self, conn: Connection, decoder: NmeaDecoder, deliver: Deliver) -> None:
        while not self._stop.is_set():
            data = conn.read()
            if data:
                self._backoff.reset()
                for item in decoder.feed(data):
                    deliver(item)

    def _wait(self, why: str) -> None:
        delay = self._backoff.next_delay_s()
        log.info("%s: %s; next attempt in %.1f s", self.name, why, delay)
        self._stop.wait(delay)


class FileSource:
    """Reads a file (or stdin for ``-``) to its end: raw NMEA or gpsd logs with ``#`` lines."""

    def __init__(self, path: str | Path, terminal: str, *, comments: bool = True, satellites: bool = False) -> None:
        self.path = str(path)
        self.terminal = terminal
        self.comments = comments
        self.satellites = satellites
        self.name = f"file:{self.path}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.done = threading.Event()

    def start(self, deliver: Deliver) -> None:
        """Start reading on a thread; ``done`` is set at the end of the file."""
        self._thread = threading.Thread(target=self.run, args=(deliver,), name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop reading (at the next chunk) and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def run(self, deliver: Deliver) -> None:
        """Read everything in the calling thread (the CLI uses this directly)."""
        try:
            if self.path == "-":
                self._read(sys.stdin.buffer, deliver)
            else:
                with open(self.path, "rb") as stream:
                    self._read(stream, deliver)
        finally:
            self.done.set()

    def _read(self, stream: BinaryIO, deliver: Deliver) -> None:
        decoder = NmeaDecoder(self.terminal, satellites=self.satellites)
        stripper = CommentStripper() if self.comments else None
        read: Callable[[int], bytes] = getattr(stream, "read1", stream.read)  # pipes: what is there
        while not self._stop.is_set():
            chunk = read(65536)
            if not chunk:
                break
            if stripper is not None:
                chunk = stripper.feed(chunk)
            for item in decoder.feed(chunk):
                deliver(item)
        for item in decoder.flush():
            deliver(item)
