"""The incremental NMEA decoder: bytes in (any chunking), fixes and typed errors out.

No I/O and no clock: ``feed`` takes whatever bytes arrived, ``flush`` ends the stream.
Pipeline: ``Framer`` (sentences with valid checksums) -> sentence readers (typed fields)
-> ``EpochAssembler`` (one fix per receiver epoch). Talkers are not restricted: GP, GN,
BD, GB, GL, GA, GI, GQ... all feed the same epoch; proprietary (``$P...``) and other
sentence types are skipped silently.
"""

from __future__ import annotations

from collections.abc import Callable

from gnss.epoch import EpochAssembler, Output
from gnss.errors import DecodeError, DecodeErrorKind
from gnss.fastpath import CycleReader, reader_for, warm_up
from gnss.fix import Fix
from gnss.framing import Framer
from gnss.sentences import (
    FieldError,
    Record,
    read_gga,
    read_gll,
    read_gns,
    read_gst,
    read_rmc,
    read_zda,
)

Reader = Callable[[list[bytes]], Record]

# Timed sentences: each record starts with its time of day (None when the field is empty).
READERS: dict[bytes, Reader] = {
    b"GGA": read_gga,
    b"RMC": read_rmc,
    b"GNS": read_gns,
    b"GLL": read_gll,
    b"GST": read_gst,
    b"ZDA": read_zda,
}
# Untimed sentences read when their epoch is closed (see EpochAssembler.defer).
DEFERRED: frozenset[bytes] = frozenset((b"VTG", b"GSA"))


class NmeaDecoder:
    """Decoder of one terminal's NMEA byte stream."""

    __slots__ = ("terminal", "satellites", "fast", "native", "fast_epochs", "_framer", "_epochs", "_steady")

    def __init__(self, terminal: str, *, satellites: bool = False, fast: bool = True, native: bool = True) -> None:
        """``satellites``: also read GSV for ``Fix.sats_in_view`` (satellites in view per
        constellation, BeiDou included); off by default: it costs about a fifth of the
        throughput and the contract fix has no such field.

        ``fast=False`` decodes everything through the reference path (framing scanner,
        sentence readers, epoch assembler); the default takes the fast paths where the
        input is clean and steady (``gnss.fastpath``), with the same output.

        ``native=False`` keeps the fast path in pure Python even when the C extension
        (``gnss.native``, ``gnss/_scan.c``) is built: the baseline its tests and
        benchmarks compare against."""
        if not terminal:
            raise ValueError("terminal id is empty")
        self.terminal = terminal
        self.satellites = satellites
        self.fast = fast
        self.native = native
        self.fast_epochs = 0
        """Epochs decoded by the fast path so far (diagnostics, benchmarks, tests)."""
        kept = frozenset(READERS) | DEFERRED
        self._framer = Framer(terminal, kept | {b"GSV"} if satellites else kept, fast=fast, native=native)
        self._epochs = EpochAssembler(terminal)
        self._steady: CycleReader | None = None
        """The reader of the steady cycle the assembler is known to be in (fast path)."""

    def feed(self, data: bytes) -> list[Fix | DecodeError]:
        """Decode more bytes; returns the fixes completed and the errors found, in order."""
        out: list[Output] = []
        items = self._framer.feed(data)
        if self.fast:
            self._decode_fast(items, out)
        else:
            self._decode(items, out)
        return out

    def flush(self) -> list[Fix | DecodeError]:
        """End of stream: decode a last unterminated sentence and emit the pending epoch."""
        out: list[Output] = []
        self._steady = None
        self._decode(self._framer.flush(), out)
        self._epochs.flush(out)
        return out

    @property
    def cycle_closer(self) -> str | None:
        """The sentence learned to close each epoch (e.g. ``GNZDA``), None until learned."""
        closer = self._epochs.closer
        return None if closer is None else closer.decode("ascii")

    def _decode_fast(self, items: list[bytes | DecodeError], out: list[Output]) -> None:
        """Whole epochs through the fast path (``gnss.fastpath``) while the assembler is in
        a steady cycle or fresh, the rest one by one through the reference path.

        The assembler becomes steady only when the learned closer emits an epoch, so its
        state is looked at again only after a reference step that gave output (or while
        it may still be fresh): a stream the fast path cannot read pays little for it."""
        epochs = self._epochs
        n = len(items)
        i = 0
        index = 0  # index of items[i] among the bodies (for the framer's line numbers)
        reader = self._steady
        look = reader is None
        fresh = look
        while i < n:
            if look:
                look = False
                cycle = epochs.steady_cycle()
                if cycle is not None:
                    reader = reader_for(cycle)
                elif fresh and epochs.is_fresh():
                    j, decoded = warm_up(items, i, epochs, out, self.native)  # type: ignore[arg-type]
                    if decoded:
                        index += j - i
                        i = j
                        self.fast_epochs += decoded
                        reader = reader_for(epochs.steady_cycle())  # type: ignore[arg-type]
                else:
                    fresh = False
            if reader is not None:
                j, decoded = reader.run(items, i, epochs, out, self.native)  # type: ignore[arg-type]
                index += j - i  # a reader consumes only bodies
                self.fast_epochs += decoded
                i = j
                if i == n:
                    break  # still in the reader's steady state
                reader = None
            body = items[i]
            i += 1
            emitted = len(out)
            if type(body) is not bytes:
                out.append(body)  # type: ignore[arg-type]
            else:
                self._decode_body(body, index, out)
                index += 1
            look = fresh or len(out) != emitted
        self._steady = reader

    def _decode(self, items: list[bytes | DecodeError], out: list[Output]) -> None:
        """Read each sentence body into a record and hand it to the epoch assembler."""
        index = -1
        for body in items:
            if type(body) is not bytes:
                out.append(body)  # type: ignore[arg-type]
                continue
            index += 1
            self._decode_body(body, index, out)

    def _decode_body(self, body: bytes, index: int, out: list[Output]) -> None:
        """The reference path for one sentence body (the ``index``-th of the framer's output)."""
        epochs = self._epochs
        if body.find(b",") != 5 or body[0] == 0x50:  # no 5-letter address, or $P...
            return
        kind = body[2:5]
        reader = READERS.get(kind)
        if reader is None:
            if kind == b"GSV":
                parts = body.split(b",", 4)  # GSV, sentences, number, in view, ...
                if len(parts) > 3 and parts[2] == b"1":
                    epochs.in_view(body[:2], parts[3], out)
            elif kind in DEFERRED:
                epochs.defer(body)
            return
        try:
            rec = reader(body[6:].split(b","))
        except FieldError as exc:
            text = body.decode("ascii", errors="backslashreplace")
            line = self._framer.line_of(index)
            out.append(DecodeError(DecodeErrorKind.BAD_FIELD, f"{exc}: ${text}", self.terminal, line))
            return
        tod = rec[0]
        if tod is not None:  # a report without time of day cannot be placed in an epoch
            epochs.add(body[:5], tod, rec, out)  # type: ignore[arg-type]


def decode_bytes(
    terminal: str, data: bytes, *, fast: bool = True, native: bool = True
) -> list[Fix | DecodeError]:
    """Decode a whole byte string at once (feed + flush); ``fast=False``: reference path;
    ``native=False``: the pure Python fast path even with the C extension."""
    decoder = NmeaDecoder(terminal, fast=fast, native=native)
    return decoder.feed(data) + decoder.flush()
