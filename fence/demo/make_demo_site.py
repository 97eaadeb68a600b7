"""Generate the bundled demo site: ``zones.geojson`` and ``terminals.csv`` in this folder.

A fictional chemical cluster laid out near the Shaerqin industrial area (origin 111.50°E,
40.65°N). Zones are drawn in metres east/north of the origin, placed in the site's metric
CRS (CGCS2000 3-degree GK CM 111°E, EPSG:4546) and written as lon/lat rounded to 1e-7°
(about 1 cm). Deterministic: running it again gives the same files.

Run: ``.venv/bin/python fence/demo/make_demo_site.py`` (from the repository root).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

HERE = Path(__file__).resolve().parent
ORIGIN_LON, ORIGIN_LAT = 111.50, 40.65
CRS = "EPSG:4546"
DIGITS = 7

TURNAROUND = {"from": "2026-11-01T00:00:00+08:00", "until": "2027-05-01T00:00:00+08:00"}


def circle(cx: float, cy: float, r: float) -> Polygon:
    """A round bund or exclusion area (32 vertices)."""
    return Point(cx, cy).buffer(r, quad_segs=8)


def zone(zone_id: str, name: str, geometry: BaseGeometry, **props: Any) -> dict[str, Any]:
    """A zone: id, name, local geometry and contract properties."""
    return {"id": zone_id, "name": name, "geometry": geometry, "props": props}


OPERATORS = ["operator"]
ZONES = [
    # gates and front area
    zone("GATEHOUSE", "North gatehouse", box(-6, 520, 6, 530), min_occupancy=1, hold_s=300),
    zone("GATE-N-IN", "North gate, inbound lane", box(-12, 525, -8, 560), count_kinds=["vehicle"], max_occupancy=3, hold_s=60, margin_m=0.5),
    zone("GATE-N-OUT", "North gate, outbound lane", box(8, 525, 12, 560), count_kinds=["vehicle"], max_occupancy=3, hold_s=60, margin_m=0.5),
    zone("ADMIN", "Administration building", box(-150, 430, -60, 470), max_occupancy=120),
    zone("VISITOR-CENTRE", "Visitor centre", box(-220, 440, -170, 470), max_occupancy=40, hold_s=30),
    zone("CANTEEN", "Canteen", box(60, 430, 120, 465), max_occupancy=80, hold_s=120),
    zone("MUSTER-1", "Muster point 1 (north)", box(150, 430, 190, 460), max_occupancy=150),
    zone("FIRE-STATION", "Fire station", box(-300, 400, -250, 440), min_occupancy=2, hold_s=300),
    zone(
        "CONTROL-1", "Central control room", box(-40, 330, 0, 355), access="restricted",
        permits=[{"roles": ["operator", "control-room", "security", "fire-crew"]}],
        min_occupancy=2, staffed=["06:00-22:00"], max_occupancy=8, hold_s=120,
    ),
    zone("LAB", "Quality-control laboratory", box(20, 330, 60, 355), max_occupancy=12, max_still_s=1800),
    # process units
    zone(
        "UNIT-100", "Ammonia unit", box(-420, 100, -270, 200), access="restricted",
        permits=[{"roles": ["operator", "maintenance", "security", "fire-crew"]}, {"roles": ["contractor"], "daily": ["08:00-17:00"]}],
        max_occupancy=25, hold_s=60, max_still_s=600,
    ),
    zone(
        "UNIT-200", "Methanol unit", Polygon(box(-220, 100, -80, 190).exterior.coords, [box(-160, 130, -140, 150).exterior.coords]),
        access="restricted", permits=[{"roles": ["operator", "maintenance", "security", "fire-crew"]}],
        max_occupancy=20, hold_s=60,
    ),
    zone(
        "REACTOR-BAY-210", "Methanol reactor bay R-210", box(-210, 110, -180, 140), access="restricted",
        permits=[{"roles": ["operator"], "daily": ["08:00-20:00"]}, {"roles": ["fire-crew"]}],
        max_occupancy=4, max_dwell_s=1800, max_still_s=300, margin_m=1.5,
    ),
    zone(
        "UNIT-300", "Chlor-alkali unit", Polygon([(-40, 100), (100, 100), (100, 130), (0, 130), (0, 200), (-40, 200)]),
        access="restricted", permits=[{"roles": ["operator", "maintenance", "security", "fire-crew"]}],
        max_occupancy=15, max_still_s=300,
    ),
    zone(
        "HOT-WORK-Z1", "Hot-work zone Z1 (welding on line 3)", box(-30, 150, -10, 170), access="restricted",
        permits=[{"terminals": ["CT-003", "CT-004", "CT-011"], "daily": ["08:30-16:30"], **TURNAROUND}, {"roles": ["fire-crew"]}],
        max_occupancy=4, max_dwell_s=14400,
    ),
    zone(
        "CONTROL-2", "Utilities control room", box(130, 160, 155, 180), access="restricted",
        permits=[{"roles": ["operator", "control-room", "maintenance"]}], min_occupancy=1, staffed=["22:00-06:00"], hold_s=300,
    ),
    zone(
        "SUBSTATION-1", "Main electrical substation", box(180, 100, 220, 130), access="restricted",
        permits=[{"roles": ["electrician"]}, {"roles": ["security"], "daily": ["20:00-06:00"]}], max_dwell_s=3600,
    ),
    zone("COOLING-TOWER", "Cooling tower", box(240, 100, 300, 160), margin_m=2.0, max_occupancy=10),
    zone(
        "PIPE-RACK-MAIN", "Main pipe rack", box(-450, 60, 320, 68), access="restricted",
        permits=[{"roles": ["operator", "maintenance", "security", "fire-crew"]}], margin_m=0.5, max_still_s=900,
    ),
    zone(
        "WWTP", "Wastewater treatment", box(400, 50, 500, 150), access="restricted",
        permits=[{"roles": ["operator", "maintenance", "lab"]}], max_still_s=900,
    ),
    # storage
    zone(
        "TANK-FARM-A", "Solvent tank farm A", box(-450, -250, -230, -90), access="restricted",
        permits=[{"roles": ["operator", "security", "fire-crew"]}, {"roles": ["maintenance", "contractor"], "daily": ["08:00-17:00"]}],
        max_dwell_s=7200, max_still_s=600, max_occupancy=12, hold_s=60, margin_m=2.0,
    ),
    zone("TANK-A1", "Tank A1 bund", circle(-400, -200, 30), access="restricted", permits=[{"roles": ["operator"]}], max_still_s=300, max_dwell_s=1800),
    zone("TANK-A2", "Tank A2 bund", circle(-320, -200, 30), access="restricted", permits=[{"roles": ["operator"]}], max_still_s=300, max_dwell_s=1800),
    zone("TANK-A3", "Tank A3 bund", circle(-400, -132, 25), access="restricted", permits=[{"roles": ["operator"]}], max_still_s=300, max_dwell_s=1800),
    zone(
        "TANK-FARM-B", "LPG spheres (two bunds)", MultiPolygon([box(-180, -250, -120, -190), box(-180, -170, -120, -110)]),
        access="restricted", permits=[{"roles": ["operator", "fire-crew"]}], max_occupancy=6, max_still_s=300, margin_m=2.0,
    ),
    zone(
        "CHEM-WAREHOUSE", "Hazardous-chemicals warehouse", box(150, -180, 230, -130), access="restricted",
        permits=[{"roles": ["warehouse"], "daily": ["06:00-22:00"]}, {"roles": ["security", "fire-crew"]}],
        max_occupancy=10, max_still_s=1200,
    ),
    # logistics
    zone("LOADING-RACK", "Tanker loading rack", box(0, -220, 80, -190), count_kinds=["vehicle"], max_occupancy=4, hold_s=120, max_dwell_s=3600),
    zone("HAZMAT-PARK", "Hazmat vehicle parking", box(150, -300, 250, -250), count_kinds=["vehicle"], max_occupancy=12, hold_s=60, max_dwell_s=14400),
    zone("TRUCK-WAIT", "Truck waiting area", box(300, -300, 420, -240), count_kinds=["vehicle"], max_occupancy=20, hold_s=300, max_dwell_s=10800),
    zone("GATE-S-IN", "South truck gate, inbound lane", box(480, -280, 515, -276), count_kinds=["vehicle"], max_occupancy=2, hold_s=120, max_dwell_s=180, margin_m=0.5),
    zone("GATE-S-OUT", "South truck gate, outbound lane", box(480, -290, 515, -286), count_kinds=["vehicle"], max_occupancy=2, hold_s=120, margin_m=0.5),
    zone("RAIL-SIDING", "Rail siding", box(-600, -400, -200, -388), access="restricted", permits=[{"roles": ["operator", "driver"]}], margin_m=1.5),
    # maintenance, safety
    zone("MAINT-WORKSHOP", "Maintenance workshop", box(300, 0, 350, 30), max_occupancy=30),
    zone(
        "MAINT-AREA-T12", "Turnaround area T12 (work permit)", box(-100, -60, -40, -20), access="restricted",
        permits=[{"roles": ["contractor", "maintenance"], "daily": ["07:30-18:30"], **TURNAROUND}, {"roles": ["security", "fire-crew"]}],
        max_occupancy=20, hold_s=120, max_still_s=1200,
    ),
    zone("FLARE-AREA", "Flare exclusion area", circle(500, 300, 60), access="restricted", permits=[], margin_m=2.0),
    zone("MUSTER-2", "Muster point 2 (south)", box(350, -120, 390, -90), max_occupancy=150),
]

# (id prefix, count, kind, roles for member k (1-based), name prefix)
TERMINAL_GROUPS: list[tuple[str, int, str, Any, str]] = [
    ("OP", 40, "person", lambda k: ["operator", "first-aid"] if k % 5 == 0 else ["operator"], "Operator"),
    ("CR", 8, "person", lambda k: ["operator", "control-room"], "Control-room operator"),
    ("MT", 15, "person", lambda k: ["maintenance", "electrician"] if k <= 4 else ["maintenance"], "Maintenance technician"),
    ("CT", 30, "person", lambda k: ["contractor", "hot-work"] if k in (3, 4, 11) else ["contractor"], "Contractor"),
    ("SEC", 10, "person", lambda k: ["security"], "Security patrol"),
    ("FF", 6, "person", lambda k: ["fire-crew", "first-aid"], "Firefighter"),
    ("LAB", 6, "person", lambda k: ["lab"], "Lab technician"),
    ("WH", 5, "person", lambda k: ["warehouse"], "Warehouse keeper"),
    ("VIS", 10, "person", lambda k: ["visitor"], "Visitor"),
    ("HZ", 15, "vehicle", lambda k: ["driver", "hazmat"], "Hazmat tanker"),
    ("TR", 10, "vehicle", lambda k: ["driver"], "Truck"),
    ("PV", 3, "vehicle", lambda k: ["security"], "Patrol car"),
    ("FE", 2, "vehicle", lambda k: ["fire-crew"], "Fire engine"),
]


def to_lonlat(geometry: BaseGeometry) -> BaseGeometry:
    """Local metres (east, north of the origin) to lon/lat through the metric CRS."""
    forward = Transformer.from_crs("EPSG:4490", CRS, always_xy=True)
    inverse = Transformer.from_crs(CRS, "EPSG:4490", always_xy=True)
    x0, y0 = forward.transform(ORIGIN_LON, ORIGIN_LAT)

    def move(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        lon, lat = inverse.transform(coords[:, 0] + x0, coords[:, 1] + y0)
        return np.round(np.column_stack([lon, lat]), DIGITS)

    return shapely.transform(geometry, move)


def zones_geojson() -> str:
    """The FeatureCollection text."""
    features = []
    for z in ZONES:
        geometry = to_lonlat(z["geometry"])
        if not geometry.is_valid:
            raise SystemExit(f"zone {z['id']}: invalid after rounding: {shapely.is_valid_reason(geometry)}")
        features.append(
            {
                "type": "Feature",
                "properties": {"id": z["id"], "name": z["name"], **z["props"]},
                "geometry": json.loads(shapely.to_geojson(geometry)),
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}, indent=1, ensure_ascii=False) + "\n"


def terminals_csv() -> str:
    """The terminals CSV text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "kind", "roles", "name"])
    for prefix, count, kind, roles, name in TERMINAL_GROUPS:
        width = 3 if count >= 10 else 2
        for k in range(1, count + 1):
            writer.writerow([f"{prefix}-{k:0{width}d}", kind, ";".join(roles(k)), f"{name} {k}"])
    return out.getvalue()


def main() -> int:
    """Write both files next to this script."""
    (HERE / "zones.geojson").write_text(zones_geojson(), encoding="utf-8")
    (HERE / "terminals.csv").write_text(terminals_csv(), encoding="utf-8")
    print(f"wrote {len(ZONES)} zones and {sum(g[1] for g in TERMINAL_GROUPS)} terminals to {HERE.name}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
