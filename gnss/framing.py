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

    __slots__ = ("_terminal", "_keep", "_tail", "_skipping", "_lines_before", "lines")

    def __init__(self, terminal: str, keep: frozenset[bytes] | None = None) -> None:
        """``keep``: sentence types (``b"GGA"``...) to return; others are checked and dropped."""
        self._terminal = terminal
        self._keep = keep
        self._tail = b""
        self._skipping = False
        self._lines_before = 0
        self.lines: list[int] = []
        """Line numbers (1-based, counting LF) of the bodies returned by the last call."""

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
        self.lines = []
        if self._skipping:
            data = self._resume_skip(data)
            if not data:
                return []
        if self._tail:
            buf = self._tail + data
            self._tail = b""
            return self._scan(buf, final=False)
        # whole lines first (fast path when clean), then the unfinished last line
        cut = data.rfind(b"\n") + 1
        if cut:
            head = data if cut == len(data) else data[:cut]
            if not head.translate(None, _CLEAN):
                fast = self._scan_clean(head)
                if fast is not None:
                    return fast if cut == len(data) else fast + self._scan(data[cut:], final=False)
        return self._scan(data, final=False)

    def _scan_clean(self, buf: bytes) -> list[Item] | None:
        """Fast path for the usual chunk: whole lines, each one ``$...*hh`` + CRLF or LF.

        Returns None as soon as anything is unusual; ``_scan`` then does the general
        work, so both paths give the same result.
        """
        if buf.count(b"\r") != buf.count(b"\r\n"):
            return None
        lines = buf.split(b"\n")
        lines.pop()
        if buf.count(b"$") != len(lines):
            return None
        keep = self._keep
        out: list[Item] = []
        numbers: list[int] = []
        first = self._lines_before + 1
        px: bytes | None = None
        off = 0
        for index, line in enumerate(lines):
            end = len(line)
            if end and line[-1] == _CR:
                end -= 1
            if end < 8 or line[0] != _DOLLAR or end - 1 > MAX_SENTENCE_BYTES:
                return None
            if keep is None or line[3:6] in keep:
                star = end - 3
                if line[star] != _STAR:
                    return None
                expected = _HEX.get(line[star + 1 : end])
                if px is None:
                    px = prefix_xor(buf)
                if expected is None or px[off + star - 1] ^ px[off] != expected:
                    return None
                out.append(line[1:star])
                numbers.append(first + index)
            off += len(line) + 1
        self._lines_before += len(lines)
        self.lines = numbers
        return out

    def flush(self) -> list[Item]:
        """End of stream: a last sentence without line end is complete; state is reset."""
        tail = self._tail
        self._tail = b""
        self._skipping = False
        self.lines = []
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


def _xor(raw: bytes) -> int:
    value = 0
    for byte in raw:
        value ^= byte
    return value


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
    if expected is None or _xor(joined[1:-3]) != expected:
        return None
    return j, joined[1:-3]


def _show(raw: bytes, limit: int = 90) -> str:
    """Printable excerpt of raw bytes for error details."""
    text = raw[:limit].decode("ascii", errors="backslashreplace")
    return text + ("..." if len(raw) > limit else "")
