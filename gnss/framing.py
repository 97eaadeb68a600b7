"""Byte stream -> NMEA sentence bodies with verified checksums (no parsing of fields).

Framing rules (they match gpsd's packet lexer on the corpus, see docs/gnss.md):

* A sentence starts at ``$`` and runs over printable ASCII (0x20-0x7E) up to the first
  CR or LF. So CR, LF, CRLF and CR CR LF all end a sentence, and empty lines between
  sentences are nothing.
* A ``$`` inside a sentence starts a new one: ``$$GPGGA,...`` is read as ``$GPGGA,...``
  and a sentence cut by another one is dropped (``CUT``), unless the cut one goes on
  right after the other's line end and the joined text has a matching checksum (a
  device injecting a sentence into another: it is then recovered, as gpsd does).
* Any other byte (NUL, binary frames of UBX ``B5 62``, RTCM3 ``D3``, CASIC ``BA CE``...)
  ends a sentence that has not reached its line end (``CUT``); bytes outside sentences
  are skipped. A binary frame can contain the byte ``$``, but a false sentence would
  still need printable bytes up to a line end and a matching checksum.
* A sentence must end in ``*hh`` (hex, either case) right before its line end, and the
  XOR of the bytes between ``$`` and ``*`` must equal ``hh``.
* A run longer than ``MAX_SENTENCE_BYTES`` is refused (``TOO_LONG``) and skipped to its end.
* At the end of the stream (``flush``), a last sentence without a line end is complete.

Checksums of a whole chunk are computed at once: a cumulative XOR over the buffer
(numpy) gives any sentence's checksum as the XOR of two prefix values.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

from gnss import native as _native
from gnss.errors import DecodeError, DecodeErrorKind

MAX_SENTENCE_BYTES = 255
"""Longest run accepted between ``$`` and the line end (NMEA says 80; u-blox and
proprietary sentences are longer, the corpus holds 131)."""

_RUN = re.compile(rb"\$[\x20-\x23\x25-\x7e]*+")
_PRINTABLE = re.compile(rb"[\x20-\x23\x25-\x7e]*+")
_ADDRESS = re.compile(rb"[A-Z][A-Z0-9]{1,9},")
_CLEAN = bytes(range(0x20, 0x7F)) + b"\r\n"
_HEX_DIGITS = "0123456789ABCDEFabcdef"
_HEX: dict[bytes, int] = {
    (a + b).encode(): int(a + b, 16) for a in _HEX_DIGITS for b in _HEX_DIGITS
}
_CR = 13
_LF = 10
_STAR = 42
_DOLLAR = 36
_MAX_BREAK = 4
_NEED_MORE = object()

Item = bytes | DecodeError


def prefix_xor(buf: bytes) -> bytes:
    """Cumulative XOR of ``buf``: byte i is buf[0] ^ ... ^ buf[i]."""
    out: bytes = np.bitwise_xor.accumulate(np.frombuffer(buf, dtype=np.uint8)).tobytes()
    return out


def looks_like_sentence(buf: bytes, start: int) -> bool:
    """True when an address field (``GPGGA,``, ``PUBX,``...) starts at ``start``."""
    return _ADDRESS.match(buf, start) is not None


class Framer:
    """Incremental framer: ``feed`` bytes, get sentence bodies (``GPGGA,...``) and errors.

    A body is the text between ``$`` and ``*`` of a sentence whose checksum matched.
    The framer keeps only the unfinished tail of the stream (at most one sentence).
    """

    __slots__ = (
        "_terminal", "_keep", "_keep_codes", "_keep_bytes", "_native", "_fast", "_tail", "_skipping", "_lines_before", "_clean", "lines",
    )

    def __init__(
        self, terminal: str, keep: frozenset[bytes] | None = None, *, fast: bool = True, native: bool = True
    ) -> None:
        """``keep``: sentence types (``b"GGA"``...) to return; others are checked and dropped.

        ``fast=False`` turns the clean-chunk fast paths off: every byte then goes through
        the general scanner (the reference the fast paths are tested against).
        ``native=False``: the clean chunks are framed in Python even when the C extension
        (``gnss.native``) is built."""
        self._terminal = terminal
        self._keep = keep
        self._keep_codes = None if keep is None else _type_codes(keep)
        self._keep_bytes = None if keep is None else b"".join(sorted(k for k in keep if len(k) == 3))
        self._native = _native.frame_clean if native else None
        self._fast = fast
        self._tail = b""
        self._skipping = False
        self._lines_before = 0
        self._clean: tuple[int, list[int] | None] | None = None
        self.lines: list[int] = []
        """Line numbers (1-based, counting LF) of the bodies returned by the last call
        (see ``line_of``: after a clean chunk they are kept in a compact form)."""

    def line_of(self, k: int) -> int:
        """The line number of the ``k``-th body returned by the last call."""
        clean = self._clean
        if clean is None:
            return self.lines[k]
        first, indexes = clean
        return first + (k if indexes is None else indexes[k])

    def _error(self, kind: DecodeErrorKind, detail: str, buf: bytes, pos: int) -> DecodeError:
        line = self._lines_before + buf.count(b"\n", 0, pos) + 1
        return DecodeError(kind, detail, self._terminal, line)

    def _resume_skip(self, data: bytes) -> bytes:
        """Drop the rest of an over-long run at the start of ``data``."""
        m = _PRINTABLE.match(data)
        end = m.end() if m is not None else 0
        if end == len(data):
            return b""
        self._skipping = False
        return data[end:]

    def feed(self, data: bytes) -> list[Item]:
        """Frame more bytes; returns bodies and errors in stream order."""
        self._clean = None
        if self._skipping:
            data = self._resume_skip(data)
            if not data:
                return []
        if self._tail:
            data = self._tail + data
            self._tail = b""
        # whole lines first (fast path when clean), then the unfinished last line
        cut = data.rfind(b"\n") + 1
        if cut and self._fast:
            head = data if cut == len(data) else data[:cut]
            if self._native is not None or not head.translate(None, _CLEAN):
                fast = self._scan_clean(head)
                if fast is not None:
                    if cut == len(data):
                        return fast
                    return self._with_unfinished(fast, data[cut:])
        self.lines = []
        return self._scan(data, final=False)

    def _with_unfinished(self, fast: list[Item], rest: bytes) -> list[Item]:
        """The bodies of a clean chunk's whole lines, then what its unfinished last line
        gives (usually nothing: it waits for the next chunk, and the line numbers stay in
        the compact form)."""
        clean = self._clean
        assert clean is not None
        self._clean = None
        self.lines = []
        more = self._scan(rest, final=False)
        if not more:
            self._clean = clean
            return fast
        first, indexes = clean
        before = list(range(first, first + len(fast))) if indexes is None else [first + i for i in indexes]
        self.lines = before + self.lines
        return fast + more

    def _scan_clean(self, buf: bytes) -> list[Item] | None:
        """Fast path for the usual chunk: whole lines, each one ``$...*hh`` + CRLF or LF.

        Returns None as soon as anything is unusual; ``_scan`` then does the general
        work, so both paths give the same result. With the C extension every chunk is
        checked by ``_scan.frame_clean``; else large chunks are checked with numpy all
        at once, a small one (an MQTT message, a serial read) line by line.
        """
        scan = self._native
        if scan is not None:
            found: _Clean | None = scan(buf, self._keep_bytes)  # type: ignore[assignment]  # list[bytes]
        elif len(buf) >= _VECTOR_BYTES:
            if buf.count(b"\r") != buf.count(b"\r\n"):
                return None
            found = _clean_lines_vector(buf, self._keep_codes)
        else:
            found = _clean_lines_small(buf, self._keep)
        if found is None:
            return None
        out, indexes, total = found
        self._clean = (self._lines_before + 1, indexes)
        self._lines_before += total
        return out

    def flush(self) -> list[Item]:
        """End of stream: a last sentence without line end is complete; state is reset."""
        tail = self._tail
        self._tail = b""
        self._skipping = False
        self.lines = []
        self._clean = None
        out = self._scan(tail, final=True) if tail else []
        self._lines_before = 0
        return out

    def _scan(self, buf: bytes, final: bool) -> list[Item]:
        out: list[Item] = []
        px: bytes | None = None
        n = len(buf)
        consumed = n
        skip_until = -1
        keep = self._keep
        numbers = self.lines
        nl_pos = nl_count = 0
        for m in _RUN.finditer(buf):
            s = m.start()
            if s < skip_until:
                continue
            nl_count += buf.count(b"\n", nl_pos, s)
            nl_pos = s
            line = self._lines_before + nl_count + 1
            e = m.end()
            if e - s - 1 > MAX_SENTENCE_BYTES:
                out.append(self._too_long(buf, s))
                if e == n and not final:
                    self._skipping = True
                continue
            if e == n and not final:
                self._tail = buf[s:]
                consumed = s
                break
            end_byte = buf[e] if e < n else _LF
            if end_byte in (13, 10):  # CR or LF
                star = e - 3
                if keep is not None and star > s + 6 and buf[s + 3 : s + 6] not in keep:
                    continue  # a sentence type nobody reads: not even its checksum matters
                if px is None:
                    px = prefix_xor(buf)
                if star > s and buf[star] == _STAR:
                    expected = _HEX.get(buf[star + 1 : e])
                    if expected is not None and px[star - 1] ^ px[s] == expected:
                        out.append(buf[s + 1 : star])
                        numbers.append(line)
                        continue
                self._complete(buf, s, e, px, out, line)
            elif e - s > 1 and looks_like_sentence(buf, s + 1):
                if end_byte == _DOLLAR:
                    outcome = _injection(buf, s, e, final)
                    if outcome is _NEED_MORE:
                        self._tail = buf[s:]
                        consumed = s
                        break
                    if isinstance(outcome, tuple):
                        inner_end, body = outcome
                        if px is None:
                            px = prefix_xor(buf)
                        self._complete(buf, e, inner_end, px, out, line)
                        out.append(body)
                        numbers.append(line)
                        skip_until = inner_end
                        continue
                what = "another '$'" if end_byte == _DOLLAR else f"byte 0x{end_byte:02X}"
                out.append(
                    self._error(DecodeErrorKind.CUT, f"sentence cut by {what}: {_show(buf[s:e])}", buf, s)
                )
        self._lines_before += buf.count(b"\n", 0, consumed)
        return out

    def _too_long(self, buf: bytes, s: int) -> DecodeError:
        return self._error(
            DecodeErrorKind.TOO_LONG,
            f"line longer than {MAX_SENTENCE_BYTES} bytes: {_show(buf[s : s + 24])}...",
            buf,
            s,
        )

    def _complete(self, buf: bytes, s: int, e: int, px: bytes, out: list[Item], line: int) -> None:
        """Check the run buf[s:e] (``$`` ... before the line end) and append the outcome."""
        star = e - 3
        if star > s and buf[star] == _STAR:
            expected = _HEX.get(buf[star + 1 : e])
            if expected is not None:
                actual = px[star - 1] ^ px[s]
                if actual == expected:
                    if self._keep is None or buf[s + 3 : s + 6] in self._keep:
                        out.append(buf[s + 1 : star])
                        self.lines.append(line)
                else:
                    out.append(
                        self._error(
                            DecodeErrorKind.BAD_CHECKSUM,
                            f"checksum {expected:02X} but data gives {actual:02X}: {_show(buf[s:e])}",
                            buf,
                            s,
                        )
                    )
                return
        if e - s > 1 and looks_like_sentence(buf, s + 1):
            out.append(
                self._error(DecodeErrorKind.NO_CHECKSUM, f"no '*hh' checksum: {_show(buf[s:e])}", buf, s)
            )


_MIN_CLEAN = 10
"""Shortest line the clean paths take (``$`` + address + ``*hh``): the general scanner
checks the checksum of shorter ones whatever their type, so they take that path."""
_VECTOR_BYTES = 2048
"""Clean chunks at least this long are framed with numpy (cheaper than a Python loop)."""

_HEX_VALUE = np.full(256, -1, dtype=np.int16)
for _digit in _HEX_DIGITS:
    _HEX_VALUE[ord(_digit)] = int(_digit, 16)


def _type_codes(keep: frozenset[bytes]) -> npt.NDArray[np.int32]:
    """Sentence types as 24-bit integers (``b"GGA"`` -> 0x474741) for ``np.isin``."""
    return np.array(sorted(int.from_bytes(kind, "big") for kind in keep if len(kind) == 3), dtype=np.int32)


def xor_of(raw: bytes) -> int:
    """XOR of all bytes of ``raw`` (at most 256 bytes), by folding one big integer."""
    x = int.from_bytes(raw, "little")
    x ^= x >> 1024
    x ^= x >> 512
    x ^= x >> 256
    x ^= x >> 128
    x ^= x >> 64
    x ^= x >> 32
    x ^= x >> 16
    x ^= x >> 8
    return x & 0xFF


_Clean = tuple[list[Item], list[int] | None, int]
"""Bodies of the kept sentences, their 0-based line indexes (None: every line), number of lines."""


def _clean_lines_small(buf: bytes, keep: frozenset[bytes] | None) -> _Clean | None:
    """``buf`` (whole lines, only printable bytes, CR LF or LF) as clean sentences,
    or None when any line is not ``$`` + 9..255 bytes (+ ``*hh`` with a matching
    checksum when its type is kept), or when only some lines end in CR LF."""
    total = buf.count(b"\n")
    if buf.count(b"$") != total:
        return None
    if _CR in buf:
        if buf.count(b"\r") != total or buf.count(b"\r\n") != total:
            return None
        lines = buf.split(b"\r\n")
    else:
        lines = buf.split(b"\n")
    lines.pop()
    out: list[Item] = []
    indexes: list[int] = []
    for index, line in enumerate(lines):
        if not _MIN_CLEAN <= len(line) <= MAX_SENTENCE_BYTES + 1 or line[0] != _DOLLAR:
            return None
        if keep is None or line[3:6] in keep:
            if line[-3] != _STAR:
                return None
            body = line[1:-3]
            if _HEX.get(line[-2:]) != xor_of(body):
                return None
            out.append(body)
            indexes.append(index)
    return out, None if len(out) == total else indexes, total


def _clean_lines_vector(buf: bytes, keep_codes: npt.NDArray[np.int32] | None) -> _Clean | None:
    """The same as ``_clean_lines_small``, every check done on numpy arrays at once."""
    arr = np.frombuffer(buf, dtype=np.uint8)
    ends_lf = np.flatnonzero(arr == _LF)
    total = len(ends_lf)
    if buf.count(b"$") != total:
        return None
    starts = np.empty_like(ends_lf)
    starts[0] = 0
    starts[1:] = ends_lf[:-1] + 1
    if not (arr[starts] == _DOLLAR).all():
        return None
    ends = ends_lf - (arr[ends_lf - 1] == _CR)
    sizes = ends - starts
    if sizes.min() < _MIN_CLEAN or sizes.max() - 1 > MAX_SENTENCE_BYTES:
        return None
    if keep_codes is None:
        kept = np.arange(total)
    elif not len(keep_codes):
        kept = np.arange(0)
    else:
        codes = (arr[starts + 3].astype(np.int32) << 16) | (arr[starts + 4].astype(np.int32) << 8) | arr[starts + 5]
        at = np.searchsorted(keep_codes, codes)  # keep_codes is sorted
        at[at == len(keep_codes)] = 0
        kept = np.flatnonzero(keep_codes[at] == codes)
    if not len(kept):
        return [], [], total
    k_starts = starts[kept]
    stars = ends[kept] - 3
    if not (arr[stars] == _STAR).all():
        return None
    high = _HEX_VALUE[arr[stars + 1]]
    low = _HEX_VALUE[arr[stars + 2]]
    if high.min() < 0 or low.min() < 0:
        return None
    bounds = np.empty(2 * len(stars), dtype=np.intp)
    bounds[0::2] = k_starts + 1
    bounds[1::2] = stars
    if (np.bitwise_xor.reduceat(arr, bounds)[0::2] != (high << 4 | low)).any():
        return None
    out: list[Item] = [buf[s + 1 : e] for s, e in zip(k_starts.tolist(), stars.tolist(), strict=True)]
    return out, kept.tolist(), total


def _injection(buf: bytes, s: int, e: int, final: bool) -> object:
    """A sentence at ``s`` cut at ``e`` by an injected sentence: recover it when it goes on.

    Some devices inject a whole sentence into the middle of another one
    (``$GPGSV,4,1,15,0$PTNTA,...*18\\r\\n5,34,060,...*71``). When the text after the
    injected sentence's line end completes the cut sentence with a matching checksum,
    returns ``(end of the injected run, recovered body)``; ``_NEED_MORE`` when the
    buffer ends before that can be decided; None when it is a plain cut.
    """
    n = len(buf)
    j = _RUN.match(buf, e).end()  # type: ignore[union-attr]
    if j - e - 1 > MAX_SENTENCE_BYTES:
        return None
    if j == n:
        return None if final else _NEED_MORE
    k = j
    while k < n and k - j <= _MAX_BREAK and buf[k] in (_CR, _LF):
        k += 1
    if k == j or k - j > _MAX_BREAK:
        return None
    if k == n:
        return None if final else _NEED_MORE
    c = _PRINTABLE.match(buf, k).end()  # type: ignore[union-attr]
    if c == k or (e - s) + (c - k) > MAX_SENTENCE_BYTES:
        return None
    if c == n and not final:
        return _NEED_MORE
    if c < n and buf[c] not in (_CR, _LF):
        return None
    joined = buf[s:e] + buf[k:c]
    if len(joined) < 4 or joined[-3] != _STAR:
        return None
    expected = _HEX.get(joined[-2:])
    if expected is None or xor_of(joined[1:-3]) != expected:
        return None
    return j, joined[1:-3]


def _show(raw: bytes, limit: int = 90) -> str:
    """Printable excerpt of raw bytes for error details."""
    text = raw[:limit].decode("ascii", errors="backslashreplace")
    return text + ("..." if len(raw) > limit else "")
