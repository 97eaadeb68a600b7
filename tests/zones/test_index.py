"""ZoneIndex against brute force over every zone with the shapely reference.

The grid fast path, the exact fallback, incremental add/remove, and the hysteresis of
contract section 4 are all checked against ``brute_membership`` below.
"""

from __future__ import annotations

import math

import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from tests.zones.geometries import CATALOGUE, TOUCH_POINTS, X0, Y0
from tests.zones.support import metric_site, metric_zone
from zones.grid import boundary_edges, edge_tuples, nearest_edge
from zones.index import ZoneIndex, decide
from zones.model import Zone

TIE_M = 1e-7  # decisions within this of d == +-h may differ in the last float bit


def reference_signed_distance(metric: BaseGeometry, x: float, y: float) -> float:
    """Shapely: distance to the boundary, negated outside."""
    point = shapely.Point(x, y)
    d = float(metric.boundary.distance(point))
    return d if metric.contains(point) else -d


def brute_membership(zones: list[Zone], current: frozenset[str], x: float, y: float, acc_m: float) -> frozenset[str]:
    """Contract 4 over every zone, no index."""
    out = set()
    for zone in zones:
        h = max(zone.margin_m, acc_m)
        if decide(zone.id in current, reference_signed_distance(zone.metric, x, y), h):
            out.add(zone.id)
    return frozenset(out)


def near_tie(zones: list[Zone], x: float, y: float, acc_m: float) -> bool:
    """Whether some zone's |d| is within TIE_M of its h (float noise may decide)."""
    for zone in zones:
        h = max(zone.margin_m, acc_m)
        if abs(abs(reference_signed_distance(zone.metric, x, y)) - h) < TIE_M:
            return True
    return False


CATALOGUE_ZONES = [
    metric_zone(name, geometry, margin_m=0.5 + (k % 4) * 0.75) for k, (name, geometry) in enumerate(CATALOGUE.items())
]
CATALOGUE_INDEX = ZoneIndex.build(metric_site(CATALOGUE_ZONES))


def boundary_point(geometry: BaseGeometry, fraction: float) -> tuple[float, float]:
    """A point on the boundary at ``fraction`` of its length."""
    boundary = geometry.boundary
    p = boundary.interpolate(fraction * boundary.length)
    return p.x, p.y


ACC = st.sampled_from([0.01, 0.05, 0.5, 1.0, 3.0, 4.99, 5.0, 7.5])


@st.composite
def catalogue_case(draw: st.DrawFn) -> tuple[frozenset[str], float, float, float]:
    """A current set, a point near some zone's boundary or anywhere, and an accuracy."""
    ids = [z.id for z in CATALOGUE_ZONES]
    current = frozenset(draw(st.sets(st.sampled_from(ids), max_size=4)))
    if draw(st.booleans()):
        zone = draw(st.sampled_from(CATALOGUE_ZONES))
        bx, by = boundary_point(zone.metric, draw(st.floats(0, 1)))
        x = bx + draw(st.floats(-9, 9))
        y = by + draw(st.floats(-9, 9))
    else:
        x = X0 + draw(st.floats(-800, 1100))
        y = Y0 + draw(st.floats(-700, 800))
    return current, x, y, draw(ACC)


@settings(max_examples=1500, deadline=None)
@given(catalogue_case())
def test_catalogue_membership_equals_brute_force(case: tuple[frozenset[str], float, float, float]) -> None:
    current, x, y, acc = case
    assume(not near_tie(CATALOGUE_ZONES, x, y, acc))
    expected = brute_membership(CATALOGUE_ZONES, current, x, y, acc)
    assert CATALOGUE_INDEX.membership(current, x, y, acc) == expected
    assert CATALOGUE_INDEX.membership_exact(current, x, y, acc) == expected
    assert CATALOGUE_INDEX.membership_many([current], [x], [y], [acc]) == [expected]


