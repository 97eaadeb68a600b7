"""The uniform grid in front of the exact zone test (the fast path of ``ZoneIndex``).

Each cell of a square grid over the zones is classified once per zone, relative to a
bound ``H`` on the hysteresis width ``h``:

- deep inside: every point of the cell is at least ``H`` inside the zone;
- deep outside: every point of the cell is at least ``H`` outside (the default: not
  stored);
- band: anything else. The cell keeps the zone's *local* edges (every edge that can
  come within ``H`` of the cell) and, when no edge touches the cell, its side.

For a fix with ``h <= H`` the contract-4 decision then needs no geometry in a deep
cell. In a band cell the distance to the local edges is exact whenever it is below
``H``; the decision needs the side only when that distance is at least ``h``: it is the
cell's side when the boundary does not touch the cell, else it comes from the nearest
edge (rings are oriented with the interior on the left; at a vertex the two adjacent
edges decide, as with angle-weighted pseudo-normals), or from GEOS in the rare case
that the nearest local edge is farther than ``H``. Edges, band entries and records are
shared between cells; a cell is a 32-bit index into the records.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

EPS_M = 1e-6
SHARED_VERTEX_M = 1e-6
EMPTY: frozenset[str] = frozenset()

Edge = tuple[float, float, float, float, float, float, float, float, float, float, float]
"""A directed boundary segment, interior on its left: (ax, ay, dx, dy, 1 / (dx² + dy²),
previous edge dx, dy, next edge dx, dy, A shared with another ring 1/0, B shared 1/0)."""

BandEntry = tuple[str, float, tuple[Edge, ...], int, BaseGeometry, float]
"""(zone id, margin_m, local edges, side: 1 inside / 0 outside / -1 from the edges,
oriented metric geometry, H)."""

Record = tuple[frozenset[str], tuple[BandEntry, ...]]
"""A cell's content: zones it is deep inside, and its band entries."""

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Grid:
    """Cell geometry: origin, cell size and counts; cell key = ix * ny + iy."""

    x0: float
    y0: float
    cell_m: float
    nx: int
    ny: int

    @classmethod
    def covering(
        cls, bounds: tuple[float, float, float, float], pad_m: float, cell_m: float, max_cells: int
    ) -> Grid:
        """A grid over ``bounds`` padded by ``pad_m``; cells grow until at most ``max_cells``."""
        minx, miny, maxx, maxy = bounds
        width = maxx - minx + 2 * pad_m
        height = maxy - miny + 2 * pad_m
        cell = max(cell_m, math.sqrt(width * height / max_cells))
        nx = max(1, math.ceil(width / cell))
        ny = max(1, math.ceil(height / cell))
        return cls(minx - pad_m, miny - pad_m, cell, nx, ny)

    def covers(self, bounds: tuple[float, float, float, float], margin_m: float) -> bool:
        """Whether ``bounds`` widened by ``margin_m`` lie inside the grid."""
        minx, miny, maxx, maxy = bounds
        return (
            minx - margin_m >= self.x0
            and miny - margin_m >= self.y0
            and maxx + margin_m <= self.x0 + self.nx * self.cell_m
            and maxy + margin_m <= self.y0 + self.ny * self.cell_m
        )


