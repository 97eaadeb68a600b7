"""Building sites and zones directly from metric geometries, for index tests."""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from zones.crs import projection_for
from zones.model import Access, Defaults, Site, TerminalKind, Zone

CRS = "EPSG:4546"


def metric_zone(zone_id: str, metric: BaseGeometry, margin_m: float = 1.0) -> Zone:
    """An open zone whose lon/lat geometry is the inverse projection of ``metric``."""
    projection = projection_for(CRS)

    def inverse(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        pairs = [projection.unproject(float(x), float(y)) for x, y in coords]
        return np.array(pairs, dtype=float)

    return Zone(
        id=zone_id,
        name=zone_id,
        access=Access.OPEN,
        permits=(),
        max_occupancy=None,
        min_occupancy=None,
        staffed=None,
        count_kinds=frozenset({TerminalKind.PERSON}),
        hold_s=0.0,
        max_dwell_s=None,
        max_still_s=None,
        margin_m=margin_m,
        geometry=shapely.transform(metric, inverse),
        metric=metric,
    )


def metric_site(zones: Iterable[Zone]) -> Site:
    """A site holding ``zones`` (metric CRS EPSG:4546) and no terminals."""
    return Site(
        name="test",
        timezone=ZoneInfo("Asia/Shanghai"),
        crs=CRS,
        zones=tuple(zones),
        terminals={},
        defaults=Defaults(),
    )
