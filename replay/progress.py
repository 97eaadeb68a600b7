"""A progress line on stderr for long replays (only when stderr is a terminal)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TextIO

from replay.opening import InputSpec, OpenedInput, stored_size

BAR_WIDTH = 30


class Progress:
    """Redraws one line: share of the input bytes read (when known), fixes, rate.

    ``total_bytes`` is the stored size of every input (None when any is a pipe); inputs
    are registered with ``opened`` as the readers open them.
    """

    def __init__(self, out: TextIO, total_bytes: int | None) -> None:
        self._out = out
        self._inputs: list[OpenedInput] = []
        self._total = total_bytes
        self._start = time.monotonic()
        self._drawn = False

    def opened(self, item: OpenedInput) -> None:
        """Count an input that a reader just opened."""
        self._inputs.append(item)

    def __call__(self, seen: int) -> None:
        """Redraw with ``seen`` items read so far."""
        elapsed = max(time.monotonic() - self._start, 1e-9)
        rate = f"{seen / elapsed:,.0f} fixes/s"
        if self._total:
            done = min(sum(o.position() for o in self._inputs) / self._total, 1.0)
            filled = int(done * BAR_WIDTH)
            line = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done:4.0%} {seen:,} fixes, {rate}"
        else:
            line = f"{seen:,} fixes, {rate}"
        self._out.write("\r" + line + "\x1b[K")
        self._out.flush()
        self._drawn = True

    def finish(self) -> None:
        """End the progress line so later messages start on their own line."""
        if self._drawn:
            self._out.write("\n")
            self._out.flush()


def progress_for(out: TextIO, specs: Sequence[InputSpec], wanted: bool) -> Progress | None:
    """A progress display when wanted and ``out`` is a terminal, else None."""
    if not wanted:
        return None
    try:
        is_tty = out.isatty()
    except (AttributeError, ValueError):
        is_tty = False
    if not is_tty:
        return None
    sizes = [stored_size(spec) for spec in specs]
    total = None if any(size is None for size in sizes) else sum(s for s in sizes if s is not None)
    return Progress(out, total)
