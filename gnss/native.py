"""The optional C extension of the NMEA fast path (``gnss/_scan.c``), when it is built.

``frame_clean``, ``run_cycle`` and ``merge_into`` are the extension's functions, or None when it was not
compiled (no C compiler at install time) or when the environment sets
``FENCE_PURE_PYTHON=1``: the decoder then takes its pure Python fast path, with the same
output. Rebuild after editing the C source with ``pip install -e . --no-deps``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import fields
from types import ModuleType

from gnss.fix import Fix

PURE_PYTHON = os.environ.get("FENCE_PURE_PYTHON") == "1"
"""True when the environment asks for the pure Python paths only."""

FrameClean = Callable[[bytes, bytes | None], tuple[list[bytes], list[int] | None, int] | None]
RunCycle = Callable[..., tuple[int, int, int | None, int | None]]
MergeInto = Callable[..., tuple[int, int]]

frame_clean: FrameClean | None = None
"""``_scan.frame_clean`` (see gnss/_scan.pyi), None without the extension."""
run_cycle: RunCycle | None = None
"""``_scan.run_cycle`` (see gnss/_scan.pyi), None without the extension."""
merge_into: MergeInto | None = None
"""``_scan.merge_into`` (see gnss/_scan.pyi), None without the extension: the replay's
k-way merge step (``replay.readers``)."""
make_fix: Callable[..., Fix] = Fix.of_checked
"""``run_cycle``'s fix builder: ``Fix`` itself once bound (the extension then fills the
slots of a new ``Fix`` as ``Fix.of_checked`` does, without calling Python)."""



def _load_scan() -> ModuleType | None:
    """The built extension, or None when the environment asks for pure Python or the
    install could not compile it (``tests/gnss/test_native.py`` fails then, so CI does
    not lose it unnoticed)."""
    if PURE_PYTHON:
        return None
    try:
        from gnss import _scan
    except ImportError:
        return None
    return _scan


_scan_module = _load_scan()
if _scan_module is not None:
    frame_clean = _scan_module.frame_clean
    run_cycle = _scan_module.run_cycle
    merge_into = _scan_module.merge_into
    _scan_module.bind_fix(Fix, tuple(f.name for f in fields(Fix)))
    make_fix = Fix
