"""Writing small site folders (fence.toml, zones.geojson, terminals.csv) for load tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SQUARE = [[[111.5, 40.65], [111.501, 40.65], [111.501, 40.651], [111.5, 40.651], [111.5, 40.65]]]
FAR_SQUARE = [[[111.51, 40.66], [111.511, 40.66], [111.511, 40.661], [111.51, 40.661], [111.51, 40.66]]]

BASE_TOML = """\
[site]
name = "Test park"
zones = "zones.geojson"
terminals = "terminals.csv"

[defaults]
margin_m = 1.0
"""

BASE_CSV = "id,kind,roles,name\nW-001,person,operator;first-aid,Operator 1\nV-001,vehicle,,Truck 1\n"


def feature(properties: dict[str, Any] | None, geometry: Any = None, geometry_type: str = "Polygon") -> dict[str, Any]:
    """A GeoJSON Feature (the square when no geometry is given)."""
    coordinates = SQUARE if geometry is None else geometry
    return {"type": "Feature", "properties": properties, "geometry": {"type": geometry_type, "coordinates": coordinates}}


def write_site(
    folder: Path,
    toml: str = BASE_TOML,
    features: list[dict[str, Any]] | None = None,
    csv: str | None = BASE_CSV,
    zones_text: str | None = None,
) -> Path:
    """Write the three files; returns the path of fence.toml."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fence.toml").write_text(toml, encoding="utf-8")
    if zones_text is None:
        zones_text = json.dumps(
            {"type": "FeatureCollection", "features": features if features is not None else [feature({"id": "A"})]}
        )
    (folder / "zones.geojson").write_text(zones_text, encoding="utf-8")
    if csv is not None:
        (folder / "terminals.csv").write_text(csv, encoding="utf-8")
    return folder / "fence.toml"
