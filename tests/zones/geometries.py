"""A catalogue of named test geometries in metric coordinates (EPSG:4546, near 111.5°E
40.65°N), as Shapely's own tests keep them: each shape stresses one part of the index
(holes, several parts, concavity, slivers, touching parts, tiny and huge zones)."""

from __future__ import annotations

import math

from shapely import affinity
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

X0 = 542_000.0
Y0 = 4_501_000.0


def at(geometry: BaseGeometry, dx: float, dy: float) -> BaseGeometry:
    """The geometry moved from the local origin to (X0 + dx, Y0 + dy)."""
    return affinity.translate(geometry, X0 + dx, Y0 + dy)


def circle(radius_m: float, vertices: int = 64) -> Polygon:
    """A regular polygon approximating a circle around the local origin."""
    return Polygon(
        [(radius_m * math.cos(2 * math.pi * k / vertices), radius_m * math.sin(2 * math.pi * k / vertices)) for k in range(vertices)]
    )


SQUARE = at(box(0, 0, 40, 40), 0, 0)
ROTATED_RECTANGLE = at(affinity.rotate(box(0, 0, 80, 20), 33, origin=(0, 0)), 200, 0)
L_SHAPE = at(Polygon([(0, 0), (60, 0), (60, 15), (15, 15), (15, 50), (0, 50)]), 400, 0)
DONUT = at(Polygon(circle(60).exterior.coords, [circle(25).exterior.coords]), 0, 300)
TWO_HOLES = at(
    Polygon(
        box(0, 0, 120, 60).exterior.coords,
        [box(10, 10, 50, 50).exterior.coords, box(70, 10, 110, 50).exterior.coords],
    ),
    250,
    300,
)
TWO_PARTS = at(MultiPolygon([box(0, 0, 20, 30), box(35, 0, 55, 30)]), 500, 300)
PART_WITH_HOLE = at(
    MultiPolygon([Polygon(box(0, 0, 50, 50).exterior.coords, [box(20, 20, 30, 30).exterior.coords]), box(60, 0, 70, 10)]),
    0,
    600,
)
TOUCHING_PARTS = at(MultiPolygon([box(0, 0, 20, 20), box(20, 20, 40, 40)]), 200, 600)
GATE_LANE = at(box(0, 0, 30, 2.5), 400, 600)
COMB = at(
    Polygon([(0, 0), (100, 0), (100, 40), (90, 40), (90, 8), (70, 8), (70, 40), (60, 40), (60, 8), (40, 8), (40, 40), (30, 40), (30, 8), (10, 8), (10, 40), (0, 40)]),
    600,
    600,
)
TINY_TRIANGLE = at(Polygon([(0, 0), (1.2, 0), (0.6, 1.0)]), 900, 0)
TANK_FARM = at(box(0, 0, 480, 320), -700, -600)
NESTED_ROOM = at(box(10, 10, 18, 16), -700, -600)  # inside the tank farm: overlapping zones

# a part's corner touching another part's reflex (inner) corner; the corner part listed
# first, so a naive nearest-vertex side test picks the wrong part
NOTCH_TOUCH = at(
    MultiPolygon(
        [
            Polygon([(20, 20), (35, 25), (40, 40), (25, 35)]),
            Polygon([(0, 0), (40, 0), (40, 20), (20, 20), (20, 40), (0, 40)]),
        ]
    ),
    700,
    300,
)
HOLE_TOUCHING_SHELL = at(Polygon(box(0, 0, 40, 40).exterior.coords, [[(0, 0), (10, 5), (5, 10)]]), 800, 600)
HOLE_TOUCHING_EDGE = at(Polygon(box(0, 0, 40, 40).exterior.coords, [[(0, 20), (10, 15), (10, 25)]]), 900, 300)

CATALOGUE: dict[str, BaseGeometry] = {
    "square": SQUARE,
    "rotated_rectangle": ROTATED_RECTANGLE,
    "l_shape": L_SHAPE,
    "donut": DONUT,
    "two_holes": TWO_HOLES,
    "two_parts": TWO_PARTS,
    "part_with_hole": PART_WITH_HOLE,
    "touching_parts": TOUCHING_PARTS,
    "gate_lane": GATE_LANE,
    "comb": COMB,
    "tiny_triangle": TINY_TRIANGLE,
    "tank_farm": TANK_FARM,
    "nested_room": NESTED_ROOM,
    "notch_touch": NOTCH_TOUCH,
    "hole_touching_shell": HOLE_TOUCHING_SHELL,
    "hole_touching_edge": HOLE_TOUCHING_EDGE,
}
TOUCH_POINTS = {"notch_touch": (720.0, 320.0), "hole_touching_shell": (800.0, 600.0), "hole_touching_edge": (900.0, 320.0)}
"""Where rings of these zones touch (local offsets from X0, Y0)."""