def boundary_edges(metric: BaseGeometry) -> FloatArray:
    """Every segment of every ring of every part, interior on the left, as rows
    (ax, ay, bx, by, previous dx, previous dy, next dx, next dy, A shared, B shared);
    no zero-length ones. A vertex is *shared* when it touches another ring (parts or
    holes touching at a point): there the two adjacent edges alone cannot tell the side."""
    oriented = shapely.orient_polygons(metric, exterior_cw=False)
    rings = []
    for ring in shapely.get_rings(shapely.get_parts(oriented)):
        coords = shapely.get_coordinates(ring)[:-1]
        rings.append(coords[np.any(coords != np.roll(coords, -1, axis=0), axis=1)])
    rows = []
    for r, coords in enumerate(rings):
        shared = np.zeros(len(coords), dtype=bool)
        if len(rings) > 1:
            others = shapely.multilinestrings(
                [shapely.linestrings(np.vstack([c, c[:1]])) for k, c in enumerate(rings) if k != r]
            )
            shared = shapely.distance(others, shapely.points(coords)) <= SHARED_VERTEX_M
        ends = np.roll(coords, -1, axis=0)
        d = ends - coords
        rows.append(
            np.hstack(
                [coords, ends, np.roll(d, 1, axis=0), np.roll(d, -1, axis=0), shared[:, None], np.roll(shared, -1)[:, None]]
            )
        )
    return np.asarray(np.vstack(rows), dtype=float)


def edge_tuples(edges: FloatArray) -> list[Edge]:
    """Rows of ``boundary_edges`` as the tuples ``band_decision`` walks."""
    dx = edges[:, 2] - edges[:, 0]
    dy = edges[:, 3] - edges[:, 1]
    inv = 1.0 / (dx * dx + dy * dy)
    columns = [edges[:, 0], edges[:, 1], dx, dy, inv, *(edges[:, k] for k in range(4, 10))]
    return list(zip(*(c.tolist() for c in columns), strict=True))


def nearest_edge(edges: tuple[Edge, ...], x: float, y: float) -> tuple[float, Edge | None, float]:
    """(squared distance, nearest edge, its clamped parameter t) over ``edges``."""
    best = math.inf
    best_edge: Edge | None = None
    best_t = 0.0
    for edge in edges:
        ax, ay, dx, dy, inv = edge[0], edge[1], edge[2], edge[3], edge[4]
        px = x - ax
        py = y - ay
        t = (px * dx + py * dy) * inv
        if t <= 0.0:
            t = 0.0
        elif t >= 1.0:
            t = 1.0
            px -= dx
            py -= dy
        else:
            px -= t * dx
            py -= t * dy
        q = px * px + py * py
        if q < best:
            best, best_edge, best_t = q, edge, t
    return best, best_edge, best_t


def side_of_nearest(edge: Edge, t: float, x: float, y: float) -> bool | None:
    """Whether (x, y), off the boundary and nearest to ``edge`` at ``t``, is inside;
    None when the nearest point is a vertex shared with another ring (ask GEOS)."""
    ax, ay, dx, dy = edge[0], edge[1], edge[2], edge[3]
    if 0.0 < t < 1.0:
        return dx * (y - ay) - dy * (x - ax) > 0.0
    if t == 0.0:  # vertex A: previous edge in, this edge out
        if edge[9]:
            return None
        in_dx, in_dy, out_dx, out_dy = edge[5], edge[6], dx, dy
    else:  # vertex B: this edge in, next edge out
        if edge[10]:
            return None
        ax, ay = ax + dx, ay + dy
        in_dx, in_dy, out_dx, out_dy = dx, dy, edge[7], edge[8]
    left_in = in_dx * (y - ay) - in_dy * (x - ax) > 0.0
    left_out = out_dx * (y - ay) - out_dy * (x - ax) > 0.0
    if in_dx * out_dy - in_dy * out_dx > 0.0:  # convex vertex
        return left_in and left_out
    return left_in or left_out


def band_decision(entry: BandEntry, inside_now: bool, x: float, y: float, h_m: float) -> bool:
    """Contract-4 decision for one band entry, for ``h_m <= H``."""
    edges = entry[2]
    if len(edges) == 1:  # the common case, without the loop
        edge = edges[0]
        px = x - edge[0]
        py = y - edge[1]
        t = (px * edge[2] + py * edge[3]) * edge[4]
        if t <= 0.0:
            t = 0.0
        elif t >= 1.0:
            t = 1.0
            px -= edge[2]
            py -= edge[3]
        else:
            px -= t * edge[2]
            py -= t * edge[3]
        q = px * px + py * py
        nearest: Edge | None = edge
    else:
        q, nearest, t = nearest_edge(edges, x, y)
    if q < h_m * h_m:
        return inside_now
    side = entry[3]
    if side >= 0:
        return side == 1
    if nearest is not None and q < entry[5] * entry[5]:
        inside = side_of_nearest(nearest, t, x, y)
        if inside is not None:
            return inside
    return bool(shapely.contains_xy(entry[4], x, y))


