"""Type stub of the optional C extension ``gnss._scan`` (source: gnss/_scan.c)."""

from collections.abc import Callable

from gnss.fix import Fix

def frame_clean(buf: bytes, keep: bytes | None, /) -> tuple[list[bytes], list[int] | None, int] | None:
    """A chunk of whole clean lines -> (bodies, line indexes or None for all, lines), or None."""

def bind_fix(cls: type, field_names: tuple[str, ...], /) -> None:
    """Let ``run_cycle`` build instances of ``cls`` (slotted, 12 object fields) itself."""

def run_cycle(
    items: list[bytes | object],
    start: int,
    cycle: tuple[bytes, ...],
    types: bytes,
    prev_tod: int | None,
    ref_ms: int | None,
    terminal: str,
    make_fix: Callable[..., Fix],
    hypot: Callable[[float, float], float],
    table: tuple[object, ...],
    out: list[object],
    limit: int = -1,
    untimed: bool = True,
    /,
) -> tuple[int, int, int | None, int | None]:
    """Whole epochs (at most ``limit`` when not -1) of a cycle of GGA, RMC, GST, ZDA from
    ``items[start:]`` into fixes appended to ``out`` (``untimed``: VTG and GSA bodies may
    come among an epoch's sentences); returns (index after them, epochs, last time of
    day, last instant)."""

def merge_into(
    heap: bytearray | memoryview | object,
    live: int,
    keys: list[list[int] | None],
    fixes: list[list[Fix]],
    pos: bytearray | memoryview | object,
    out_fixes: list[Fix],
    out_rx: list[int] | None,
    limit: int,
    settle: int,
    /,
) -> tuple[int, int]:
    """One step of the k-way merge of batched inputs (``replay.readers._merge_native``).

    ``heap``: writable int64 buffer of ``live`` (replay time, input number) pairs, a
    min-heap; ``keys[o]``: input o's arrival instants, or None for its fixes' ``t_ms``;
    ``fixes[o]``: its current batch; ``pos``: writable int64 buffer, the next item of each
    input. ``settle`` first: 1 the head's input has a new batch (its first item is the
    head), 2 it ended. Then heads go to ``out_fixes`` (and their instants to ``out_rx``)
    until ``limit`` items; returns (live, stop): stop -1 at the limit or the end, -2 when
    the head is not of ``out_rx``'s kind, else the input whose batch was used up."""
