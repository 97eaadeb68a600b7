"""Site model values (contract sections 1.2-1.5 and 7): frozen, checked when built.

The loader (``zones.site``) builds these from ``fence.toml``, GeoJSON and CSV, and is
the one place that produces user-facing messages; the checks here guard the
invariants that every later stage relies on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from shapely.geometry.base import BaseGeometry


class TerminalKind(Enum):
    """What a terminal is carried by."""

    PERSON = "person"
    VEHICLE = "vehicle"

    __hash__ = object.__hash__  # members are singletons; Enum's hash is a Python call


class Access(Enum):
    """Who may be inside a zone."""

    OPEN = "open"
    RESTRICTED = "restricted"


@dataclass(frozen=True, slots=True)
class Terminal:
    """A registered terminal (contract 1.2)."""

    id: str
    kind: TerminalKind
    roles: frozenset[str]
    name: str


def unregistered_terminal(terminal_id: str) -> Terminal:
    """The stand-in for a fix from an unknown id: a person with no roles (contract 1.2)."""
    return Terminal(terminal_id, TerminalKind.PERSON, frozenset(), terminal_id)


@dataclass(frozen=True, slots=True)
class DailyWindow:
    """A daily window ``[start, end)`` in minutes after local midnight; may cross midnight."""

    start_min: int
    end_min: int

    def __post_init__(self) -> None:
        if not 0 <= self.start_min <= 23 * 60 + 59:
            raise ValueError(f"window start {self.start_min} min outside 00:00-23:59")
        if not 1 <= self.end_min <= 24 * 60:
            raise ValueError(f"window end {self.end_min} min outside 00:01-24:00")
        if self.start_min == self.end_min:
            raise ValueError("window start equals end")

    @property
    def crosses_midnight(self) -> bool:
        """True for windows like 22:00-06:00."""
        return self.end_min <= self.start_min

    def contains_minute(self, minute_of_day: float) -> bool:
        """Whether a local time of day (minutes, fractional allowed) lies in the window."""
        if self.crosses_midnight:
            return minute_of_day >= self.start_min or minute_of_day < self.end_min
        return self.start_min <= minute_of_day < self.end_min

    def __str__(self) -> str:
        return f"{self.start_min // 60:02d}:{self.start_min % 60:02d}-{self.end_min // 60:02d}:{self.end_min % 60:02d}"


@dataclass(frozen=True, slots=True)
class Permit:
    """Who may be inside a restricted zone, and when (contract 1.4).

    ``None`` means the key was not given; an empty frozenset matches nothing through it.
    """

    roles: frozenset[str] | None = None
    terminals: frozenset[str] | None = None
    daily: tuple[DailyWindow, ...] | None = None
    from_ms: int | None = None
    until_ms: int | None = None

    def __post_init__(self) -> None:
        if self.daily is not None and not self.daily:
            raise ValueError("empty daily list")
        if self.from_ms is not None and self.until_ms is not None and self.from_ms >= self.until_ms:
            raise ValueError("'from' is not before 'until'")

    def matches(self, terminal: Terminal, registered: bool) -> bool:
        """Whether the permit names this terminal (by id or role).

        A permit with neither ``roles`` nor ``terminals`` matches every registered terminal.
        """
        if self.roles is None and self.terminals is None:
            return registered
        if self.terminals is not None and terminal.id in self.terminals:
            return True
        return self.roles is not None and not self.roles.isdisjoint(terminal.roles)


@dataclass(frozen=True, slots=True)
class Zone:
    """One zone (contract 1.3). ``geometry`` is in lon/lat, ``metric`` in the site's CRS."""

    id: str
    name: str
    access: Access
    permits: tuple[Permit, ...]
    max_occupancy: int | None
    min_occupancy: int | None
    staffed: tuple[DailyWindow, ...] | None
    count_kinds: frozenset[TerminalKind]
    hold_s: float
    max_dwell_s: float | None
    max_still_s: float | None
    margin_m: float
    geometry: BaseGeometry
    metric: BaseGeometry
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("zone id is empty")
        if self.margin_m <= 0:
            raise ValueError(f"zone {self.id}: margin_m must be > 0")
        if self.hold_s < 0:
            raise ValueError(f"zone {self.id}: hold_s must be >= 0")
        if (
            self.min_occupancy is not None
            and self.max_occupancy is not None
            and self.min_occupancy > self.max_occupancy
        ):
            raise ValueError(f"zone {self.id}: min_occupancy above max_occupancy")
        if self.staffed is not None and not self.staffed:
            raise ValueError(f"zone {self.id}: empty staffed list")
        if not self.count_kinds:
            raise ValueError(f"zone {self.id}: empty count_kinds")

    @property
    def restricted(self) -> bool:
        """True for ``access = "restricted"``."""
        return self.access is Access.RESTRICTED


DEFAULT_ACCURACY_M: Mapping[int, float] = {1: 3.0, 2: 1.0, 3: 3.0, 4: 0.05, 5: 0.5, 6: 10.0}
FALLBACK_ACCURACY_M = 3.0


@dataclass(frozen=True, slots=True)
class Defaults:
    """Site defaults (contract 1.5). ``still_s`` is ``None`` when the site-wide limit is off."""

    margin_m: float = 1.0
    offline_after_s: float = 30.0
    still_s: float | None = 300.0
    still_radius_m: float = 3.0
    still_kinds: frozenset[TerminalKind] = frozenset({TerminalKind.PERSON})
    max_speed_mps: Mapping[TerminalKind, float] = field(
        default_factory=lambda: {TerminalKind.PERSON: 7.0, TerminalKind.VEHICLE: 35.0}
    )
    accepted_qualities: frozenset[int] = frozenset({1, 2, 4, 5})
    accuracy_m: Mapping[int, float] = field(default_factory=lambda: dict(DEFAULT_ACCURACY_M))

    def accuracy_for(self, quality: int, acc_m: float | None) -> float:
        """The accuracy to use for a fix: its own estimate when given, else the table."""
        if acc_m is not None and acc_m > 0:
            return acc_m
        return self.accuracy_m.get(quality, FALLBACK_ACCURACY_M)


@dataclass(frozen=True, slots=True)
class Site:
    """A loaded, validated site. ``sections`` holds the engine's own TOML sections."""

    name: str
    timezone: ZoneInfo
    crs: str
    zones: tuple[Zone, ...]
    terminals: Mapping[str, Terminal]
    defaults: Defaults
    source: str = ""
    sections: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def terminal(self, terminal_id: str) -> Terminal:
        """The registered terminal, or the unregistered stand-in (a person with no roles)."""
        found = self.terminals.get(terminal_id)
        return found if found is not None else unregistered_terminal(terminal_id)

    def zone(self, zone_id: str) -> Zone:
        """The zone with this id (KeyError when absent)."""
        for zone in self.zones:
            if zone.id == zone_id:
                return zone
        raise KeyError(zone_id)
