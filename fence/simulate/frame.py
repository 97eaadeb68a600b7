"""The site's metric frame for the simulator: metres in the site CRS, to and from lon/lat.

Movement is planned in the site's metric CRS (the same one the engine measures zones
in), so "2 m inside the zone" means the same thing to the simulator and to the engine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from zones.crs import GEOGRAPHIC_CRS
from zones.model import Site, Zone


@dataclass(frozen=True, slots=True)
class Point:
    """A point in the site's metric frame (metres)."""

    x: float
    y: float

    def distance(self, other: Point) -> float:
        """Straight-line distance in metres."""
        return math.hypot(other.x - self.x, other.y - self.y)


class Frame:
    """Conversions between the site's metric CRS and geographic lon/lat."""

    def __init__(self, site: Site) -> None:
        self._to_lonlat = Transformer.from_crs(site.crs, GEOGRAPHIC_CRS, always_xy=True)
        self._to_metric = Transformer.from_crs(GEOGRAPHIC_CRS, site.crs, always_xy=True)
        self.zones: tuple[Zone, ...] = site.zones
        self.all_zones: BaseGeometry = unary_union([z.metric for z in site.zones])

    def lonlat(self, xs: Sequence[float], ys: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
        """Arrays of (lon, lat) for metric coordinates."""
        lons, lats = self._to_lonlat.transform(np.asarray(xs, float), np.asarray(ys, float))
        return np.asarray(lons, float), np.asarray(lats, float)

    def metric(self, lon: float, lat: float) -> Point:
        """The metric point of a lon/lat."""
        x, y = self._to_metric.transform(lon, lat)
        return Point(float(x), float(y))
