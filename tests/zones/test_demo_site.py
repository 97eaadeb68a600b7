"""The bundled demo site (fence.toml at the repository root): loads cleanly, has every
kind of zone the docs promise, and is exactly what its generator writes."""

from __future__ import annotations

import importlib.util
from collections import Counter
from types import ModuleType

from tests.support.paths import DEMO_CONFIG, REPO
from zones.index import ZoneIndex
from zones.model import TerminalKind
from zones.site import load_site

DEMO = REPO / "fence" / "demo"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_demo_site", DEMO / "make_demo_site.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_files_are_what_the_generator_writes() -> None:
    make = generator()
    assert (DEMO / "zones.geojson").read_text(encoding="utf-8") == make.zones_geojson()
    assert (DEMO / "terminals.csv").read_text(encoding="utf-8") == make.terminals_csv()


def test_demo_site_loads_without_warnings() -> None:
    site = load_site(DEMO_CONFIG)
    assert site.warnings == ()
    assert site.crs == "EPSG:4546"
    assert 20 <= len(site.zones) <= 40
    assert 50 <= len(site.terminals) <= 200
    kinds = Counter(t.kind for t in site.terminals.values())
    assert kinds[TerminalKind.PERSON] > 0 and kinds[TerminalKind.VEHICLE] > 0
    roles = {r for t in site.terminals.values() for r in t.roles}
    assert {"operator", "contractor", "security", "driver", "visitor"} <= roles


def test_demo_site_has_every_kind_of_zone() -> None:
    site = load_site(DEMO_CONFIG)
    zones = site.zones
    assert any(z.restricted and any(p.daily for p in z.permits) for z in zones)  # time-window permit
    assert any(z.restricted and any(p.from_ms and p.until_ms for p in z.permits) for z in zones)  # work permit
    assert any(z.restricted and not z.permits for z in zones)  # nobody allowed
    control = site.zone("CONTROL-1")
    assert control.min_occupancy == 2 and control.staffed is not None
    hazmat = site.zone("HAZMAT-PARK")
    assert hazmat.max_dwell_s is not None and TerminalKind.VEHICLE in hazmat.count_kinds
    assert any(z.max_occupancy is not None for z in zones)
    assert any(z.metric.geom_type == "MultiPolygon" for z in zones)
    assert any(len(getattr(z.metric, "interiors", ())) for z in zones)
    assert any(z.staffed and any(w.crosses_midnight for w in z.staffed) for z in zones)
    # realistic sizes: from a 4 m gate lane to a 3.5 ha tank farm
    areas = {z.id: z.metric.area for z in zones}
    assert 100 < areas["GATE-N-IN"] < 200 and 30_000 < areas["TANK-FARM-A"] < 40_000


def test_demo_zone_centres_are_members() -> None:
    site = load_site(DEMO_CONFIG)
    index = ZoneIndex.build(site)
    for zone in site.zones:
        p = zone.metric.representative_point()
        inside = index.membership(frozenset(), p.x, p.y, 0.05)
        assert (zone.id in inside) == (index.signed_distance(zone.id, p.x, p.y) >= zone.margin_m)
