"""Hand-written evaluator scenarios in local metres.

A scenario lays square zones out in metres east/north of an origin near the demo park,
writes a real site (fence.toml + zones.geojson) and turns fixes given in metres and
seconds into contract fixes. Expected events are written as
``(t_s, type, state, zone, terminal)`` (occupancy events may add count and limit).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyproj import Transformer

from events.evaluator import Evaluator
from events.fixfilter import FixVerdict
from events.model import Event
from gnss.fix import Fix
from gnss.instant import parse_instant
from zones.model import Site
from zones.site import load_site

CRS = "EPSG:4546"
ORIGIN_LON, ORIGIN_LAT = 111.5, 40.65
T0_MS = parse_instant("2026-11-28T00:00:00.000Z")  # 08:00 in Asia/Shanghai
_TO_METRIC = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
_TO_LONLAT = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
X0, Y0 = _TO_METRIC.transform(ORIGIN_LON, ORIGIN_LAT)


def lonlat(x_m: float, y_m: float) -> tuple[float, float]:
    """Lon/lat of a point ``x_m`` east and ``y_m`` north of the origin (in the metric CRS)."""
    lon, lat = _TO_LONLAT.transform(X0 + x_m, Y0 + y_m)
    return float(lon), float(lat)


def rect(x0: float, y0: float, x1: float, y1: float) -> list[list[list[float]]]:
    """GeoJSON Polygon coordinates of a metric rectangle."""
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return [[list(lonlat(x, y)) for x, y in corners]]


@dataclass(frozen=True)
class Fx:
    """A fix at ``t_s`` seconds after T0, ``x``/``y`` metres from the origin."""

    t_s: float
    terminal: str
    x: float | None
    y: float | None
    quality: int = 4
    acc: float | None = None

    def fix(self) -> Fix:
        """The contract fix."""
        t_ms = T0_MS + round(self.t_s * 1000)
        if self.x is None or self.y is None:
            return Fix(t_ms, self.terminal, None, None, self.quality, self.acc)
        lon, lat = lonlat(self.x, self.y)
        return Fix(t_ms, self.terminal, lat, lon, self.quality, self.acc)


@dataclass(frozen=True)
class Tick:
    """A tick (advance_to) at ``t_s`` seconds after T0."""

    t_s: float


Input = Fx | Tick


@dataclass
class Scenario:
    """One table row: a site, inputs, and the exact expected events."""

    name: str
    zones: list[dict[str, Any]]
    inputs: list[Input]
    expected: list[tuple[Any, ...]]
    terminals: list[dict[str, Any]] = field(default_factory=list)
    defaults: dict[str, Any] = field(default_factory=dict)
    until_s: float | None = None
    jumps_rejected: int = 0  # guards the table itself: no fix rejected by accident


def chrono(*parts: list[Fx]) -> list[Input]:
    """Fixes from several lists merged in time order (stable: equal times keep list order)."""
    merged: list[Fx] = sorted((f for part in parts for f in part), key=lambda f: f.t_s)
    return list(merged)


def every(terminal: str, start_s: int, stop_s: int, step_s: int, xy: tuple[float, float]) -> list[Fx]:
    """Fixes of one terminal standing at ``xy`` every ``step_s`` from start to stop (inclusive)."""
    return [Fx(t, terminal, *xy) for t in range(start_s, stop_s + 1, step_s)]


def _toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def write_site(tmp: Path, scenario: Scenario) -> Site:
    """Write the scenario's site files into ``tmp`` and load them."""
    features = []
    for spec in scenario.zones:
        props = {k: v for k, v in spec.items() if k not in ("rect", "hole")}
        rings = rect(*spec["rect"]) + (rect(*spec["hole"]) if "hole" in spec else [])
        features.append(
            {"type": "Feature", "properties": props,
             "geometry": {"type": "Polygon", "coordinates": rings}}
        )
    (tmp / "zones.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    lines = ["[site]", 'name = "scenario"', 'timezone = "Asia/Shanghai"', f'crs = "{CRS}"',
             'zones = "zones.geojson"', "", "[defaults]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in scenario.defaults.items()]
    for term in scenario.terminals:
        lines += ["", "[[terminals]]"] + [f"{k} = {_toml_value(v)}" for k, v in term.items()]
    (tmp / "fence.toml").write_text("\n".join(lines) + "\n")
    return load_site(tmp / "fence.toml")


def run(site: Site, inputs: list[Input], until_s: float | None = None,
        ev: Evaluator | None = None) -> list[Event]:
    """Drive an evaluator (fresh by default) with the inputs; optionally run the clock on."""
    ev = ev if ev is not None else Evaluator(site)
    out: list[Event] = []
    for item in inputs:
        if isinstance(item, Tick):
            out += ev.advance_to(T0_MS + round(item.t_s * 1000))
        else:
            out += ev.feed(item.fix())
    if until_s is not None:
        out += ev.advance_to(T0_MS + round(until_s * 1000))
    return out


def as_rows(events: list[Event]) -> Counter[tuple[Any, ...]]:
    """Events as a multiset of ``(t_s, type, state, zone, terminal[, count, limit])``."""
    rows: Counter[tuple[Any, ...]] = Counter()
    for e in events:
        row: tuple[Any, ...] = ((e.t_ms - T0_MS) / 1000, e.type.value, e.state.value, e.zone, e.terminal)
        if e.count is not None:
            row += (e.count, e.limit)
        rows[row] += 1
    return rows


def check(tmp: Path, scenario: Scenario) -> None:
    """Assert that the scenario gives exactly its expected events (as a multiset), and the
    same events in the same order through the evaluator's reference path."""
    site = write_site(tmp, scenario)
    ev = Evaluator(site)
    events = run(site, scenario.inputs, scenario.until_s, ev)
    reference = run(site, scenario.inputs, scenario.until_s, Evaluator(site, ev.index, reference=True))
    assert events == reference, f"{scenario.name}: the fast path differs from the reference"
    got = as_rows(events)
    rejected = ev.verdicts[FixVerdict.JUMP_REJECTED]
    assert rejected == scenario.jumps_rejected, f"{scenario.name}: {rejected} jumps rejected"
    want: Counter[tuple[Any, ...]] = Counter(
        (float(r[0]),) + tuple(r[1:]) for r in scenario.expected
    )
    assert got == want, f"{scenario.name}: got {sorted(got.elements())}, want {sorted(want.elements())}"
