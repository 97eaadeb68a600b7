"""The uniform grid in front of the exact zone test (the fast path of ``ZoneIndex``).

Each cell of a square grid over the zones is classified once per zone, relative to a
bound ``H`` on the hysteresis width ``h``:

- deep inside: every point of the cell is at least ``H`` inside the zone;
- deep outside: every point of the cell is at least ``H`` outside (the default: not
  stored);
- band: anything else. The cell keeps the zone's *local* edges (every edge that can
  come within ``H`` of the cell) and, when no edge crosses the cell, whether the cell
  is inside.

For a fix with ``h <= H`` the contract-4 decision then needs no geometry in a deep
cell; in a band cell the distance to the local edges is exact whenever it is below
``H``, and beyond it only the side matters (known for the cell, or asked of GEOS when
the boundary crosses the cell). Records are shared between cells with the same
content, and a cell is a 32-bit index into them.
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
EMPTY: frozenset[str] = frozenset()

Edge = tuple[float, float, float, float, float]
"""A boundary segment as (ax, ay, dx, dy, 1 / (dx² + dy²))."""

BandEntry = tuple[str, float, tuple[Edge, ...], int, BaseGeometry]
"""(zone id, margin_m, local edges, side: 1 inside / 0 outside / -1 ask GEOS, geometry)."""

Record = tuple[frozenset[str], tuple[BandEntry, ...]]
"""A cell's content: zones it is deep inside, and its band entries."""

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Grid:
    """Cell geometry: origin, cell size and counts; cell key = ix * ny + iy."""

    x0: float
    y0: float
    cell_m: float
    nx: int
    ny: int

    @classmethod
    def covering(cls, bounds: tuple[float, float, float, float], pad_m: float, cell_m: float, max_cells: int) -> Grid:
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


def edge_tuples(edges: npt.NDArray[np.float64]) -> tuple[Edge, ...]:
    """Rows (ax, ay, bx, by) as the tuples ``nearest_sq_distance`` walks."""
    dx = edges[:, 2] - edges[:, 0]
    dy = edges[:, 3] - edges[:, 1]
    inv = 1.0 / (dx * dx + dy * dy)
    return tuple(zip(edges[:, 0].tolist(), edges[:, 1].tolist(), dx.tolist(), dy.tolist(), inv.tolist(), strict=True))


def boundary_edges(metric: BaseGeometry) -> npt.NDArray[np.float64]:
    """Every segment of every ring of every part, as rows (ax, ay, bx, by); no zero-length ones."""
    rows = []
    for ring in shapely.get_rings(shapely.get_parts(metric)):
        coords = shapely.get_coordinates(ring)
        rows.append(np.hstack([coords[:-1], coords[1:]]))
    edges = np.vstack(rows)
    keep = (edges[:, 0] != edges[:, 2]) | (edges[:, 1] != edges[:, 3])
    return np.asarray(edges[keep], dtype=float)


@dataclass(frozen=True, slots=True)
class ZoneCells:
    """One zone's classification on a grid: deep-inside cell keys and band entries."""

    zone_id: str
    deep_keys: IntArray
    band_keys: IntArray
    band: tuple[BandEntry, ...]


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
    keys = ix * grid.ny + iy
    band_idx = np.flatnonzero(band)
    entries: list[BandEntry] = []
    if band_idx.size:
        edges = boundary_edges(metric)
        lo_x = np.minimum(edges[:, 0], edges[:, 2])
        hi_x = np.maximum(edges[:, 0], edges[:, 2])
        lo_y = np.minimum(edges[:, 1], edges[:, 3])
        hi_y = np.maximum(edges[:, 1], edges[:, 3])
        dx = edges[:, 2] - edges[:, 0]
        dy = edges[:, 3] - edges[:, 1]
        inv = 1.0 / (dx * dx + dy * dy)
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
        for row, k in enumerate(band_idx):
            local = tuple(
                (float(edges[e, 0]), float(edges[e, 1]), float(dx[e]), float(dy[e]), float(inv[e]))
                for e in np.flatnonzero(near[row])
            )
            side = -1 if crossed[row] else int(bool(inside[k]))
            entries.append((zone_id, margin_m, local, side, metric))
    return ZoneCells(zone_id, keys[deep].astype(np.int64), keys[band_idx].astype(np.int64), tuple(entries))


