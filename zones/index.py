"""Zone index: which zones a fix is in, with the enter/leave hysteresis of contract 4.

Built once per site (``ZoneIndex.build``) and swapped whole; ``with_zone`` and
``without_zone`` return new indexes for temporary zones (work permits). Answers geometry
questions only: membership per terminal lives with the caller; no clock is read.

Distances are in the site's metric CRS. ``signed_distance`` is the reference (shapely):
positive inside, negative outside or in a hole, measured to every ring of every part.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from zones.crs import FloatArray, Projection, projection_for
from zones.model import Site, Zone

EMPTY: frozenset[str] = frozenset()


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

    def signed_distance(self, x: float, y: float) -> float:
        """Distance to the boundary, positive inside, negative outside (shapely reference)."""
        point = shapely.Point(x, y)
        distance = float(shapely.distance(self.boundary, point))
        return distance if shapely.contains_xy(self.metric, x, y) else -distance


def decide(inside_now: bool, d_m: float, h_m: float) -> bool:
    """Contract 4: enter when outside and ``d >= h``; leave when inside and ``d <= -h``."""
    if inside_now:
        return not d_m <= -h_m
    return d_m >= h_m


class ZoneIndex:
    """Immutable index of a site's zones in its metric CRS."""

    __slots__ = ("projection", "_shapes", "_bounds", "_ids")

    def __init__(self, projection: Projection, shapes: Iterable[ZoneShape]) -> None:
        self.projection = projection
        self._shapes: dict[str, ZoneShape] = {shape.zone_id: shape for shape in shapes}
        self._ids: tuple[str, ...] = tuple(self._shapes)
        bounds = [shapely.bounds(shape.metric) for shape in self._shapes.values()]
        self._bounds: npt.NDArray[np.float64] = (
            np.asarray(bounds, dtype=float).reshape(-1, 4) if bounds else np.empty((0, 4))
        )

    @classmethod
    def build(cls, site: Site) -> ZoneIndex:
        """Index every zone of a site."""
        return cls(projection_for(site.crs), (ZoneShape.of(zone) for zone in site.zones))

    @property
    def zone_ids(self) -> tuple[str, ...]:
        """Ids of the indexed zones, in site order."""
        return self._ids

    @property
    def shapes(self) -> Mapping[str, ZoneShape]:
        """The prepared metric shapes by zone id."""
        return self._shapes

    def with_zone(self, zone: Zone) -> ZoneIndex:
        """A new index with ``zone`` added (or replaced, when its id is already indexed)."""
        shapes = [s for s in self._shapes.values() if s.zone_id != zone.id]
        return ZoneIndex(self.projection, [*shapes, ZoneShape.of(zone)])

    def without_zone(self, zone_id: str) -> ZoneIndex:
        """A new index without the zone ``zone_id`` (KeyError when it is not indexed)."""
        if zone_id not in self._shapes:
            raise KeyError(zone_id)
        return ZoneIndex(self.projection, [s for s in self._shapes.values() if s.zone_id != zone_id])

    def project(self, lon: float, lat: float) -> tuple[float, float]:
        """A lon/lat position in the metric CRS."""
        return self.projection.project(lon, lat)

    def project_many(self, lons: npt.ArrayLike, lats: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Arrays of lon/lat positions in the metric CRS."""
        return self.projection.project_many(lons, lats)

    def signed_distance(self, zone_id: str, x: float, y: float) -> float:
        """Reference signed distance from (x, y) to the zone's boundary (positive inside)."""
        return self._shapes[zone_id].signed_distance(x, y)

    def candidates(self, x: float, y: float) -> list[str]:
        """Zones whose bounding box contains the point (the only ones it can enter)."""
        b = self._bounds
        hit = (b[:, 0] <= x) & (x <= b[:, 2]) & (b[:, 1] <= y) & (y <= b[:, 3])
        return [self._ids[i] for i in np.flatnonzero(hit)]

    def membership(self, current: frozenset[str], x: float, y: float, acc_m: float) -> frozenset[str]:
        """The zones a terminal is in after a fix at (x, y) with accuracy ``acc_m`` (contract 4).

        ``current`` is its set before the fix; zones of ``current`` no longer indexed are
        dropped.
        """
        result: set[str] = set()
        for zone_id in set(self.candidates(x, y)) | current:
            shape = self._shapes.get(zone_id)
            if shape is None:
                continue
            h = shape.margin_m if shape.margin_m > acc_m else acc_m
            if decide(zone_id in current, shape.signed_distance(x, y), h):
                result.add(zone_id)
        return frozenset(result) if result else EMPTY