@st.composite
def star_polygon(draw: st.DrawFn, cx: float, cy: float, r_max: float) -> Polygon:
    """A random star-shaped polygon around (cx, cy), maybe with a star-shaped hole."""
    n = draw(st.integers(3, 14))
    angles = sorted(draw(st.lists(st.floats(0, 2 * math.pi, exclude_max=True), min_size=n, max_size=n, unique=True)))
    radii = draw(st.lists(st.floats(0.3 * r_max, r_max), min_size=n, max_size=n))
    shell = [(cx + r * math.cos(a), cy + r * math.sin(a)) for a, r in zip(angles, radii, strict=True)]
    holes = []
    if draw(st.booleans()):
        k = draw(st.integers(3, 8))
        hr = draw(st.floats(0.05, 0.25)) * r_max
        holes.append([(cx + hr * math.cos(2 * math.pi * j / k), cy + hr * math.sin(2 * math.pi * j / k)) for j in range(k)])
    polygon = Polygon(shell, holes)
    assume(polygon.is_valid and polygon.area > 1.0)
    return polygon


@st.composite
def random_zones(draw: st.DrawFn) -> list[Zone]:
    """1-6 zones: star polygons with holes, some MultiPolygons, overlapping allowed."""
    zones = []
    for k in range(draw(st.integers(1, 6))):
        cx = X0 + draw(st.floats(-150, 150))
        cy = Y0 + draw(st.floats(-150, 150))
        r = draw(st.floats(4, 80))
        geometry: BaseGeometry = draw(star_polygon(cx, cy, r))
        if draw(st.booleans()):
            other = draw(star_polygon(cx + 2.5 * r, cy, r))
            multi = MultiPolygon([geometry, other])
            assume(multi.is_valid)
            geometry = multi
        margin = draw(st.sampled_from([0.3, 1.0, 2.0]))
        zones.append(metric_zone(f"Z{k}", geometry, margin_m=margin))
    return zones


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(random_zones(), st.data())
def test_random_polygons_membership_equals_brute_force(zones: list[Zone], data: st.DataObject) -> None:
    index = ZoneIndex.build(metric_site(zones), cell_m=data.draw(st.sampled_from([2.0, 5.0, 11.0])))
    ids = [z.id for z in zones]
    for _ in range(40):
        current = frozenset(data.draw(st.sets(st.sampled_from(ids))))
        zone = data.draw(st.sampled_from(zones))
        bx, by = boundary_point(zone.metric, data.draw(st.floats(0, 1)))
        x = bx + data.draw(st.floats(-6, 6))
        y = by + data.draw(st.floats(-6, 6))
        acc = data.draw(ACC)
        if near_tie(zones, x, y, acc):
            continue
        assert index.membership(current, x, y, acc) == brute_membership(zones, current, x, y, acc)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(CATALOGUE.values())), st.floats(0, 1), st.floats(-30, 30), st.floats(-30, 30))
def test_edge_distance_equals_shapely(geometry: BaseGeometry, fraction: float, dx: float, dy: float) -> None:
    bx, by = boundary_point(geometry, fraction)
    x, y = bx + dx, by + dy
    edges = edge_tuples(boundary_edges(geometry))
    ours = math.sqrt(nearest_edge(tuple(edges), x, y)[0])
    assert ours == pytest.approx(abs(reference_signed_distance(geometry, x, y)), abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CATALOGUE_ZONES), st.floats(0, 1), st.floats(-30, 30), st.floats(-30, 30))
def test_index_signed_distance_is_the_shapely_reference(zone: Zone, fraction: float, dx: float, dy: float) -> None:
    bx, by = boundary_point(zone.metric, fraction)
    x, y = bx + dx, by + dy
    assert CATALOGUE_INDEX.signed_distance(zone.id, x, y) == pytest.approx(
        reference_signed_distance(zone.metric, x, y), abs=1e-9
    )


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(CATALOGUE_ZONES), st.booleans(), st.data())
def test_hysteresis_never_flaps_inside_the_band(zone: Zone, start_inside: bool, data: st.DataObject) -> None:
    """Points with |d| < h never change the membership they started with."""
    acc = data.draw(st.sampled_from([0.05, 0.5, 3.0]))
    h = max(zone.margin_m, acc)
    current = frozenset({zone.id}) if start_inside else frozenset()
    for _ in range(30):
        bx, by = boundary_point(zone.metric, data.draw(st.floats(0, 1)))
        x = bx + data.draw(st.floats(-h, h))
        y = by + data.draw(st.floats(-h, h))
        if abs(reference_signed_distance(zone.metric, x, y)) >= h - TIE_M:
            continue
        after = CATALOGUE_INDEX.membership(current, x, y, acc)
        assert (zone.id in after) == start_inside


