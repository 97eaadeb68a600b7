"""Dropping ``#`` comment lines from gpsd-style logs, incrementally."""

from __future__ import annotations

_HASH = 0x23
_LF = b"\n"


class CommentStripper:
    """Removes every line that starts with ``#`` (and its LF), whatever the chunking.

    gpsd's test logs start with a ``#`` header and may hold ``#`` lines further down;
    gpsd's own lexer skips them the same way. Raw NMEA never starts a line with ``#``.
    """

    __slots__ = ("_at_line_start", "_in_comment")

    def __init__(self) -> None:
        self._at_line_start = True
        self._in_comment = False

    def feed(self, data: bytes) -> bytes:
        """The bytes of ``data`` that are not part of a comment line."""
        if not self._in_comment and not self._at_line_start and data.find(b"\n#") < 0:
            self._at_line_start = data.endswith(_LF) if data else self._at_line_start
            return data
        kept: list[bytes] = []
        pos = 0
        n = len(data)
        while pos < n:
            if self._in_comment:
                nl = data.find(_LF, pos)
                if nl < 0:
                    break
                pos = nl + 1
                self._in_comment = False
                self._at_line_start = True
                continue
            if self._at_line_start and data[pos] == _HASH:
                self._in_comment = True
                continue
            nl = data.find(_LF, pos)
            if nl < 0:
                kept.append(data[pos:])
                self._at_line_start = False
                break
            kept.append(data[pos : nl + 1])
            pos = nl + 1
            self._at_line_start = True
        return b"".join(kept)
