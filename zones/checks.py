"""Strict value checks shared by the site loader: each returns the value or raises
:class:`Bad` with the reason (the caller adds file, line, zone and key)."""

from __future__ import annotations

import json
import math
from typing import Any

from gnss.instant import InstantError, parse_instant
from zones.model import DailyWindow, TerminalKind
from zones.windows import WindowFormatError, parse_window


class Bad(ValueError):
    """A value of the wrong type or range; ``str(exc)`` is the reason."""


def show(value: Any) -> str:
    """A short JSON-like rendering of a value for messages."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def number(value: Any, *, above: float | None = None, at_least: float | None = 0.0) -> float:
    """A finite number (bool is not a number), ``> above`` or ``>= at_least``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Bad(f"must be a number, got {show(value)}")
    if not math.isfinite(value):
        raise Bad(f"must be a finite number, got {show(value)}")
    if above is not None and not value > above:
        raise Bad(f"must be > {above:g}, got {show(value)}")
    if above is None and at_least is not None and value < at_least:
        raise Bad(f"must be >= {at_least:g}, got {show(value)}")
    return float(value)


def count(value: Any) -> int:
    """A non-negative integer count (an integral float like 2.0 is accepted as 2)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Bad(f"must be an integer >= 0, got {show(value)}")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise Bad(f"must be an integer >= 0, got {show(value)}")
    if value < 0:
        raise Bad(f"must be an integer >= 0, got {show(value)}")
    return int(value)


def text(value: Any, *, non_empty: bool = True) -> str:
    """A string (non-empty unless told)."""
    if not isinstance(value, str):
        raise Bad(f"must be a string, got {show(value)}")
    if non_empty and not value.strip():
        raise Bad("must not be empty")
    return value


def string_list(value: Any, *, non_empty: bool = False) -> tuple[str, ...]:
    """A list of non-empty strings."""
    if not isinstance(value, list):
        raise Bad(f"must be a list of strings, got {show(value)}")
    if non_empty and not value:
        raise Bad("must not be an empty list")
    for item in value:
        if not isinstance(item, str) or not item:
            raise Bad(f"must be a list of non-empty strings, got item {show(item)}")
    return tuple(value)


def kind(value: Any) -> TerminalKind:
    """A terminal kind: ``person`` or ``vehicle``."""
    if not isinstance(value, str):
        raise Bad(f"must be \"person\" or \"vehicle\", got {show(value)}")
    try:
        return TerminalKind(value)
    except ValueError:
        raise Bad(f"unknown kind {show(value)} (expected \"person\" or \"vehicle\")") from None


def kinds(value: Any, *, non_empty: bool) -> frozenset[TerminalKind]:
    """A list of terminal kinds."""
    if not isinstance(value, list):
        raise Bad(f"must be a list of kinds, got {show(value)}")
    if non_empty and not value:
        raise Bad("must not be an empty list")
    return frozenset(kind(item) for item in value)


def windows(value: Any) -> tuple[DailyWindow, ...]:
    """A non-empty list of ``HH:MM-HH:MM`` daily windows."""
    if not isinstance(value, list):
        raise Bad(f"must be a list of \"HH:MM-HH:MM\" windows, got {show(value)}")
    if not value:
        raise Bad("must not be an empty list")
    parsed = []
    for item in value:
        if not isinstance(item, str):
            raise Bad(f"malformed window {show(item)} (expected \"HH:MM-HH:MM\")")
        try:
            parsed.append(parse_window(item))
        except WindowFormatError as exc:
            raise Bad(str(exc)) from None
    return tuple(parsed)


def instant(value: Any) -> int:
    """An ISO 8601 instant with ``Z`` or an offset, as epoch ms."""
    if not isinstance(value, str):
        raise Bad(f"must be an ISO 8601 instant string, got {show(value)}")
    try:
        return parse_instant(value)
    except InstantError as exc:
        raise Bad(str(exc)) from None
