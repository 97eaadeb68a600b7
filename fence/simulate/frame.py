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
from zones.model import Site


@dataclass(frozen=True, slots=True)
class Point:
    """A point in the site's metric frame (metres)."""

    x: float
    y: float

    def distance(self, other: Point) -> float:
        """Straight-line distance in metres."""
        return math.hypot(other.x - self.x, other.y - self.y)


class Frame:
    """The site's metric frame: the union of its zones, and the way back to lon/lat."""

    def __init__(self, site: Site) -> None:
        self._to_lonlat = Transformer.from_crs(site.crs, GEOGRAPHIC_CRS, always_xy=True)
        self.all_zones: BaseGeometry = unary_union([z.metric for z in site.zones])

    def lonlat(self, xs: Sequence[float], ys: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
        """Arrays of (lon, lat) for metric coordinates."""
        lons, lats = self._to_lonlat.transform(np.asarray(xs, float), np.asarray(ys, float))
        return np.asarray(lons, float), np.asarray(lats, float)