def test_enter_and_leave_exactly_at_h() -> None:
    """d == h enters, d == -h leaves (contract 4), on an axis-aligned edge."""
    zone = metric_zone("SQ", CATALOGUE["square"], margin_m=2.0)
    index = ZoneIndex.build(metric_site([zone]))
    x = X0 + 20.0
    assert index.membership(frozenset(), x, Y0 + 2.0, 0.05) == {"SQ"}  # d = +2.0
    assert index.membership(frozenset(), x, Y0 + 1.999, 0.05) == frozenset()
    assert index.membership(frozenset({"SQ"}), x, Y0 - 2.0, 0.05) == frozenset()  # d = -2.0
    assert index.membership(frozenset({"SQ"}), x, Y0 - 1.999, 0.05) == {"SQ"}
    assert index.membership(frozenset({"SQ"}), x, Y0 - 2.5, 3.0) == {"SQ"}  # h = acc = 3
    assert index.membership(frozenset({"SQ"}), x, Y0 - 3.0, 3.0) == frozenset()
    assert index.membership(frozenset({"SQ"}), X0 + 5000, Y0 + 5000, 0.05) == frozenset()  # far away


def test_with_zone_and_without_zone_match_a_fresh_build() -> None:
    base_zones = [z for z in CATALOGUE_ZONES if z.id not in ("donut", "nested_room")]
    base = ZoneIndex.build(metric_site(base_zones), h_max_m=5.0)
    added = base.with_zone(CATALOGUE_ZONES[[z.id for z in CATALOGUE_ZONES].index("donut")])
    removed = CATALOGUE_INDEX.without_zone("nested_room").without_zone("donut")
    fresh_added = [*base_zones, next(z for z in CATALOGUE_ZONES if z.id == "donut")]
    for k in range(2000):
        zone = CATALOGUE_ZONES[k % len(CATALOGUE_ZONES)]
        bx, by = boundary_point(zone.metric, (k * 0.618) % 1.0)
        x, y = bx + ((k * 7) % 13) - 6.0, by + ((k * 5) % 11) - 5.0
        current = frozenset(z.id for z in CATALOGUE_ZONES[k % 3 :: 3])
        if near_tie(CATALOGUE_ZONES, x, y, 0.5):
            continue
        assert added.membership(current, x, y, 0.5) == brute_membership(fresh_added, current, x, y, 0.5)
        assert removed.membership(current, x, y, 0.5) == brute_membership(base_zones, current, x, y, 0.5)
    assert set(added.zone_ids) == {z.id for z in fresh_added}
    with pytest.raises(KeyError):
        base.without_zone("donut")


def test_with_zone_outside_the_grid_rebuilds() -> None:
    base = ZoneIndex.build(metric_site(CATALOGUE_ZONES[:2]))
    far = metric_zone("FAR", shapely.box(X0 + 20_000, Y0, X0 + 20_050, Y0 + 50), margin_m=1.0)
    grown = base.with_zone(far)
    assert grown.membership(frozenset(), X0 + 20_025, Y0 + 25, 0.05) == {"FAR"}
    assert base.membership(frozenset(), X0 + 20_025, Y0 + 25, 0.05) == frozenset()


def test_project_matches_pyproj_round_trip() -> None:
    x, y = CATALOGUE_INDEX.project(111.5, 40.65)
    xs, ys = CATALOGUE_INDEX.project_many([111.5, 111.51], [40.65, 40.66])
    assert (float(xs[0]), float(ys[0])) == (x, y)
    lon, lat = CATALOGUE_INDEX.projection.unproject(x, y)
    assert lon == pytest.approx(111.5, abs=1e-9) and lat == pytest.approx(40.65, abs=1e-9)


