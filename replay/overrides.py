"""What-if analysis: limit overrides on a loaded site (``--set ZONE.KEY=VALUE``).

An override replaces one setting of one zone (or of the site defaults with the zone part
``defaults``) and is checked like the site file is: a wrong key, type or range is refused
with a message naming the override, the zone and the reason.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from zones.model import Access, Defaults, Site, TerminalKind, Zone


class OverrideError(ValueError):
    """An override that cannot be applied; the message names it and the reason."""


@dataclass(frozen=True, slots=True)
class Override:
    """One ``TARGET.KEY=VALUE``; ``target`` is a zone id or ``defaults``; ``value`` as parsed."""

    target: str
    key: str
    value: Any
    text: str


DEFAULTS_TARGET = "defaults"


def _value(text: str) -> Any:
    """A TOML value (``5``, ``1.5``, ``["08:00-20:00"]``), ``none``/``null``, or a bare word."""
    if text.strip().lower() in ("none", "null", ""):
        return None
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text.strip()


def parse_override(text: str) -> Override:
    """Parse ``ZONE.KEY=VALUE`` (the zone id may itself contain dots: the last one splits)."""
    left, sep, right = text.partition("=")
    target, dot, key = left.strip().rpartition(".")
    if not sep or not dot or not target or not key:
        raise OverrideError(f"--set {text!r}: expected ZONE.KEY=VALUE (or defaults.KEY=VALUE)")
    return Override(target, key, _value(right), text)


def _count(o: Override, value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise OverrideError(f"--set {o.text}: {o.key} must be a non-negative integer or none")
    return value


def _seconds(o: Override, value: Any, *, optional: bool, positive: bool) -> float | None:
    if value is None and optional:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise OverrideError(f"--set {o.text}: {o.key} must be a number" + (" or none" if optional else ""))
    if value < 0 or (positive and value == 0):
        raise OverrideError(f"--set {o.text}: {o.key} must be {'> 0' if positive else '>= 0'}")
    return float(value)


def _access(o: Override, value: Any) -> Access:
    try:
        return Access(value)
    except ValueError:
        raise OverrideError(f"--set {o.text}: access must be 'open' or 'restricted'") from None


def _kinds(o: Override, value: Any) -> frozenset[TerminalKind]:
    if not isinstance(value, list) or not value:
        raise OverrideError(f"--set {o.text}: {o.key} must be a non-empty list of kinds")
    try:
        return frozenset(TerminalKind(v) for v in value)
    except ValueError:
        raise OverrideError(f"--set {o.text}: {o.key}: kinds are 'person' and 'vehicle'") from None


_ZONE_KEYS: Mapping[str, Callable[[Override, Any], Any]] = {
    "max_occupancy": _count,
    "min_occupancy": _count,
    "hold_s": lambda o, v: _seconds(o, v, optional=False, positive=False),
    "max_dwell_s": lambda o, v: _seconds(o, v, optional=True, positive=True),
    "max_still_s": lambda o, v: _seconds(o, v, optional=True, positive=True),
    "margin_m": lambda o, v: _seconds(o, v, optional=False, positive=True),
    "access": _access,
    "count_kinds": _kinds,
}

_DEFAULT_KEYS: Mapping[str, Callable[[Override, Any], Any]] = {
    "offline_after_s": lambda o, v: _seconds(o, v, optional=False, positive=True),
    "still_s": lambda o, v: _seconds(o, v, optional=True, positive=False) or None,
    "still_radius_m": lambda o, v: _seconds(o, v, optional=False, positive=True),
    "still_kinds": _kinds,
}


V = TypeVar("V", Zone, Defaults)


def _apply(value: V, o: Override, keys: Mapping[str, Callable[[Override, Any], Any]],
           what: str, hint: str = "") -> V:
    """``value`` (a zone or the defaults) with the override's key replaced, checked."""
    check = keys.get(o.key)
    if check is None:
        raise OverrideError(
            f"--set {o.text}: {what} key {o.key!r} cannot be overridden "
            f"(one of: {', '.join(sorted(keys))}{hint})"
        )
    try:
        return dataclasses.replace(value, **{o.key: check(o, o.value)})
    except ValueError as exc:
        raise OverrideError(f"--set {o.text}: {exc}") from None


def apply_overrides(site: Site, overrides: Iterable[Override]) -> Site:
    """The site with every override applied in order; unknown zones and keys are refused."""
    zones = {zone.id: zone for zone in site.zones}
    defaults = site.defaults
    for o in overrides:
        if o.target == DEFAULTS_TARGET:
            defaults = _apply(defaults, o, _DEFAULT_KEYS, "defaults")
        elif o.target in zones:
            zones[o.target] = _apply(
                zones[o.target], o, _ZONE_KEYS, "zone",
                "; edit a copy of the zones and use --zones",
            )
        else:
            raise OverrideError(f"--set {o.text}: no zone {o.target!r} in site {site.name!r}")
    replaced: Site = dataclasses.replace(site, zones=tuple(zones.values()), defaults=defaults)
    return replaced
