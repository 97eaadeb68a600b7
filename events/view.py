"""A read-only view of the evaluator's live state, for operators and reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from events.model import EventType

if TYPE_CHECKING:
    from events.evaluator import Evaluator


@dataclass(frozen=True, slots=True)
class TerminalView:
    """One terminal as the evaluator knows it."""

    id: str
    name: str
    kind: str
    roles: tuple[str, ...]
    registered: bool
    lat: float | None
    lon: float | None
    x_m: float | None
    y_m: float | None
    quality: int | None
    fix_t_ms: int | None
    last_heard_ms: int
    online: bool
    zones: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ZoneView:
    """One zone's live occupancy."""

    id: str
    count: int
    members: tuple[str, ...]
    overcrowded: bool
    undermanned: bool


@dataclass(frozen=True, slots=True)
class OpenCondition:
    """A raised condition not yet cleared."""

    type: EventType
    zone: str | None
    terminal: str | None


@dataclass(frozen=True, slots=True)
class EvaluatorView:
    """Terminals, zones and open conditions at the evaluator's clock."""

    clock_ms: int | None
    terminals: tuple[TerminalView, ...]
    zones: tuple[ZoneView, ...]
    open: tuple[OpenCondition, ...]


def build_view(ev: Evaluator) -> EvaluatorView:
    """Copy the evaluator's state into immutable values."""
    terminals = tuple(
        TerminalView(
            ts.id, ts.terminal.name, ts.terminal.kind.value, tuple(sorted(ts.terminal.roles)),
            ts.registered, ts.lat, ts.lon,
            ts.x if ts.last_t_ms is not None else None,
            ts.y if ts.last_t_ms is not None else None,
            ts.quality, ts.last_t_ms, ts.last_heard_ms, not ts.offline, tuple(sorted(ts.zones)),
        )
        for ts in ev.terminals.values()
    )
    zones = tuple(
        ZoneView(zid, occ.count, tuple(occ.members), occ.over.raised, occ.under.raised)
        for zid, occ in ev.occupancy.zones.items()
    )
    open_: list[OpenCondition] = []
    open_ += [OpenCondition(EventType.TRESPASS, z, t) for t, z in ev.trespass.raised]
    open_ += [OpenCondition(EventType.LOITERING, z, t) for t, z in ev.loitering.raised]
    open_ += [
        OpenCondition(EventType.STILLNESS, None, tid)
        for tid, ts in ev.stillness.states.items() if ts.still_raised
    ]
    open_ += [
        OpenCondition(EventType.OFFLINE, None, tid)
        for tid, ts in ev.terminals.items() if ts.offline
    ]
    for zid, occ in ev.occupancy.zones.items():
        if occ.over.raised:
            open_.append(OpenCondition(EventType.OVERCROWDING, zid, None))
        if occ.under.raised:
            open_.append(OpenCondition(EventType.UNDERMANNING, zid, None))
    return EvaluatorView(ev.clock_ms, terminals, zones, tuple(open_))
