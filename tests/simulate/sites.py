"""Sites the simulator tests run on: the contract's example parks (and the demo site)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from gnss.instant import parse_instant
from tests.support.paths import DEMO_CONFIG, SPEC_EXAMPLES
from zones.model import Site
from zones.site import load_site

S11 = SPEC_EXAMPLES / "s11" / "fence.toml"
S12 = SPEC_EXAMPLES / "s12" / "fence.toml"
T0_MS = parse_instant("2026-11-28T01:00:00Z")  # 09:00 in the parks' time zone


@cache
def site(path: Path = S11) -> Site:
    """A loaded site (cached: sites are immutable values)."""
    return load_site(path)


def demo_site() -> Site:
    """The bundled demo site (fence.toml at the top of the repository)."""
    return site(DEMO_CONFIG)
