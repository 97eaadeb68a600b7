"""The site document the map is drawn from: every part and hole, in metric coordinates."""

from __future__ import annotations

import json
from pathlib import Path

from fence.console.sitedoc import site_document
from tests.console.support import lonlat, rect_lonlat, write_site
from zones.index import ZoneIndex
from zones.site import load_site


def test_multipolygons_with_holes_keep_every_ring(tmp_path: Path) -> None:
    toml = write_site(tmp_path)
    zones = json.loads((tmp_path / "zones.geojson").read_text())
    shell = rect_lonlat(400, 0, 500, 100)[0]
    hole = [list(lonlat(x, y)) for x, y in [(420, 20), (420, 40), (440, 40), (440, 20), (420, 20)]]
    second = rect_lonlat(520, 0, 540, 20)
    zones["features"].append({"type": "Feature", "properties": {"id": "PIPE", "access": "restricted"},
                              "geometry": {"type": "MultiPolygon", "coordinates": [[shell, hole], second]}})
    (tmp_path / "zones.geojson").write_text(json.dumps(zones))
    site = load_site(toml)
    doc = site_document(site)
    pipe = next(z for z in doc["zones"] if z["id"] == "PIPE")
    assert pipe["name"] == "PIPE" and pipe["kind"] is None and pipe["access"] == "restricted"
    assert [len(p) for p in pipe["polygons"]] == [2, 1]  # shell + hole, then the second part
    index = ZoneIndex.build(site)
    hx, hy = index.project(*lonlat(420, 20))
    assert any(abs(x - hx) < 0.05 and abs(y - hy) < 0.05 for x, y in pipe["polygons"][0][1])
    minx, miny, maxx, maxy = doc["bounds"]
    ex, _ = index.project(*lonlat(540, 20))
    assert abs(maxx - ex) < 0.5 and minx < maxx and miny < maxy
    assert doc["timezone"] == "Asia/Shanghai"
