"""Per-terminal fix handling before acceptance (contract section 3, steps 2-4).

One named check per reason, in the contract's order; the first that objects decides.
"""

from __future__ import annotations

import math
from enum import Enum

from events.step import TerminalState
from gnss.fix import Fix
from zones.model import Defaults

MAX_CONSECUTIVE_REJECTIONS = 2


class FixVerdict(Enum):
    """What became of a fix."""

    ACCEPTED = "accepted"
    ACCEPTED_AFTER_JUMPS = "accepted_after_jumps"
    OUT_OF_ORDER = "out_of_order"
    NO_POSITION = "no_position"
    QUALITY_NOT_ACCEPTED = "quality_not_accepted"
    JUMP_REJECTED = "jump_rejected"

    __hash__ = object.__hash__  # members are singletons; Enum's hash is a Python call

    @property
    def accepted(self) -> bool:
        """True when the fix becomes the terminal's position."""
        return self in (FixVerdict.ACCEPTED, FixVerdict.ACCEPTED_AFTER_JUMPS)


def check_order(ts: TerminalState, fix: Fix) -> FixVerdict | None:
    """A fix not later than the last accepted one is a duplicate or out of order."""
    if ts.last_t_ms is not None and fix.t_ms <= ts.last_t_ms:
        return FixVerdict.OUT_OF_ORDER
    return None


def check_quality(fix: Fix, defaults: Defaults) -> FixVerdict | None:
    """A fix without a position, or of a quality the site does not accept, changes nothing."""
    if fix.lat is None:
        return FixVerdict.NO_POSITION
    if fix.quality not in defaults.accepted_qualities:
        return FixVerdict.QUALITY_NOT_ACCEPTED
    return None


def check_jump(
    ts: TerminalState, fix: Fix, x_m: float, y_m: float, defaults: Defaults
) -> FixVerdict | None:
    """An implied speed above the kind's limit is an outlier, unless two were rejected already.

    Mutates the terminal's consecutive-rejection count (a rejection counts; acceptance
    resets it in ``accept``).
    """
    if ts.last_t_ms is None:
        return None
    dt_s = (fix.t_ms - ts.last_t_ms) / 1000.0
    speed_mps = math.hypot(x_m - ts.x, y_m - ts.y) / dt_s
    if speed_mps <= defaults.max_speed_mps[ts.terminal.kind]:
        return None
    if ts.rejections >= MAX_CONSECUTIVE_REJECTIONS:
        return FixVerdict.ACCEPTED_AFTER_JUMPS
    ts.rejections += 1
    return FixVerdict.JUMP_REJECTED


def accept(ts: TerminalState, fix: Fix, x_m: float, y_m: float) -> None:
    """Make the fix the terminal's position."""
    ts.rejections = 0
    ts.last_t_ms = fix.t_ms
    ts.x = x_m
    ts.y = y_m
    ts.lat = fix.lat
    ts.lon = fix.lon
    ts.quality = fix.quality
