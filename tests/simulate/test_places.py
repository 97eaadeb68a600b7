"""Places and routes in the metric frame."""

from __future__ import annotations

import random

from shapely.geometry import LineString
from shapely.geometry import Point as ShapelyPoint

from fence.simulate.model import SiteLayout
from fence.simulate.places import Router, entry_point, inner_spot, point_beside
from tests.simulate.sites import S11, site


def test_routes_go_around_the_zones_to_avoid() -> None:
    layout = SiteLayout(site(S11))
    avoid = [c.zone for c in layout.cores.values() if c.zone.restricted]
    router = Router(avoid, 3.0)
    rng = random.Random(7)
    open_cores = [c for c in layout.cores.values() if not c.zone.restricted]
    detours = 0
    for _ in range(300):
        a, b = rng.choice(open_cores).point(rng), rng.choice(open_cores).point(rng)
        path = router.route(a, b)
        assert path[0] == a and path[-1] == b
        line = LineString([(p.x, p.y) for p in path])
        for zone in avoid:
            holds_end = zone.metric.buffer(zone.margin_m + 3.0).convex_hull.contains
            if holds_end(ShapelyPoint(a.x, a.y)) or holds_end(ShapelyPoint(b.x, b.y)):
                continue
            assert not line.intersects(zone.metric), zone.id
        detours += len(path) > 2
    assert detours > 10


def test_staging_and_inner_points_are_where_they_should_be() -> None:
    layout = SiteLayout(site(S11))
    rng = random.Random(3)
    for zone in site(S11).zones:
        beside = point_beside(zone, 10.0, layout.frame.all_zones, rng)
        p = ShapelyPoint(beside.x, beside.y)
        assert layout.frame.all_zones.distance(p) >= 8.0 - 1e-6
        inside = entry_point(zone, beside, zone.margin_m + 2.0)
        assert zone.metric.contains(ShapelyPoint(inside.x, inside.y))
        depth = zone.metric.boundary.distance(ShapelyPoint(inside.x, inside.y))
        if not zone.metric.buffer(-(zone.margin_m + 2.0)).is_empty:
            assert depth >= zone.margin_m + 2.0 - 0.01
        clearance = zone.margin_m + 1.5
        spot = inner_spot(zone, clearance)
        if spot.radius_m > 0:  # else the zone is too thin: the spot is its deepest point
            core = zone.metric.buffer(-clearance + 0.01)
            for _ in range(20):
                q = spot.point(rng)
                assert core.contains(ShapelyPoint(q.x, q.y)), zone.id
