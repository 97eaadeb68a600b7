"""The site's metric CRS (contract 1.5) and projection of zones and fixes into it.

Fixes and zones are CGCS2000 longitude/latitude (EPSG:4490, = WGS84 to a few cm). The
metric CRS is a CGCS2000 3-degree Gauss-Krüger zone (EPSG:4534-4554, central meridians
75°E-135°E) chosen from the zones, unless the site names its own projected CRS.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry

GEOGRAPHIC_CRS = "EPSG:4490"
FIRST_GK_EPSG = 4534
FIRST_GK_CM_DEG = 75
LAST_GK_CM_DEG = 135
GK_STEP_DEG = 3

FloatArray = npt.NDArray[np.float64]


class CrsChoiceError(ValueError):
    """No metric CRS can be chosen or the named one is not usable."""


def auto_gk_crs(centre_lon_deg: float) -> str:
    """The EPSG code of the 3-degree GK zone whose central meridian is nearest.

    On an exact tie the smaller meridian wins. Outside 73.5°E-136.5°E no zone of the
    series covers the site and :class:`CrsChoiceError` is raised.
    """
    low = FIRST_GK_CM_DEG - GK_STEP_DEG / 2
    high = LAST_GK_CM_DEG + GK_STEP_DEG / 2
    if not low <= centre_lon_deg <= high:
        raise CrsChoiceError(
            f"the zones' centre at longitude {centre_lon_deg:.6f} is outside the CGCS2000 "
            f"3-degree Gauss-Krüger zones (central meridians {FIRST_GK_CM_DEG}°E-"
            f"{LAST_GK_CM_DEG}°E); name a metric CRS with key 'crs'"
        )
    meridians = range(FIRST_GK_CM_DEG, LAST_GK_CM_DEG + 1, GK_STEP_DEG)
    best = min(meridians, key=lambda cm: (abs(centre_lon_deg - cm), cm))
    return f"EPSG:{FIRST_GK_EPSG + (best - FIRST_GK_CM_DEG) // GK_STEP_DEG}"


def check_metric_crs(text: str) -> str:
    """Validate a CRS named by the site: it must be projected with metre axes."""
    try:
        crs = CRS.from_user_input(text)
    except CRSError as exc:
        raise CrsChoiceError(f"unknown CRS {text!r}: {exc}") from None
    if not crs.is_projected:
        raise CrsChoiceError(f"CRS {text!r} is not a projected (metric) CRS")
    units = {axis.unit_name for axis in crs.axis_info}
    if not units <= {"metre", "meter"}:
        raise CrsChoiceError(f"CRS {text!r} has axis units {sorted(units)}, not metres")
    return text


class Projection:
    """Longitude/latitude (CGCS2000) to and from the metric CRS, x = easting, y = northing."""

    __slots__ = ("crs", "_forward", "_inverse")

    def __init__(self, crs: str) -> None:
        self.crs = crs
        self._forward = Transformer.from_crs(GEOGRAPHIC_CRS, crs, always_xy=True)
        self._inverse = Transformer.from_crs(crs, GEOGRAPHIC_CRS, always_xy=True)

    def project(self, lon: float, lat: float) -> tuple[float, float]:
        """One point into the metric CRS."""
        x, y = self._forward.transform(lon, lat)
        return float(x), float(y)

    def project_many(self, lons: npt.ArrayLike, lats: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Arrays of points into the metric CRS."""
        x, y = self._forward.transform(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    def unproject(self, x: float, y: float) -> tuple[float, float]:
        """One metric point back to longitude/latitude."""
        lon, lat = self._inverse.transform(x, y)
        return float(lon), float(lat)

    def project_geometry(self, geometry: BaseGeometry) -> BaseGeometry:
        """A lon/lat geometry projected vertex by vertex (edges straight in the metric CRS)."""

        def forward(coords: FloatArray) -> FloatArray:
            x, y = self._forward.transform(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(geometry, forward)


@lru_cache(maxsize=16)
def projection_for(crs: str) -> Projection:
    """The (cached) projection into ``crs``."""
    return Projection(crs)