@dataclass(frozen=True, slots=True)
class ZoneCells:
    """One zone's classification on a grid.

    ``deep_keys``: cells deep inside. ``band_keys[i]`` is a band cell whose entry is
    ``entries[band_ids[i]]`` (cells with the same local edges and side share an entry).
    """

    zone_id: str
    deep_keys: IntArray
    band_keys: IntArray
    band_ids: IntArray
    entries: tuple[BandEntry, ...]

    def band_entry(self, i: int) -> BandEntry:
        """The entry of the ``i``-th band cell."""
        return self.entries[int(self.band_ids[i])]


def classify(
    zone_id: str, margin_m: float, metric: BaseGeometry, boundary: BaseGeometry, grid: Grid, h_max_m: float
) -> ZoneCells:
    """Classify the cells near one zone (see the module text)."""
    s = grid.cell_m
    reach = h_max_m + s + EPS_M
    minx, miny, maxx, maxy = shapely.bounds(metric)
    ix0 = max(0, math.floor((minx - reach - grid.x0) / s))
    ix1 = min(grid.nx - 1, math.floor((maxx + reach - grid.x0) / s))
    iy0 = max(0, math.floor((miny - reach - grid.y0) / s))
    iy1 = min(grid.ny - 1, math.floor((maxy + reach - grid.y0) / s))
    mesh_x, mesh_y = np.meshgrid(np.arange(ix0, ix1 + 1), np.arange(iy0, iy1 + 1), indexing="ij")
    ix, iy = mesh_x.ravel(), mesh_y.ravel()
    cx = grid.x0 + (ix + 0.5) * s
    cy = grid.y0 + (iy + 0.5) * s
    inside = shapely.contains_xy(metric, cx, cy)
    dist = shapely.distance(boundary, shapely.points(cx, cy))
    signed = np.where(inside, dist, -dist)
    half_diag = s * math.sqrt(0.5)
    deep = signed - half_diag >= h_max_m + EPS_M
    band = ~deep & (signed + half_diag > -(h_max_m + EPS_M))
    keys = (ix * grid.ny + iy).astype(np.int64)
    band_idx = np.flatnonzero(band)
    if not band_idx.size:
        empty = np.empty(0, dtype=np.int64)
        return ZoneCells(zone_id, keys[deep], empty, empty, ())
    edges = boundary_edges(metric)
    shared_edges = edge_tuples(edges)
    oriented = shapely.orient_polygons(metric, exterior_cw=False)
    shapely.prepare(oriented)
    lo_x = np.minimum(edges[:, 0], edges[:, 2])
    hi_x = np.maximum(edges[:, 0], edges[:, 2])
    lo_y = np.minimum(edges[:, 1], edges[:, 3])
    hi_y = np.maximum(edges[:, 1], edges[:, 3])
    bx, by = cx[band_idx], cy[band_idx]
    grow = s / 2 + h_max_m + EPS_M
    near = (
        (lo_x[None, :] <= bx[:, None] + grow)
        & (hi_x[None, :] >= bx[:, None] - grow)
        & (lo_y[None, :] <= by[:, None] + grow)
        & (hi_y[None, :] >= by[:, None] - grow)
    )
    pad = s / 2 + EPS_M
    crossed = shapely.intersects(boundary, shapely.box(bx - pad, by - pad, bx + pad, by + pad))
    sides = np.where(crossed, -1, inside[band_idx].astype(np.int64))
    signature = np.hstack([np.packbits(near, axis=1), (sides + 1).astype(np.uint8)[:, None]])
    unique_rows, first, band_ids = np.unique(signature, axis=0, return_index=True, return_inverse=True)
    entries = tuple(
        (zone_id, margin_m, tuple(shared_edges[e] for e in np.flatnonzero(near[row]).tolist()), int(sides[row]), oriented, h_max_m)
        for row in first.tolist()
    )
    return ZoneCells(zone_id, keys[deep], keys[band_idx], band_ids.ravel().astype(np.int64), entries)


