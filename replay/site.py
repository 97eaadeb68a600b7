"""The site a replay runs on: the configured one, or a what-if variant of it.

``--zones FILE`` swaps in other zones (checked by the site loader exactly as the
configured ones are, projected into the configured site's metric CRS so distances stay
comparable); ``--set`` overrides limits (``replay.overrides``).
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

from replay.overrides import apply_overrides, parse_override
from zones.model import Site
from zones.site import SiteError, load_site


def _zones_only_toml(site: Site, zones_file: Path) -> str:
    """A minimal site file around ``zones_file`` with the site's time zone, CRS and margin."""
    return (
        "[site]\n"
        f"name = {json.dumps(site.name)}\n"
        f"timezone = {json.dumps(site.timezone.key)}\n"
        f"crs = {json.dumps(site.crs)}\n"
        f"zones = {json.dumps(str(zones_file.resolve()))}\n"
        "[defaults]\n"
        f"margin_m = {site.defaults.margin_m!r}\n"
    )


def load_zones_from(site: Site, zones_file: Path) -> Site:
    """The site with its zones replaced by those of ``zones_file`` (GeoJSON).

    Raises SiteError naming the zones file, feature and property on a bad file.
    """
    if not zones_file.is_file():
        raise SiteError([f"{zones_file}: --zones file not found"])
    with tempfile.TemporaryDirectory(prefix="fence-replay-") as tmp:
        toml_path = Path(tmp) / "what-if.toml"
        toml_path.write_text(_zones_only_toml(site, zones_file), encoding="utf-8")
        variant = load_site(toml_path)
    replaced: Site = dataclasses.replace(
        site, zones=variant.zones, warnings=site.warnings + variant.warnings
    )
    return replaced


def load_replay_site(config: Path, zones_file: Path | None, overrides: Sequence[str]) -> Site:
    """Load the configured site, then apply ``--zones`` and ``--set`` in that order.

    Raises SiteError (bad site or zones file) or OverrideError (bad ``--set``).
    """
    site = load_site(config)
    if zones_file is not None:
        site = load_zones_from(site, zones_file)
    return apply_overrides(site, [parse_override(text) for text in overrides])
