"""Places on the site in the metric frame: points inside and beside zones, loops, roads.

Every choice takes its ``random.Random`` from the caller, so a seeded plan always picks
the same places.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry import Point as ShapelyPoint
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points, polylabel
from shapely.prepared import prep

from fence.simulate.frame import Point
from zones.model import Zone

PERIMETER_GAP_M = 25.0
ROAD_SPACING_M = 60.0


def _largest_polygon(geom: BaseGeometry) -> Polygon:
    if isinstance(geom, Polygon):
        return geom
    if isinstance(geom, MultiPolygon):
        return max(geom.geoms, key=lambda part: part.area)
    raise ValueError(f"expected a polygon, got {geom.geom_type}")


def deep_point(zone: Zone) -> Point:
    """The point of the zone farthest from its boundary (largest part)."""
    label = polylabel(_largest_polygon(zone.metric), tolerance=0.1)
    return Point(float(label.x), float(label.y))


class ZoneCore:
    """A zone (its largest part) shrunk by an inset, for drawing random points quickly."""

    def __init__(self, zone: Zone, inset_m: float) -> None:
        self.zone = zone
        self.deep = deep_point(zone)
        core = _largest_polygon(zone.metric).buffer(-inset_m)
        self._prepared = None if core.is_empty else prep(core)
        self._bounds = core.bounds if not core.is_empty else (0.0, 0.0, 0.0, 0.0)

    def point(self, rng: random.Random) -> Point:
        """A uniform point of the shrunk zone (the zone's deepest point if it is empty)."""
        if self._prepared is None:
            return self.deep
        minx, miny, maxx, maxy = self._bounds
        for _ in range(200):
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if self._prepared.contains(ShapelyPoint(x, y)):
                return Point(x, y)
        return self.deep


def _free_ring_points(zone: Zone, gap_m: float, avoid: BaseGeometry) -> list[Point]:
    """Points on the ring ``gap_m`` around the zone that are clear of ``avoid``."""
    ring = _largest_polygon(zone.metric.buffer(gap_m)).exterior
    keep_out = prep(avoid.buffer(gap_m * 0.8))
    points = (ring.interpolate(i / 72 * ring.length) for i in range(72))
    return [Point(float(p.x), float(p.y)) for p in points if not keep_out.intersects(p)]


def point_beside(
    zone: Zone, gap_m: float, avoid: BaseGeometry, rng: random.Random, toward: Point | None = None
) -> Point:
    """A point ``gap_m`` outside the zone and not within ``gap_m`` of ``avoid``.

    With ``toward`` the free point nearest to it, else a random free one. Falls back to
    larger gaps when the ring around the zone is crowded by other zones.
    """
    for gap in (gap_m, gap_m * 2, gap_m * 4, gap_m * 8):
        free = _free_ring_points(zone, gap, avoid)
        if free and toward is not None:
            return min(free, key=toward.distance)
        if free:
            return rng.choice(free)
    raise ValueError(f"no free point beside zone {zone.id}")


def entry_point(zone: Zone, start: Point, depth_m: float) -> Point:
    """The point ``depth_m`` inside the zone (largest part) nearest to ``start``."""
    core = _largest_polygon(zone.metric).buffer(-depth_m)
    if core.is_empty:
        return deep_point(zone)
    near, _ = nearest_points(core, ShapelyPoint(start.x, start.y))
    return Point(float(near.x), float(near.y))


@dataclass(frozen=True, slots=True)
class Spot:
    """A disk inside a zone: a place to stand or move about without leaving the zone."""

    centre: Point
    radius_m: float

    def point(self, rng: random.Random) -> Point:
        """A uniform point of the disk."""
        r = self.radius_m * math.sqrt(rng.random())
        a = rng.uniform(0.0, 2 * math.pi)
        return Point(self.centre.x + r * math.cos(a), self.centre.y + r * math.sin(a))


def inner_spot(zone: Zone, clearance_m: float, max_radius_m: float = 15.0) -> Spot:
    """The largest disk (up to ``max_radius_m``) around the zone's deepest point whose
    every point lies at least ``clearance_m`` inside the zone."""
    centre = deep_point(zone)
    depth = float(zone.metric.boundary.distance(ShapelyPoint(centre.x, centre.y)))
    return Spot(centre, max(0.0, min(max_radius_m, depth - clearance_m)))


def perimeter_loop(all_zones: BaseGeometry) -> list[Point]:
    """Vertices of a loop around every zone (convex hull pushed out by a gap)."""
    hull = all_zones.convex_hull.buffer(PERIMETER_GAP_M, quad_segs=2)
    coords = list(_largest_polygon(hull).exterior.coords)[:-1]
    return [Point(float(x), float(y)) for x, y in coords]


def nearest_index(points: Sequence[Point], p: Point) -> int:
    """Index of the point nearest to ``p``."""
    return min(range(len(points)), key=lambda i: points[i].distance(p))


def round_trip(points: Sequence[Point]) -> list[Point]:
    """The points ordered by angle around their centroid (a loop without crossings)."""
    cx = sum(p.x for p in points) / len(points)
    cy = sum(p.y for p in points) / len(points)
    return sorted(points, key=lambda p: math.atan2(p.y - cy, p.x - cx))


class Roads:
    """A rectangular road grid over the site; routes run along it like vehicles do."""

    def __init__(self, all_zones: BaseGeometry, spacing_m: float = ROAD_SPACING_M) -> None:
        minx, miny, _, _ = all_zones.bounds
        self.origin = Point(minx - PERIMETER_GAP_M, miny - PERIMETER_GAP_M)
        self.spacing_m = spacing_m

    def _snap(self, value: float, origin: float) -> float:
        return origin + round((value - origin) / self.spacing_m) * self.spacing_m

    def route(self, a: Point, b: Point) -> list[Point]:
        """Waypoints a -> road -> along roads -> b (Manhattan legs), without repeats."""
        road_x_a = self._snap(a.x, self.origin.x)
        road_y_b = self._snap(b.y, self.origin.y)
        road_x_b = self._snap(b.x, self.origin.x)
        points = [
            a,
            Point(road_x_a, a.y),
            Point(road_x_a, road_y_b),
            Point(road_x_b, road_y_b),
            Point(road_x_b, b.y),
            b,
        ]
        out = [points[0]]
        for p in points[1:]:
            if p.distance(out[-1]) > 0.01:
                out.append(p)
        return out


def _side(u: np.ndarray, o: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Cross product u x (w - o), broadcast: which side of direction u the point w lies."""
    return np.asarray(u[..., 0] * (w[..., 1] - o[..., 1]) - u[..., 1] * (w[..., 0] - o[..., 0]))


class Router:
    """Walking routes that go around zones (e.g. restricted ones a person may not enter).

    Obstacles are the zones' convex hulls grown by their margin plus a clearance; a route
    is the shortest path over the visibility graph of the hulls' corners (grown a little
    further), with each corner's edges found when first needed. Crossings are tested with
    numpy over all (segment, hull edge) pairs at once. An obstacle that holds
    the start or the target is ignored for that route (the walker is already in it, or
    means to go there).
    """

    def __init__(self, zones: Sequence[Zone], clearance_m: float) -> None:
        self._hulls = [
            shapely.orient_polygons(
                z.metric.convex_hull.buffer(z.margin_m + clearance_m, join_style="mitre")
            )
            for z in zones
        ]
        starts: list[tuple[float, float]] = []
        ends: list[tuple[float, float]] = []
        owner: list[int] = []
        corners: list[tuple[float, float]] = []
        for k, hull in enumerate(self._hulls):
            ring = list(hull.exterior.coords)
            starts.extend(ring[:-1])
            ends.extend(ring[1:])
            owner.extend([k] * (len(ring) - 1))
            grown = hull.buffer(1.0, join_style="mitre").exterior.coords
            corners.extend((float(x), float(y)) for x, y in list(grown)[:-1])
        self._q0 = np.asarray(starts, dtype=float).reshape(-1, 2)
        self._q1 = np.asarray(ends, dtype=float).reshape(-1, 2)
        self._edge_owner = np.asarray(owner, dtype=int)
        self._first_edge = np.searchsorted(self._edge_owner, np.arange(len(self._hulls)))
        # corners inside another obstacle lead nowhere (and would hide crossings)
        self._node_xy = np.asarray(
            [c for c in corners if not any(h.contains(ShapelyPoint(c)) for h in self._hulls)],
            dtype=float,
        ).reshape(-1, 2)
        self._everything = np.ones(len(self._hulls), dtype=bool)
        self._edges: dict[int, list[tuple[int, float]]] = {}

    def _blocked(self, p0: np.ndarray, p1: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Which segments p0[i] -> p1[i] cross or touch an edge of an active obstacle
        (with both ends outside a convex obstacle, that is the same as entering it)."""
        use = active[self._edge_owner]
        q0, q1 = self._q0[use], self._q1[use]
        if len(q0) == 0:
            return np.zeros(len(p0), dtype=bool)
        e = q1 - q0
        r = p1 - p0

        d1 = _side(e[None], q0[None], p0[:, None])
        d2 = _side(e[None], q0[None], p1[:, None])
        d3 = _side(r[:, None], p0[:, None], q0[None])
        d4 = _side(r[:, None], p0[:, None], q1[None])
        return np.asarray(((d1 * d2 <= 0) & (d3 * d4 <= 0)).any(axis=1), dtype=bool)

    def _inside(self, p: Point) -> np.ndarray:
        """Which obstacles hold ``p`` (left of every edge of a counter-clockwise hull)."""
        sides = _side(self._q1 - self._q0, self._q0, np.array([p.x, p.y]))
        return np.asarray(np.minimum.reduceat(sides, self._first_edge) > 0, dtype=bool)

    def _reach(self, x: float, y: float, active: np.ndarray) -> list[tuple[int, float]]:
        """Corners visible from (x, y), with their distances."""
        p0 = np.broadcast_to(np.array([x, y]), self._node_xy.shape)
        free = ~self._blocked(p0, self._node_xy, active)
        dist = np.hypot(self._node_xy[:, 0] - x, self._node_xy[:, 1] - y)
        return [(int(i), float(dist[i])) for i in np.flatnonzero(free)]

    def _corner_edges(self, i: int) -> list[tuple[int, float]]:
        found = self._edges.get(i)
        if found is None:
            x, y = self._node_xy[i]
            found = self._edges[i] = [
                (j, d) for j, d in self._reach(float(x), float(y), self._everything) if j != i
            ]
        return found

    def route(self, start: Point, target: Point) -> list[Point]:
        """Waypoints from start to target (both included) avoiding the obstacles."""
        direct = [start, target]
        if not self._hulls:
            return direct
        active = ~(self._inside(start) | self._inside(target))
        if not self._blocked(np.array([[start.x, start.y]]), np.array([[target.x, target.y]]),
                             active)[0]:
            return direct
        path = self._shortest(start, target, active)
        return path if path is not None else direct

    def _shortest(self, start: Point, target: Point, active: np.ndarray) -> list[Point] | None:
        from_start = self._reach(start.x, start.y, active)
        to_target = dict(self._reach(target.x, target.y, active))
        best = dict(from_start)
        previous: dict[int, int] = {}
        queue = [(d, i) for i, d in from_start]
        heapq.heapify(queue)
        done: set[int] = set()
        finish: tuple[float, int] | None = None
        while queue:
            d, i = heapq.heappop(queue)
            if i in done:
                continue
            done.add(i)
            if finish is not None and d >= finish[0]:
                break
            if i in to_target and (finish is None or d + to_target[i] < finish[0]):
                finish = (d + to_target[i], i)
            for j, w in self._corner_edges(i):
                if d + w < best.get(j, math.inf):
                    best[j] = d + w
                    previous[j] = i
                    heapq.heappush(queue, (d + w, j))
        if finish is None:
            return None
        chain = [finish[1]]
        while chain[-1] in previous:
            chain.append(previous[chain[-1]])
        corners = [Point(float(self._node_xy[i][0]), float(self._node_xy[i][1]))
                   for i in reversed(chain)]
        return [start, *corners, target]