class CellTable:
    """Cell key -> record index, and the records; built once, copied on change."""

    __slots__ = ("grid", "cells", "records")

    def __init__(self, grid: Grid, cells: array[int], records: list[Record]) -> None:
        self.grid = grid
        self.cells = cells
        self.records = records

    @classmethod
    def build(cls, grid: Grid, classified: list[ZoneCells]) -> CellTable:
        """Combine per-zone classifications into shared cell records.

        Cells touched by one zone only get that zone's shared record (vectorised); cells
        touched by several zones get a record of their own, shared when equal.
        """
        records: list[Record] = [(EMPTY, ())]
        table = np.zeros(grid.nx * grid.ny, dtype=np.int32)
        deep_record = len(records)
        records.extend((frozenset({c.zone_id}), ()) for c in classified)
        entry_base = np.cumsum([0] + [len(c.entries) for c in classified])
        band_record = len(records)
        all_entries = [entry for c in classified for entry in c.entries]
        records.extend((EMPTY, (entry,)) for entry in all_entries)
        keys = np.concatenate([np.concatenate([c.deep_keys, c.band_keys]) for c in classified])
        rec = np.concatenate(
            [
                np.concatenate([np.full(c.deep_keys.size, deep_record + i), band_record + entry_base[i] + c.band_ids])
                for i, c in enumerate(classified)
            ]
        ).astype(np.int64)
        uniq, first, counts = np.unique(keys, return_index=True, return_counts=True)
        single = counts == 1
        table[uniq[single]] = rec[first[single]]
        shared: dict[tuple[frozenset[str], tuple[int, ...]], int] = {}
        multi = np.isin(keys, uniq[~single])
        grouped: dict[int, list[int]] = {}
        for key, r in zip(keys[multi].tolist(), rec[multi].tolist(), strict=True):
            grouped.setdefault(key, []).append(r)
        for key, parts in grouped.items():
            deep = frozenset(z for r in parts for z in records[r][0])
            band = tuple(e for r in parts for e in records[r][1])
            sig = (deep, tuple(id(e) for e in band))
            index = shared.get(sig)
            if index is None:
                index = shared[sig] = len(records)
                records.append((deep, band))
            table[key] = index
        cells = array("i")
        cells.frombytes(table.tobytes())
        return cls(grid, cells, records)

    def changed(self, cells: ZoneCells, add: bool) -> CellTable:
        """A new table with one zone's classification added or removed."""
        table = array("i", self.cells)
        records = list(self.records)
        zone_id = cells.zone_id
        remapped: dict[tuple[int, int], int] = {}
        keys = [*cells.deep_keys.tolist(), *cells.band_keys.tolist()]
        payload: list[BandEntry | None] = [None] * cells.deep_keys.size + [
            cells.entries[i] for i in cells.band_ids.tolist()
        ]
        for key, entry in zip(keys, payload, strict=True):
            old = table[key]
            signature = (old, id(entry))
            new = remapped.get(signature)
            if new is None:
                deep, band = records[old]
                if entry is None:
                    record = (deep | {zone_id} if add else deep - {zone_id}, band)
                elif add:
                    record = (deep, (*band, entry))
                else:
                    record = (deep, tuple(e for e in band if e[0] != zone_id))
                new = remapped[signature] = len(records)
                records.append(record)
            table[key] = new
        return CellTable(self.grid, table, records)
