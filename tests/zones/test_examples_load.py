"""The contract's golden example sites load, with the CRS and counts the contract implies."""

from __future__ import annotations

import pytest

from tests.support.paths import SPEC_EXAMPLES
from zones.index import ZoneIndex
from zones.model import Access, TerminalKind
from zones.site import load_site


@pytest.mark.parametrize("name", ["s11", "s12", "s13"])
def test_example_site_loads(name: str) -> None:
    site = load_site(SPEC_EXAMPLES / name / "fence.toml")
    assert site.crs == "EPSG:4546"  # centre near 111.5E -> CM 111E
    assert len(site.zones) == 12
    assert len(site.terminals) == 20
    assert site.warnings == ()
    assert site.zone("TANKFARM").access is Access.RESTRICTED
    assert len(site.zone("TANKFARM").metric.interiors) == 1  # a hole
    assert site.zone("PADS").metric.geom_type == "MultiPolygon"
    assert site.zone("LOADING").count_kinds == frozenset({TerminalKind.VEHICLE})
    assert site.zone("LOADING").margin_m == 2.0
    assert site.zone("GATE").margin_m == 1.0
    assert site.terminal("V-001").kind is TerminalKind.VEHICLE


@pytest.mark.parametrize("name", ["s11", "s12", "s13"])
def test_example_zone_centres_are_members(name: str) -> None:
    site = load_site(SPEC_EXAMPLES / name / "fence.toml")
    index = ZoneIndex.build(site)
    for zone in site.zones:
        point = zone.metric.representative_point()
        d = index.signed_distance(zone.id, point.x, point.y)
        inside = index.membership(frozenset(), point.x, point.y, 0.05)
        assert (zone.id in inside) == (d >= zone.margin_m)
