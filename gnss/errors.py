"""Typed decode errors: what went wrong with the bytes, never an exception."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class DecodeErrorKind(Enum):
    """Why some input did not become (part of) a fix."""

    BAD_CHECKSUM = "bad_checksum"
    """A complete sentence whose ``*hh`` does not match its XOR checksum."""
    NO_CHECKSUM = "no_checksum"
    """A complete sentence without a ``*hh`` checksum (refused: it cannot be trusted)."""
    CUT = "cut"
    """A sentence interrupted by another ``$`` or by a non-printable byte before its end."""
    TOO_LONG = "too_long"
    """A line longer than any sentence a receiver sends (``MAX_SENTENCE_BYTES``)."""
    BAD_FIELD = "bad_field"
    """A sentence with a valid checksum whose fields cannot be read (bad time, latitude...)."""
    NO_DATE = "no_date"
    """An epoch dropped because no RMC or ZDA ever gave the date of its time of day."""
    BAD_FIX_JSON = "bad_fix_json"
    """A contract fix JSON message (MQTT ``fix`` topic) that is not a valid fix."""

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class DecodeError:
    """One decode problem: its kind, a human detail, the terminal and the input line."""

    kind: DecodeErrorKind
    detail: str
    terminal: str = ""
    line: int | None = None
    """1-based line number (counting LF) in the terminal's byte stream, when known."""

    def __post_init__(self) -> None:
        if not isinstance(self.kind, DecodeErrorKind):
            raise TypeError(f"kind must be a DecodeErrorKind, got {self.kind!r}")
        if self.line is not None and self.line < 1:
            raise ValueError(f"line must be >= 1, got {self.line}")

    def __str__(self) -> str:
        where = f"{self.terminal or '?'}"
        if self.line is not None:
            where += f" line {self.line}"
        return f"{where}: {self.kind.value}: {self.detail}"
