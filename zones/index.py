"""Zone index: which zones a fix is in, with the enter/leave hysteresis of contract 4.

Built once per site (``ZoneIndex.build``) and swapped whole; ``with_zone`` and
``without_zone`` return new indexes for temporary zones (work permits). It answers
geometry questions only: membership per terminal lives with the caller; no clock.

Distances are in the site's metric CRS. ``signed_distance`` is the reference (shapely):
positive inside, negative outside or in a hole, measured to every ring of every part.
``membership`` answers from a uniform grid of pre-classified cells (``zones.grid``) when
``h <= H`` (``h_max_m``, by default the largest margin but at least 4 m) and falls back
to the exact reference for larger ``h``; both give the same answers (tested).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from zones.crs import FloatArray, Projection, projection_for
from zones.grid import EMPTY, BandEntry, CellTable, Grid, ZoneCells, band_decision, classify
from zones.model import Site, Zone

DEFAULT_H_MAX_M = 4.0
MAX_CELLS = 16_000_000
GRID_PAD_M = 200.0


@dataclass(frozen=True, slots=True)
class ZoneShape:
    """The metric geometry of one zone, prepared for repeated queries."""

    zone_id: str
    margin_m: float
    metric: BaseGeometry
    boundary: BaseGeometry

    @classmethod
    def of(cls, zone: Zone) -> ZoneShape:
        """Prepare a zone's metric geometry."""
        metric = zone.metric
        boundary = metric.boundary
        shapely.prepare(metric)
        shapely.prepare(boundary)
        return cls(zone.id, zone.margin_m, metric, boundary)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) in metres."""
        minx, miny, maxx, maxy = (float(v) for v in shapely.bounds(self.metric))
        return minx, miny, maxx, maxy

    def signed_distance(self, x: float, y: float) -> float:
        """Distance to the boundary, positive inside, negative outside (shapely reference)."""
        distance = float(shapely.distance(self.boundary, shapely.Point(x, y)))
        return distance if shapely.contains_xy(self.metric, x, y) else -distance


def decide(inside_now: bool, d_m: float, h_m: float) -> bool:
    """Contract 4: enter when outside and ``d >= h``; leave when inside and ``d <= -h``."""
    if inside_now:
        return not d_m <= -h_m
    return d_m >= h_m


def _union_bounds(shapes: Sequence[ZoneShape]) -> tuple[float, float, float, float]:
    b = np.array([s.bounds for s in shapes], dtype=float).reshape(-1, 4)
    return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())


class ZoneIndex:
    """Immutable index of a site's zones in its metric CRS."""

    __slots__ = (
        "projection",
        "h_max_m",
        "_shapes",
        "_ids",
        "_cells_of",
        "_table",
        "_x0",
        "_y0",
        "_inv_cell",
        "_nx",
        "_ny",
        "_cells",
        "_cells_np",
        "_records",
    )

    def __init__(
        self,
        projection: Projection,
        shapes: Iterable[ZoneShape],
        h_max_m: float,
        table: CellTable,
        cells_of: Mapping[str, ZoneCells],
    ) -> None:
        self.projection = projection
        self.h_max_m = h_max_m
        self._shapes: dict[str, ZoneShape] = {shape.zone_id: shape for shape in shapes}
        self._ids: tuple[str, ...] = tuple(self._shapes)
        self._cells_of = dict(cells_of)
        self._table = table
        grid = table.grid
        self._x0, self._y0 = grid.x0, grid.y0
        self._inv_cell = 1.0 / grid.cell_m
        self._nx, self._ny = grid.nx, grid.ny
        self._cells = table.cells
        self._cells_np = np.frombuffer(table.cells, dtype=np.int32)
        self._records = table.records

    # ------------------------------------------------------------------ building

    @classmethod
    def build(cls, site: Site, h_max_m: float | None = None, cell_m: float | None = None) -> ZoneIndex:
        """Index every zone of a site.

        ``h_max_m`` bounds the hysteresis width answered from the grid (default: the
        largest margin, at least 4 m); ``cell_m`` is the grid cell size (default ``h_max_m``).
        """
        shapes = [ZoneShape.of(zone) for zone in site.zones]
        largest_margin = max((s.margin_m for s in shapes), default=0.0)
        h_max = h_max_m if h_max_m is not None else max(DEFAULT_H_MAX_M, largest_margin)
        return cls._from_shapes(projection_for(site.crs), shapes, h_max, cell_m or h_max)

    @classmethod
    def _from_shapes(cls, projection: Projection, shapes: Sequence[ZoneShape], h_max_m: float, cell_m: float) -> ZoneIndex:
        if not shapes:
            raise ValueError("a zone index needs at least one zone")
        grid = Grid.covering(_union_bounds(shapes), GRID_PAD_M + h_max_m, cell_m, MAX_CELLS)
        cells_of = {s.zone_id: classify(s.zone_id, s.margin_m, s.metric, s.boundary, grid, h_max_m) for s in shapes}
        table = CellTable.build(grid, list(cells_of.values()))
        return cls(projection, shapes, h_max_m, table, cells_of)

    def with_zone(self, zone: Zone) -> ZoneIndex:
        """A new index with ``zone`` added (or replaced, when its id is already indexed)."""
        base = self.without_zone(zone.id) if zone.id in self._shapes else self
        shape = ZoneShape.of(zone)
        shapes = [*base._shapes.values(), shape]
        grid = base._table.grid
        h_max = max(base.h_max_m, shape.margin_m)
        if h_max > base.h_max_m or not grid.covers(shape.bounds, h_max + grid.cell_m):
            return ZoneIndex._from_shapes(self.projection, shapes, h_max, grid.cell_m)
        cells = classify(shape.zone_id, shape.margin_m, shape.metric, shape.boundary, grid, h_max)
        table = base._table.changed(cells, add=True)
        return ZoneIndex(self.projection, shapes, h_max, table, {**base._cells_of, zone.id: cells})

    def without_zone(self, zone_id: str) -> ZoneIndex:
        """A new index without the zone ``zone_id`` (KeyError when it is not indexed)."""
        if zone_id not in self._shapes:
            raise KeyError(zone_id)
        shapes = [s for s in self._shapes.values() if s.zone_id != zone_id]
        if not shapes:
            raise ValueError("cannot remove the last zone of an index")
        table = self._table.changed(self._cells_of[zone_id], add=False)
        cells_of = {k: v for k, v in self._cells_of.items() if k != zone_id}
        return ZoneIndex(self.projection, shapes, self.h_max_m, table, cells_of)

    # ------------------------------------------------------------------ queries

    @property
    def zone_ids(self) -> tuple[str, ...]:
        """Ids of the indexed zones."""
        return self._ids

    @property
    def shapes(self) -> Mapping[str, ZoneShape]:
        """The prepared metric shapes by zone id."""
        return self._shapes

    def project(self, lon: float, lat: float) -> tuple[float, float]:
        """A lon/lat position in the metric CRS."""
        return self.projection.project(lon, lat)

    def project_many(self, lons: npt.ArrayLike, lats: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Arrays of lon/lat positions in the metric CRS."""
        return self.projection.project_many(lons, lats)

    def signed_distance(self, zone_id: str, x: float, y: float) -> float:
        """Reference signed distance from (x, y) to the zone's boundary (positive inside)."""
        return self._shapes[zone_id].signed_distance(x, y)

    def candidates(self, x: float, y: float) -> frozenset[str]:
        """Every zone the point can be at least ``H`` inside (deep or band in its cell).

        A superset of the zones it could enter with any ``h``: a point ``>= H`` inside a
        zone lies in a cell that is deep or band for that zone.
        """
        fx = (x - self._x0) * self._inv_cell
        fy = (y - self._y0) * self._inv_cell
        if not (0.0 <= fx < self._nx and 0.0 <= fy < self._ny):
            return EMPTY
        deep, band = self._records[self._cells[int(fx) * self._ny + int(fy)]]
        return deep.union(entry[0] for entry in band) if band else deep

    def membership_exact(self, current: frozenset[str], x: float, y: float, acc_m: float) -> frozenset[str]:
        """Contract-4 membership by the shapely reference over the candidates and ``current``."""
        result: set[str] = set()
        for zone_id in self.candidates(x, y) | current:
            shape = self._shapes.get(zone_id)
            if shape is None:
                continue
            h = shape.margin_m if shape.margin_m > acc_m else acc_m
            if decide(zone_id in current, shape.signed_distance(x, y), h):
                result.add(zone_id)
        return frozenset(result) if result else EMPTY

    def membership(self, current: frozenset[str], x: float, y: float, acc_m: float) -> frozenset[str]:
        """The zones a terminal is in after a fix at (x, y) with accuracy ``acc_m`` (contract 4).

        ``current`` is its set before the fix; zones of ``current`` that are far away, or
        no longer indexed, are left.
        """
        if acc_m > self.h_max_m:
            return self.membership_exact(current, x, y, acc_m)
        fx = (x - self._x0) * self._inv_cell
        fy = (y - self._y0) * self._inv_cell
        if not (0.0 <= fx < self._nx and 0.0 <= fy < self._ny):
            return EMPTY
        deep, band = self._records[self._cells[int(fx) * self._ny + int(fy)]]
        if not band:
            return deep
        return _with_band(deep, band, current, x, y, acc_m)

    def cells_many(self, xs: npt.ArrayLike, ys: npt.ArrayLike) -> list[int]:
        """The grid cell (record number) of each metric point, for ``membership_in_cell``.

        Points off the grid, or not numbers (NaN), get the empty cell 0. Vectorised: the
        per-point arithmetic of ``membership`` done once for a batch.
        """
        x = np.asarray(xs, dtype=float)
        y = np.asarray(ys, dtype=float)
        fx = (x - self._x0) * self._inv_cell
        fy = (y - self._y0) * self._inv_cell
        on_grid = (fx >= 0) & (fx < self._nx) & (fy >= 0) & (fy < self._ny)
        ix = np.where(on_grid, fx, 0.0).astype(np.int64)
        iy = np.where(on_grid, fy, 0.0).astype(np.int64)
        slots = self._cells_np[ix * self._ny + iy]
        slots[~on_grid] = 0
        cells: list[int] = slots.tolist()
        return cells

    def membership_in_cell(
        self, cell: int, current: frozenset[str], x: float, y: float, acc_m: float
    ) -> frozenset[str]:
        """``membership`` for a point whose cell ``cells_many`` already found."""
        if acc_m > self.h_max_m:
            return self.membership_exact(current, x, y, acc_m)
        deep, band = self._records[cell]
        if not band:
            return deep
        return _with_band(deep, band, current, x, y, acc_m)

    def membership_many(
        self,
        currents: Sequence[frozenset[str]],
        xs: npt.ArrayLike,
        ys: npt.ArrayLike,
        accs_m: npt.ArrayLike,
    ) -> list[frozenset[str]]:
        """``membership`` for many independent (terminal, fix) pairs at once."""
        x = np.asarray(xs, dtype=float)
        y = np.asarray(ys, dtype=float)
        acc = np.broadcast_to(np.asarray(accs_m, dtype=float), x.shape)
        cells = self.cells_many(x, y)
        return [
            self.membership_in_cell(cell, current, xi, yi, a)
            for cell, current, xi, yi, a in zip(cells, currents, x.tolist(), y.tolist(), acc.tolist(), strict=True)
        ]


def _with_band(
    deep: frozenset[str], band: tuple[BandEntry, ...], current: frozenset[str], x: float, y: float, acc_m: float
) -> frozenset[str]:
    """The deep zones of a cell plus the band zones the hysteresis keeps or lets in."""
    added = [
        entry[0]
        for entry in band
        if band_decision(entry, entry[0] in current, x, y, entry[1] if entry[1] > acc_m else acc_m)
    ]
    return deep.union(added) if added else deep