@pytest.mark.parametrize("cell_m", [1.7, 5.0, 12.0])
@pytest.mark.parametrize("zone", CATALOGUE_ZONES, ids=lambda z: z.id)
def test_cell_classification_is_conservative(zone: Zone, cell_m: float) -> None:
    """Every cell near a zone, checked exactly against shapely:

    deep cells lie >= H inside; unlisted cells lie >= H outside; band cells carry every
    edge within H of the cell, and a known side only when no edge touches the cell.
    """
    from zones.grid import Grid, classify

    h_max = 5.0
    grid = Grid.covering(shapely.bounds(zone.metric).tolist(), 40.0, cell_m, 10**7)
    cells = classify(zone.id, zone.margin_m, zone.metric, zone.metric.boundary, grid, h_max)
    edges = boundary_edges(zone.metric)
    lines = shapely.linestrings(edges[:, :4].reshape(-1, 2, 2))
    deep = set(cells.deep_keys.tolist())
    band = {key: cells.band_entry(i) for i, key in enumerate(cells.band_keys.tolist())}
    assert not deep & set(band)
    for key in range(grid.nx * grid.ny):
        ix, iy = divmod(key, grid.ny)
        x0 = grid.x0 + ix * grid.cell_m
        y0 = grid.y0 + iy * grid.cell_m
        cell = shapely.box(x0, y0, x0 + grid.cell_m, y0 + grid.cell_m)
        gap = float(zone.metric.boundary.distance(cell))
        centre_inside = bool(zone.metric.contains(cell.centroid))
        if key in deep:
            assert gap >= h_max and centre_inside
        elif key in band:
            entry = band[key]
            near = {tuple(e[:4]) for e in edges[shapely.distance(lines, cell) <= h_max].tolist()}
            local = {(e[0], e[1], e[0] + e[2], e[1] + e[3]) for e in entry[2]}
            assert all(any(math.dist(e[:2], m[:2]) < 1e-9 and math.dist(e[2:], m[2:]) < 1e-6 for m in local) for e in near)
            if entry[3] >= 0:
                assert gap > 0 and bool(entry[3]) == centre_inside
        else:
            assert gap >= h_max and not centre_inside


def test_membership_many_equals_one_at_a_time() -> None:
    """Batches mixing grid cells, the exact path (acc > H) and points off the grid."""
    fixes = []
    for k in range(600):
        zone = CATALOGUE_ZONES[k % len(CATALOGUE_ZONES)]
        bx, by = boundary_point(zone.metric, (k * 0.37) % 1.0)
        x, y = bx + (k % 17) - 8.0, by + (k % 13) - 6.0
        if k % 50 == 0:
            x += 50_000.0  # off the grid
        acc = [0.05, 0.5, 3.0, 12.0][k % 4]
        current = frozenset(z.id for z in CATALOGUE_ZONES[k % 5 :: 5])
        fixes.append((current, x, y, acc))
    batch = CATALOGUE_INDEX.membership_many([f[0] for f in fixes], [f[1] for f in fixes], [f[2] for f in fixes], [f[3] for f in fixes])
    assert batch == [CATALOGUE_INDEX.membership(*f) for f in fixes]
    assert batch[0] == frozenset()  # far from every zone: every current zone is left


@pytest.mark.parametrize("name", sorted(TOUCH_POINTS))
def test_rings_touching_at_a_point(name: str) -> None:
    """Around a point where two rings touch, the side comes from GEOS, not from one ring."""
    zone = next(z for z in CATALOGUE_ZONES if z.id == name)
    index = ZoneIndex.build(metric_site([zone]))
    cx, cy = TOUCH_POINTS[name]
    for i in range(-30, 31):
        for j in range(-30, 31):
            x, y = X0 + cx + i * 0.1, Y0 + cy + j * 0.1
            for current in (frozenset(), frozenset({name})):
                if near_tie([zone], x, y, 0.5):
                    continue
                assert index.membership(current, x, y, 0.5) == brute_membership([zone], current, x, y, 0.5)


@settings(max_examples=200, deadline=None)
@given(st.lists(catalogue_case(), min_size=1, max_size=40))
def test_batch_cells_give_the_per_point_membership(cases: list[tuple[frozenset[str], float, float, float]]) -> None:
    """``cells_many`` + ``membership_in_cell`` (the evaluator's batch path) equal ``membership``
    point by point, off the grid and for a NaN position too."""
    xs = [x for _, x, _, _ in cases] + [math.nan, X0 - 1e7]
    ys = [y for _, _, y, _ in cases] + [math.nan, Y0]
    cells = CATALOGUE_INDEX.cells_many(xs, ys)
    assert len(cells) == len(xs)
    for (current, x, y, acc), cell in zip(cases, cells, strict=False):
        assert CATALOGUE_INDEX.membership_in_cell(cell, current, x, y, acc) == CATALOGUE_INDEX.membership(current, x, y, acc)
    assert cells[-2:] == [0, 0]
    assert CATALOGUE_INDEX.membership_in_cell(0, frozenset(), X0 - 1e7, Y0, 0.05) == frozenset()