def nearest_sq_distance(edges: tuple[Edge, ...], x: float, y: float) -> float:
    """Squared distance from (x, y) to the nearest of ``edges`` (inf when there are none)."""
    best = math.inf
    for ax, ay, dx, dy, inv in edges:
        px = x - ax
        py = y - ay
        t = (px * dx + py * dy) * inv
        if t > 0.0:
            if t >= 1.0:
                px -= dx
                py -= dy
            else:
                px -= t * dx
                py -= t * dy
        q = px * px + py * py
        if q < best:
            best = q
    return best


def band_inside(entry: BandEntry, inside_now: bool, x: float, y: float, h_m: float) -> bool:
    """Contract-4 decision for one band entry with ``h_m <= H``."""
    if nearest_sq_distance(entry[2], x, y) < h_m * h_m:
        return inside_now
    side = entry[3]
    if side >= 0:
        return side == 1
    return bool(shapely.contains_xy(entry[4], x, y))


class CellTable:
    """Cell key -> record index, and the records; built once, copied on change."""

    __slots__ = ("grid", "cells", "records")

    def __init__(self, grid: Grid, cells: array[int], records: list[Record]) -> None:
        self.grid = grid
        self.cells = cells
        self.records = records

    @classmethod
    def build(cls, grid: Grid, classified: list[ZoneCells]) -> CellTable:
        """Combine per-zone classifications into shared cell records."""
        n = grid.nx * grid.ny
        records: list[Record] = [(EMPTY, ())]
        table = np.zeros(n, dtype=np.int32)
        deep_keys = [c.deep_keys for c in classified]
        deep_zone = [np.full(c.deep_keys.size, i, dtype=np.int64) for i, c in enumerate(classified)]
        all_keys = np.concatenate(deep_keys) if deep_keys else np.empty(0, dtype=np.int64)
        all_zone = np.concatenate(deep_zone) if deep_zone else np.empty(0, dtype=np.int64)
        band_at: dict[int, list[BandEntry]] = {}
        for c in classified:
            for key, entry in zip(c.band_keys.tolist(), c.band, strict=True):
                band_at.setdefault(key, []).append(entry)
        order = np.argsort(all_keys, kind="stable")
        all_keys, all_zone = all_keys[order], all_zone[order]
        uniq, start, counts = np.unique(all_keys, return_index=True, return_counts=True)
        band_keys = np.fromiter(band_at, dtype=np.int64, count=len(band_at))
        simple = (counts == 1) & ~np.isin(uniq, band_keys)
        # cells deep inside exactly one zone and in no band: one shared record per zone
        single_record = np.arange(len(classified), dtype=np.int32) + len(records)
        records.extend((frozenset({c.zone_id}), ()) for c in classified)
        table[uniq[simple]] = single_record[all_zone[start[simple]]]
        shared: dict[frozenset[str], int] = {}
        deep_of: dict[int, frozenset[str]] = {}
        for key, first, cnt in zip(uniq[~simple].tolist(), start[~simple].tolist(), counts[~simple].tolist(), strict=True):
            deep_of[key] = frozenset(classified[z].zone_id for z in all_zone[first : first + cnt].tolist())
        for key in set(deep_of) | set(band_at):
            deep = deep_of.get(key, EMPTY)
            band = tuple(band_at.get(key, ()))
            if band:
                table[key] = len(records)
                records.append((deep, band))
            else:
                index = shared.get(deep)
                if index is None:
                    index = shared[deep] = len(records)
                    records.append((deep, ()))
                table[key] = index
        cells = array("i")
        cells.frombytes(table.tobytes())
        return cls(grid, cells, records)

    def changed(self, cells: ZoneCells, add: bool) -> CellTable:
        """A new table with one zone's classification added or removed."""
        table = array("i", self.cells)
        records = list(self.records)
        zone_id = cells.zone_id
        remapped: dict[int, int] = {}
        for key in cells.deep_keys.tolist():
            old = table[key]
            new = remapped.get(old)
            if new is None:
                deep, band = records[old]
                new = remapped[old] = len(records)
                records.append((deep | {zone_id} if add else deep - {zone_id}, band))
            table[key] = new
        for key, entry in zip(cells.band_keys.tolist(), cells.band, strict=True):
            deep, band = records[table[key]]
            table[key] = len(records)
            if add:
                records.append((deep, (*band, entry)))
            else:
                records.append((deep, tuple(e for e in band if e[0] != zone_id)))
        return CellTable(self.grid, table, records)
