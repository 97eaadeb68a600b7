"""The static site description the map is drawn from: zones in the metric CRS."""

from __future__ import annotations

from typing import Any

from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from zones.model import Site, Zone


def _ring(coords: Any) -> list[list[float]]:
    return [[round(float(x), 2), round(float(y), 2)] for x, y, *_ in coords]


def metric_polygons(geometry: BaseGeometry) -> list[list[list[list[float]]]]:
    """Polygons as lists of rings (shell first, then holes) of [x, y] metric points."""
    if isinstance(geometry, Polygon):
        parts = [geometry]
    elif isinstance(geometry, MultiPolygon):
        parts = list(geometry.geoms)
    else:
        raise ValueError(f"zone geometry {geometry.geom_type} is not a polygon")
    return [[_ring(p.exterior.coords), *(_ring(h.coords) for h in p.interiors)] for p in parts]


def _zone_kind(zone: Zone) -> str | None:
    kind = zone.extra.get("kind")
    return kind if isinstance(kind, str) else None


def zone_document(zone: Zone) -> dict[str, Any]:
    """One zone for the map: ids, access, kind, limits, metric polygons."""
    return {
        "id": zone.id,
        "name": zone.name,
        "access": zone.access.value,
        "kind": _zone_kind(zone),
        "max_occupancy": zone.max_occupancy,
        "min_occupancy": zone.min_occupancy,
        "staffed": None if zone.staffed is None else [str(w) for w in zone.staffed],
        "count_kinds": sorted(k.value for k in zone.count_kinds),
        "hold_s": zone.hold_s,
        "max_dwell_s": zone.max_dwell_s,
        "max_still_s": zone.max_still_s,
        "margin_m": zone.margin_m,
        "permits": len(zone.permits),
        "polygons": metric_polygons(zone.metric),
    }


def site_document(site: Site) -> dict[str, Any]:
    """Site name, CRS, zone documents, metric bounds and registered terminals."""
    minx, miny, maxx, maxy = (float("inf"), float("inf"), float("-inf"), float("-inf"))
    for zone in site.zones:
        bx0, by0, bx1, by1 = zone.metric.bounds
        minx, miny, maxx, maxy = min(minx, bx0), min(miny, by0), max(maxx, bx1), max(maxy, by1)
    return {
        "name": site.name,
        "crs": site.crs,
        "timezone": str(site.timezone),
        "bounds": [minx, miny, maxx, maxy],
        "zones": [zone_document(z) for z in site.zones],
        "terminals": [
            {"id": t.id, "name": t.name, "kind": t.kind.value, "roles": sorted(t.roles)}
            for t in site.terminals.values()
        ],
    }
