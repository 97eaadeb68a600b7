"""Permits (contract 1.4): is a terminal permitted in a zone at an instant, and when can
that answer change. Pure functions of their arguments; no clock."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from zones.model import Permit, Terminal, Zone
from zones.windows import in_windows, next_window_edge_ms


def permit_in_force(permit: Permit, t_ms: int, tz: ZoneInfo) -> bool:
    """Whether ``t_ms`` lies in one of the permit's daily windows and in ``[from, until)``."""
    if permit.from_ms is not None and t_ms < permit.from_ms:
        return False
    if permit.until_ms is not None and t_ms >= permit.until_ms:
        return False
    return permit.daily is None or in_windows(permit.daily, t_ms, tz)


def is_permitted(zone: Zone, terminal: Terminal, registered: bool, t_ms: int, tz: ZoneInfo) -> bool:
    """Whether ``terminal`` may be inside ``zone`` at ``t_ms`` (open zones: always)."""
    if not zone.restricted:
        return True
    return any(
        permit.matches(terminal, registered) and permit_in_force(permit, t_ms, tz)
        for permit in zone.permits
    )


def _next_permit_edge_ms(permit: Permit, t_ms: int, tz: ZoneInfo) -> int | None:
    """The smallest instant ``> t_ms`` at which this permit can come into or go out of force."""
    if permit.until_ms is not None and permit.until_ms <= t_ms:
        return None  # expired for good
    candidates: list[int] = []
    if permit.from_ms is not None and permit.from_ms > t_ms:
        candidates.append(permit.from_ms)
    if permit.until_ms is not None:
        candidates.append(permit.until_ms)
    if permit.daily is not None:
        edge = next_window_edge_ms(permit.daily, t_ms, tz)
        if edge is not None:
            candidates.append(edge)
    return min(candidates) if candidates else None


def next_permit_change_ms(
    zone: Zone, terminal: Terminal, registered: bool, t_ms: int, tz: ZoneInfo
) -> int | None:
    """The smallest instant ``> t_ms`` at which ``is_permitted`` can change (None: never).

    Only permits matching the terminal count. A matching permit that is in force forever
    from ``t_ms`` on (no windows, no ``until``) makes the answer constant.
    """
    if not zone.restricted:
        return None
    best: int | None = None
    for permit in zone.permits:
        if not permit.matches(terminal, registered):
            continue
        edge = _next_permit_edge_ms(permit, t_ms, tz)
        if edge is None:
            if permit_in_force(permit, t_ms, tz):
                return None  # permitted for good
            continue
        if best is None or edge < best:
            best = edge
    return best
