"""``fence check CONFIG``: load and validate a site, print what it holds.

Exit status 0 when the site is valid (warnings allowed), 2 when it is refused; every
problem goes to stderr, one per line, naming file, line or feature, key and reason.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

import shapely
from pyproj import CRS

from fence.config import ConfigError, engine_config
from gnss.instant import format_instant
from zones.crs import CrsChoiceError, auto_gk_crs
from zones.model import Permit, Site, Zone
from zones.site import SiteError, load_site


def register(subparsers: Any) -> None:
    """Add the ``check`` subcommand."""
    parser = subparsers.add_parser(
        "check",
        help="validate a site (fence.toml, zones, terminals) and print a summary",
        description=(
            "Load fence.toml with its zones GeoJSON and terminals CSV, apply every load rule "
            "of the contract, and print the zones (shape, access, area, limits, permits), "
            "the terminals by kind and role, the metric CRS and any warnings. "
            "Exit 0 when valid, 2 when refused (messages on stderr)."
        ),
    )
    parser.add_argument("config", type=Path, help="the site's fence.toml")
    parser.set_defaults(func=run)


def _seconds(value: float) -> str:
    return f"{value:g}s"


def limits_text(zone: Zone) -> str:
    """The zone's limits in one short line (``-`` when none)."""
    parts = []
    if zone.max_occupancy is not None:
        parts.append(f"max {zone.max_occupancy}")
    if zone.min_occupancy is not None:
        staffed = ",".join(str(w) for w in zone.staffed) if zone.staffed else "always"
        parts.append(f"min {zone.min_occupancy} ({staffed})")
    if zone.max_occupancy is not None or zone.min_occupancy is not None:
        kinds = "+".join(sorted(k.value for k in zone.count_kinds))
        parts.append(f"counts {kinds}")
        if zone.hold_s:
            parts.append(f"hold {_seconds(zone.hold_s)}")
    if zone.max_dwell_s is not None:
        parts.append(f"dwell {_seconds(zone.max_dwell_s)}")
    if zone.max_still_s is not None:
        parts.append(f"still {_seconds(zone.max_still_s)}")
    parts.append(f"margin {zone.margin_m:g}m")
    return ", ".join(parts)


def permit_text(permit: Permit) -> str:
    """One permit as ``who [when]``."""

    who = []
    if permit.roles is not None:
        who.append("roles " + ("|".join(sorted(permit.roles)) or "(none)"))
    if permit.terminals is not None:
        who.append("terminals " + ("|".join(sorted(permit.terminals)) or "(none)"))
    text = " or ".join(who) if who else "every registered terminal"
    when = []
    if permit.daily is not None:
        when.append("daily " + ",".join(str(w) for w in permit.daily))
    if permit.from_ms is not None:
        when.append("from " + format_instant(permit.from_ms))
    if permit.until_ms is not None:
        when.append("until " + format_instant(permit.until_ms))
    return text + (f" [{'; '.join(when)}]" if when else "")


def shape_text(zone: Zone) -> str:
    """Geometry type, parts and holes."""
    geom = zone.metric
    parts = list(getattr(geom, "geoms", [geom]))
    holes = sum(len(p.interiors) for p in parts)
    text = geom.geom_type if len(parts) == 1 else f"{geom.geom_type}({len(parts)})"
    return text + (f", {holes} hole{'s' if holes > 1 else ''}" if holes else "")


def crs_text(site: Site) -> str:
    """The CRS code with its name, and how it was chosen."""
    name = CRS.from_user_input(site.crs).name
    minx, _, maxx, _ = shapely.total_bounds([z.geometry for z in site.zones])
    try:
        auto = auto_gk_crs((minx + maxx) / 2) == site.crs
    except CrsChoiceError:
        auto = False
    how = "the GK zone nearest to the zones" if auto else "named by the site"
    return f"{site.crs} ({name}; {how})"


def print_summary(site: Site, out: TextIO) -> None:
    """The human summary of a valid site."""
    print(f"site: {site.name}", file=out)
    print(f"  source: {site.source}", file=out)
    print(f"  time zone: {site.timezone.key}", file=out)
    print(f"  metric CRS: {crs_text(site)}", file=out)
    d = site.defaults
    still = "off" if d.still_s is None else _seconds(d.still_s)
    print(
        f"  defaults: margin {d.margin_m:g}m, offline after {_seconds(d.offline_after_s)}, still {still} "
        f"within {d.still_radius_m:g}m, qualities {sorted(d.accepted_qualities)}",
        file=out,
    )
    print(f"zones: {len(site.zones)}", file=out)
    width = max(len(z.id) for z in site.zones)
    for zone in site.zones:
        print(
            f"  {zone.id:<{width}}  {zone.access.value:<10}  {zone.metric.area:>11,.0f} m²  "
            f"{shape_text(zone)}  {zone.name}",
            file=out,
        )
        print(f"  {'':<{width}}  limits: {limits_text(zone)}", file=out)
        if zone.restricted:
            if not zone.permits:
                print(f"  {'':<{width}}  permits: none (nobody may enter)", file=out)
            for permit in zone.permits:
                print(f"  {'':<{width}}  permit: {permit_text(permit)}", file=out)
    print(f"terminals: {len(site.terminals)}", file=out)
    by_kind = Counter(t.kind.value for t in site.terminals.values())
    for kind, count in sorted(by_kind.items()):
        roles = Counter(r for t in site.terminals.values() if t.kind.value == kind for r in t.roles)
        no_role = sum(1 for t in site.terminals.values() if t.kind.value == kind and not t.roles)
        role_text = ", ".join(f"{r} {n}" for r, n in sorted(roles.items()))
        if no_role:
            role_text += (", " if role_text else "") + f"no role {no_role}"
        print(f"  {kind}: {count} ({role_text or 'no roles'})", file=out)
    if site.sections:
        print(f"engine sections: {', '.join(sorted(site.sections))}", file=out)
    print(f"warnings: {len(site.warnings)}", file=out)
    for warning in site.warnings:
        print(f"  {warning}", file=out)


def run(args: argparse.Namespace) -> int:
    """Check the site; 0 when valid, 2 when refused."""
    path: Path = args.config
    try:
        site = load_site(path)
        engine_config(site.sections, path, site.name)
    except SiteError as refused:
        print(f"fence check: {path}: refused, {len(refused.messages)} problem(s):", file=sys.stderr)
        for message in refused.messages:
            print(f"  {message}", file=sys.stderr)
        return 2
    except ConfigError as refused:
        print(f"fence check: {path}: refused, 1 problem(s):", file=sys.stderr)
        print(f"  {refused}", file=sys.stderr)
        return 2
    print_summary(site, sys.stdout)
    print(f"fence check: {path}: valid", file=sys.stdout)
    return 0
