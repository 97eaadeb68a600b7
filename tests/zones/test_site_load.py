"""Every load rule of contract 1.2-1.5 and 7, table-driven, with the exact messages.

Each case writes a small site folder and expects either these refusal messages (in this
order, all of them: the loader collects every problem) or these warnings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gnss.instant import parse_instant
from tests.zones.sitefiles import BASE_CSV, BASE_TOML, FAR_SQUARE, SQUARE, feature, write_site
from zones.model import Access, TerminalKind
from zones.site import SiteError, load_site

Z = "{dir}/zones.geojson"
T = "{dir}/fence.toml"
C = "{dir}/terminals.csv"
BOWTIE = [[[111.5, 40.65], [111.501, 40.651], [111.501, 40.65], [111.5, 40.651], [111.5, 40.65]]]
HOLE_OPEN = [SQUARE[0], [[111.5002, 40.6502], [111.5004, 40.6502], [111.5004, 40.6504], [111.5002, 40.6504]]]


@dataclass(frozen=True)
class Case:
    """One load case: site files and the expected messages."""

    name: str
    features: list[dict[str, Any]] | None = None
    toml: str = BASE_TOML
    csv: str | None = BASE_CSV
    zones_text: str | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def zone(**props: Any) -> list[dict[str, Any]]:
    """One square zone 'A' with extra properties."""
    return [feature({"id": "A", **props})]


def zmsg(prop: str, reason: str, index: int = 0, zone_id: str = "A") -> str:
    return f"{Z}: features[{index}] (id '{zone_id}'): {prop}: {reason}"


SITE_ONLY = '[site]\nname = "x"\nzones = "zones.geojson"\n'

CASES = [
    # --- zone properties (contract 1.3)
    Case("access", zone(access="secret"), errors=[zmsg("property 'access'", 'must be "open" or "restricted", got "secret"')]),
    Case("max_occupancy fraction", zone(max_occupancy=2.5), errors=[zmsg("property 'max_occupancy'", "must be an integer >= 0, got 2.5")]),
    Case("max_occupancy negative", zone(max_occupancy=-1), errors=[zmsg("property 'max_occupancy'", "must be an integer >= 0, got -1")]),
    Case("max_occupancy bool", zone(max_occupancy=True), errors=[zmsg("property 'max_occupancy'", "must be an integer >= 0, got true")]),
    Case("max_occupancy string", zone(max_occupancy="3"), errors=[zmsg("property 'max_occupancy'", 'must be an integer >= 0, got "3"')]),
    Case("min above max", zone(min_occupancy=3, max_occupancy=2), errors=[zmsg("property 'min_occupancy'", "3 is above max_occupancy 2")]),
    Case("min_occupancy fraction", zone(min_occupancy=1.5), errors=[zmsg("property 'min_occupancy'", "must be an integer >= 0, got 1.5")]),
    Case("staffed empty", zone(min_occupancy=1, staffed=[]), errors=[zmsg("property 'staffed'", "must not be an empty list")]),
    Case("staffed malformed", zone(staffed=["8:00-20:00"]), errors=[zmsg("property 'staffed'", "malformed window '8:00-20:00' (expected HH:MM-HH:MM)")]),
    Case("staffed not a list", zone(staffed="08:00-20:00"), errors=[zmsg("property 'staffed'", 'must be a list of "HH:MM-HH:MM" windows, got "08:00-20:00"')]),
    Case("window end 00:00", zone(staffed=["20:00-00:00"]), errors=[zmsg("property 'staffed'", "malformed window '20:00-00:00' (end must be 00:01-24:00)")]),
    Case("window start 24:00", zone(staffed=["24:00-06:00"]), errors=[zmsg("property 'staffed'", "malformed window '24:00-06:00' (start must be 00:00-23:59)")]),
    Case("window start equals end", zone(staffed=["08:00-08:00"]), errors=[zmsg("property 'staffed'", "malformed window '08:00-08:00' (start equals end)")]),
    Case("window minutes", zone(staffed=["08:60-09:00"]), errors=[zmsg("property 'staffed'", "malformed window '08:60-09:00' (minutes above 59)")]),
    Case("count_kinds empty", zone(count_kinds=[]), errors=[zmsg("property 'count_kinds'", "must not be an empty list")]),
    Case("count_kinds unknown", zone(count_kinds=["robot"]), errors=[zmsg("property 'count_kinds'", 'unknown kind "robot" (expected "person" or "vehicle")')]),
    Case("hold_s negative", zone(hold_s=-5), errors=[zmsg("property 'hold_s'", "must be >= 0, got -5")]),
    Case("hold_s bool", zone(hold_s=True), errors=[zmsg("property 'hold_s'", "must be a number, got true")]),
    Case("max_dwell_s negative", zone(max_dwell_s=-1), errors=[zmsg("property 'max_dwell_s'", "must be >= 0, got -1")]),
    Case("max_still_s string", zone(max_still_s="60"), errors=[zmsg("property 'max_still_s'", 'must be a number, got "60"')]),
    Case("margin_m zero", zone(margin_m=0), errors=[zmsg("property 'margin_m'", "must be > 0, got 0")]),
    Case("name empty", zone(name=""), errors=[zmsg("property 'name'", "must not be empty")]),
    Case("id missing", [feature({"name": "x"})], errors=[f"{Z}: features[0] (no valid id): property 'id': missing (every zone needs a unique id)"]),
    Case("id number", [feature({"id": 7})], errors=[f"{Z}: features[0] (no valid id): property 'id': must be a string, got 7"]),
    Case("id duplicate", [feature({"id": "A"}), feature({"id": "A"}, FAR_SQUARE)], errors=[zmsg("property 'id'", "duplicate of features[0]", 1)]),
    Case("properties null", [feature(None)], errors=[f"{Z}: features[0] (no valid id): property 'id': missing (every zone needs a unique id)"]),
    # --- permits (contract 1.4)
    Case("permit unknown key", zone(access="restricted", permits=[{"roles": ["a"], "who": 1}]), errors=[zmsg("property 'permits'", "permits[0]: unknown key 'who' (known: roles, terminals, daily, from, until)")]),
    Case("permit not an object", zone(access="restricted", permits=[None]), errors=[zmsg("property 'permits'", "permits[0]: must be an object, got null")]),
    Case("permits not a list", zone(access="restricted", permits={"roles": ["a"]}), errors=[zmsg("property 'permits'", 'must be a list of permit objects, got {"roles": ["a"]}')]),
    Case("permit roles string", zone(access="restricted", permits=[{"roles": "op"}]), errors=[zmsg("property 'permits'", "permits[0] key 'roles': must be a list of strings, got \"op\"")]),
    Case("permit terminals item", zone(access="restricted", permits=[{"terminals": ["W-1", 5]}]), errors=[zmsg("property 'permits'", "permits[0] key 'terminals': must be a list of non-empty strings, got item 5")]),
    Case("permit daily empty", zone(access="restricted", permits=[{"daily": []}]), errors=[zmsg("property 'permits'", "permits[0] key 'daily': must not be an empty list")]),
    Case("permit daily malformed", zone(access="restricted", permits=[{"daily": ["22:00-6:00"]}]), errors=[zmsg("property 'permits'", "permits[0] key 'daily': malformed window '22:00-6:00' (expected HH:MM-HH:MM)")]),
    Case("permit from no offset", zone(access="restricted", permits=[{"from": "2026-11-28T08:00:00"}]), errors=[zmsg("property 'permits'", "permits[0] key 'from': not an ISO 8601 instant with Z or offset: '2026-11-28T08:00:00'")]),
    Case("permit until number", zone(access="restricted", permits=[{"until": 5}]), errors=[zmsg("property 'permits'", "permits[0] key 'until': must be an ISO 8601 instant string, got 5")]),
    Case("permit from not before until", zone(access="restricted", permits=[{"from": "2026-11-28T08:00:00Z", "until": "2026-11-28T16:00:00+08:00"}]), errors=[zmsg("property 'permits'", "permits[0]: 'from' is not before 'until'")]),
    # --- geometry (contract 1.3)
    Case("self intersection", [feature({"id": "A"}, BOWTIE)], errors=[zmsg("geometry", "invalid: Self-intersection[111.5005 40.6505]")]),
    Case("hole outside shell", [feature({"id": "A"}, [SQUARE[0], [[111.6, 40.7], [111.601, 40.7], [111.601, 40.701], [111.6, 40.701], [111.6, 40.7]]])], errors=[zmsg("geometry", "invalid: Hole lies outside shell[111.6 40.7]")]),
    Case("overlapping parts", [feature({"id": "A"}, [SQUARE, SQUARE], "MultiPolygon")], errors=[zmsg("geometry", "invalid: Self-intersection[111.501 40.651]")]),
    Case("ring not closed", [feature({"id": "A"}, [SQUARE[0][:-1] + [[111.5, 40.6505]]])], errors=[zmsg("geometry", "ring 0: not closed (the last position must repeat the first)")]),
    Case("ring too short", [feature({"id": "A"}, [[[111.5, 40.65], [111.501, 40.65], [111.5, 40.65]]])], errors=[zmsg("geometry", "ring 0: 3 positions, a closed ring needs at least 4")]),
    Case("hole not closed", [feature({"id": "A"}, HOLE_OPEN)], errors=[zmsg("geometry", "ring 1: not closed (the last position must repeat the first)")]),
    Case("point geometry", [feature({"id": "A"}, [111.5, 40.65], "Point")], errors=[zmsg("geometry", 'type "Point" not allowed (Polygon or MultiPolygon only)')]),
    Case("geometry null", [{"type": "Feature", "properties": {"id": "A"}, "geometry": None}], errors=[zmsg("geometry", "missing (a zone needs a Polygon or MultiPolygon)")]),
    Case("latitude out of range", [feature({"id": "A"}, [[[111.5, 40.65], [111.501, 40.65], [111.501, 95.0], [111.5, 40.65]]])], errors=[zmsg("geometry", "ring 0: position [111.501, 95.0] out of range (longitude first, then latitude)")]),
    Case("position text", [feature({"id": "A"}, [[[111.5, 40.65], ["111.501", 40.65], [111.501, 40.651], [111.5, 40.65]]])], errors=[zmsg("geometry", 'ring 0: a position must hold finite numbers, got ["111.501", 40.65]')]),
    Case("multipolygon empty", [feature({"id": "A"}, [], "MultiPolygon")], errors=[zmsg("geometry", "MultiPolygon must hold a non-empty list of polygons, got []")]),
    Case("multipolygon part ring", [feature({"id": "A"}, [SQUARE, [[[111.51, 40.66], [111.511, 40.66], [111.51, 40.66]]]], "MultiPolygon")], errors=[zmsg("geometry", "polygon 1 ring 0: 3 positions, a closed ring needs at least 4")]),
    # --- the zones file itself
    Case("no zones", zones_text='{"type": "FeatureCollection", "features": []}', errors=[f"{Z}: no zones (a site needs at least one zone)"]),
    Case("bad json", zones_text='{"type": "FeatureCollection",\n "features": [}', errors=[f"{Z}: line 2: not valid JSON: Expecting value (column 15)"]),
    Case("not a collection", zones_text='{"type": "Feature"}', errors=[f"{Z}: must be a GeoJSON FeatureCollection with a 'features' list"]),
    Case("feature not a feature", zones_text='{"type": "FeatureCollection", "features": [{"type": "Point"}]}', errors=[f"{Z}: features[0] (no valid id): feature: must be a GeoJSON Feature object"]),
    # --- warnings
    Case("unknown property warns", zone(fill="#ff0000"), warnings=[zmsg("property 'fill'", "unknown property, kept but not used")]),
    Case("permits on open zone warn", zone(permits=[{"roles": ["a"]}]), warnings=[zmsg("property 'permits'", 'ignored: the zone is open (access "open")')]),
    Case("null is absent", zone(access=None, max_occupancy=None, staffed=None, permits=None, margin_m=None, name=None)),
    Case("null inside a permit is absent", zone(access="restricted", permits=[{"roles": None, "terminals": ["W-001"], "daily": None, "from": None, "until": None}])),
    # --- fence.toml (contract 7)
    Case("site unknown key", toml=BASE_TOML.replace('name = "Test park"', 'name = "Test park"\nowner = "x"'), errors=[f"{T}: line 3: [site]: unknown key 'owner' (known: name, timezone, crs, zones, terminals)"]),
    Case("site missing", toml="[defaults]\nmargin_m = 1.0\n", errors=[f"{T}: missing section [site]"]),
    Case("zones key missing", toml='[site]\nname = "x"\n', errors=[f"{T}: line 1: [site]: missing key 'zones' (the zones GeoJSON file)"]),
    Case("zones file missing", toml='[site]\nzones = "nowhere.geojson"\n', errors=["{dir}/nowhere.geojson: cannot read: no such file"]),
    Case("timezone unknown", toml=SITE_ONLY + 'timezone = "Mars/Olympus"\n', errors=[f"{T}: line 4: [site] key 'timezone': unknown time zone \"Mars/Olympus\""]),
    Case("crs geographic", toml=SITE_ONLY + 'crs = "EPSG:4326"\n', errors=[f"{T}: line 4: [site] key 'crs': CRS 'EPSG:4326' is not a projected (metric) CRS"]),
    Case("crs unknown", toml=SITE_ONLY + 'crs = "EPSG:0"\n', errors=[f"{T}: line 4: [site] key 'crs': unknown CRS 'EPSG:0': Invalid projection: EPSG:0: (Internal Proj Error: proj_create: crs not found: EPSG:0)"]),
    Case("outside GK range", [feature({"id": "A"}, [[[10.0, 40.0], [10.001, 40.0], [10.001, 40.001], [10.0, 40.0]]])], toml=SITE_ONLY, errors=[f"{T}: line 1: [site]: the zones' centre at longitude 10.000500 is outside the CGCS2000 3-degree Gauss-Krüger zones (central meridians 75°E-135°E); name a metric CRS with key 'crs'"]),
    Case("defaults unknown key", toml=SITE_ONLY + "[defaults]\nmargin = 1.0\n", errors=[f"{T}: line 5: [defaults]: unknown key 'margin' (known: margin_m, offline_after_s, still_s, still_radius_m, still_kinds, accepted_qualities, max_speed_mps, accuracy_m)"]),
    Case("defaults margin zero", toml=SITE_ONLY + "[defaults]\nmargin_m = 0\n", errors=[f"{T}: line 5: [defaults] key 'margin_m': must be > 0, got 0"]),
    Case("defaults offline bool", toml=SITE_ONLY + "[defaults]\noffline_after_s = true\n", errors=[f"{T}: line 5: [defaults] key 'offline_after_s': must be a number, got true"]),
    Case("defaults still negative", toml=SITE_ONLY + "[defaults]\nstill_s = -1\n", errors=[f"{T}: line 5: [defaults] key 'still_s': must be >= 0, got -1"]),
    Case("defaults radius string", toml=SITE_ONLY + '[defaults]\nstill_radius_m = "3"\n', errors=[f"{T}: line 5: [defaults] key 'still_radius_m': must be a number, got \"3\""]),
    Case("defaults still kinds", toml=SITE_ONLY + '[defaults]\nstill_kinds = ["cat"]\n', errors=[f"{T}: line 5: [defaults] key 'still_kinds': unknown kind \"cat\" (expected \"person\" or \"vehicle\")"]),
    Case("defaults qualities empty", toml=SITE_ONLY + "[defaults]\naccepted_qualities = []\n", errors=[f"{T}: line 5: [defaults] key 'accepted_qualities': must not be an empty list (no fix would be accepted)"]),
    Case("defaults qualities range", toml=SITE_ONLY + "[defaults]\naccepted_qualities = [1, 12]\n", errors=[f"{T}: line 5: [defaults] key 'accepted_qualities': must be a list of integers 0-9, got item 12"]),
    Case("defaults speed kind", toml=SITE_ONLY + "[defaults]\nmax_speed_mps = { robot = 2.0 }\n", errors=[f"{T}: line 5: [defaults] key 'max_speed_mps': key 'robot': unknown kind \"robot\" (expected \"person\" or \"vehicle\")"]),
    Case("defaults speed zero", toml=SITE_ONLY + "[defaults]\nmax_speed_mps = { person = 0 }\n", errors=[f"{T}: line 5: [defaults] key 'max_speed_mps': key 'person': must be > 0, got 0"]),
    Case("defaults accuracy key", toml=SITE_ONLY + "[defaults]\naccuracy_m = { 10 = 1.0 }\n", errors=[f"{T}: line 5: [defaults] key 'accuracy_m': key '10': not a quality digit 0-9"]),
    Case("defaults accuracy value", toml=SITE_ONLY + "[defaults]\naccuracy_m = { 4 = -0.1 }\n", errors=[f"{T}: line 5: [defaults] key 'accuracy_m': key '4': must be > 0, got -0.1"]),
    Case("top-level key", toml="owner = 1\n" + SITE_ONLY, errors=[f"{T}: line 1: top-level key 'owner': must be inside a section"]),
    Case("toml syntax", toml="[site\n", errors=[f"{T}: not valid TOML: Expected ']' at the end of a table declaration (at line 1, column 6)"]),
    # --- terminals (contract 1.2)
    Case("inline unknown key", toml=SITE_ONLY + '[[terminals]]\nid = "W-9"\nkind = "person"\ncolour = "red"\n', errors=[f"{T}: line 7: [[terminals]] #1: unknown key 'colour' (known: id, kind, roles, name)"]),
    Case("inline unknown kind", toml=SITE_ONLY + '[[terminals]]\nid = "W-9"\nkind = "robot"\n', errors=[f"{T}: line 6: [[terminals]] #1 key 'kind': unknown kind \"robot\" (expected \"person\" or \"vehicle\")"]),
    Case("inline kind missing", toml=SITE_ONLY + '[[terminals]]\nid = "W-9"\n', errors=[f"{T}: line 4: [[terminals]] #1 key 'kind': missing (\"person\" or \"vehicle\")"]),
    Case("inline roles string", toml=SITE_ONLY + '[[terminals]]\nid = "W-9"\nkind = "person"\nroles = "op"\n', errors=[f"{T}: line 7: [[terminals]] #1 key 'roles': must be a list of strings, got \"op\""]),
    Case("inline duplicate", toml=SITE_ONLY + '[[terminals]]\nid = "W-9"\nkind = "person"\n\n[[terminals]]\nid = "W-9"\nkind = "vehicle"\n', errors=[f"{T}: line 8: terminal id 'W-9': duplicate (first defined at {T}: line 4)"]),
    Case("csv and inline duplicate", toml=BASE_TOML + '[[terminals]]\nid = "W-001"\nkind = "person"\n', errors=[f"{C}: line 2: terminal id 'W-001': duplicate (first defined at {T}: line 8)"]),
    Case("csv unknown kind", csv="id,kind,roles,name\nW-1,robot,,R\n", errors=[f"{C}: line 2: column 'kind': unknown kind \"robot\" (expected \"person\" or \"vehicle\")"]),
    Case("csv duplicate", csv="id,kind,roles,name\nW-1,person,,A\nW-1,person,,B\n", errors=[f"{C}: line 3: terminal id 'W-1': duplicate (first defined at {C}: line 2)"]),
    Case("csv unknown column", csv="id,kind,roles,name,age\nW-1,person,,A,30\n", errors=[f"{C}: line 1: unknown column 'age' (known: id, kind, roles, name)"]),
    Case("csv missing column", csv="id,roles\nW-1,a\n", errors=[f"{C}: line 1: missing column 'kind'", f"{C}: line 2: column 'kind': missing (\"person\" or \"vehicle\")"]),
    Case("csv short row", csv="id,kind,roles,name\nW-1,person\n", errors=[f"{C}: line 2: 2 cells, the header has 4"]),
    Case("csv empty role", csv="id,kind,roles,name\nW-1,person,a;;b,A\n", errors=[f"{C}: line 2: column 'roles': empty role in \"a;;b\" (roles are separated by ';')"]),
    Case("csv empty id", csv="id,kind,roles,name\n,person,,A\n", errors=[f"{C}: line 2: column 'id': must not be empty"]),
    Case("csv empty file", csv="", errors=[f"{C}: empty file (expected a header line id,kind,roles,name)"]),
    Case("csv missing file", csv=None, errors=[f"{C}: cannot read: no such file"]),
    # --- several problems at once: all reported
    Case(
        "collects every problem",
        [feature({"id": "A", "max_occupancy": -2, "access": "x"}), feature({"id": "B"}, BOWTIE)],
        toml=BASE_TOML + "still_radius_m = -1\n",
        csv="id,kind,roles,name\nW-1,alien,,A\n",
        errors=[
            f"{T}: line 8: [defaults] key 'still_radius_m': must be >= 0, got -1",
            zmsg("property 'access'", 'must be "open" or "restricted", got "x"'),
            zmsg("property 'max_occupancy'", "must be an integer >= 0, got -2"),
            zmsg("geometry", "invalid: Self-intersection[111.5005 40.6505]", 1, "B"),
            f"{C}: line 2: column 'kind': unknown kind \"alien\" (expected \"person\" or \"vehicle\")",
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_load_rule(case: Case, tmp_path: Path) -> None:
    path = write_site(tmp_path, case.toml, case.features, case.csv, case.zones_text)

    def fill(messages: list[str]) -> list[str]:
        return [m.replace("{dir}", str(tmp_path)) for m in messages]

    if case.errors:
        with pytest.raises(SiteError) as refused:
            load_site(path)
        assert list(refused.value.messages) == fill(case.errors)
    else:
        site = load_site(path)
        assert list(site.warnings) == fill(case.warnings)


def test_values_and_defaults(tmp_path: Path) -> None:
    """What a valid site carries: defaults of 1.5, null as absent, CSV roles, kept sections."""
    toml = BASE_TOML + "still_s = 0\naccuracy_m = { 4 = 0.02 }\n[inputs]\ntype = \"mqtt\"\n[[outputs]]\nfile = \"e.jsonl\"\n"
    features = [
        feature({"id": "A", "staffed": ["22:00-06:00"], "min_occupancy": 2, "fill": "red", "name": None}),
        feature({"id": "R", "access": "restricted", "margin_m": 2.5, "permits": [{"roles": ["operator"], "from": "2026-11-28T08:00:00+08:00"}]}, FAR_SQUARE),
    ]
    site = load_site(write_site(tmp_path, toml, features))
    assert site.timezone.key == "Asia/Shanghai"
    assert site.crs == "EPSG:4546"
    assert site.defaults.still_s is None
    assert site.defaults.accuracy_m[4] == 0.02 and site.defaults.accuracy_m[1] == 3.0
    assert site.defaults.offline_after_s == 30.0
    a, r = site.zone("A"), site.zone("R")
    assert a.name == "A" and a.margin_m == 1.0 and a.access is Access.OPEN and a.extra == {"fill": "red"}
    assert [str(w) for w in a.staffed or ()] == ["22:00-06:00"]
    assert r.margin_m == 2.5 and r.permits[0].from_ms == parse_instant("2026-11-28T00:00:00Z") and r.permits[0].until_ms is None
    assert r.permits[0].terminals is None and r.permits[0].roles == frozenset({"operator"})
    assert site.terminals["W-001"].roles == frozenset({"operator", "first-aid"})
    assert site.terminals["V-001"].kind is TerminalKind.VEHICLE and site.terminals["V-001"].roles == frozenset()
    assert site.sections == {"inputs": {"type": "mqtt"}, "outputs": [{"file": "e.jsonl"}]}
    assert a.metric.area == pytest.approx(84.7 * 111.2, rel=0.02)  # about 84.5 m x 111 m


@pytest.mark.parametrize(
    ("lon", "crs"),
    [(111.5, "EPSG:4546"), (112.5, "EPSG:4546"), (112.6, "EPSG:4547"), (73.6, "EPSG:4534"), (136.4, "EPSG:4554")],
)
def test_auto_crs_nearest_meridian_tie_to_smaller(lon: float, crs: str, tmp_path: Path) -> None:
    ring = [[[lon - 0.001, 40.0], [lon + 0.001, 40.0], [lon + 0.001, 40.001], [lon - 0.001, 40.001], [lon - 0.001, 40.0]]]
    site = load_site(write_site(tmp_path, SITE_ONLY, [feature({"id": "A"}, ring)], csv=None))
    assert site.crs == crs


def test_named_crs_is_used(tmp_path: Path) -> None:
    site = load_site(write_site(tmp_path, SITE_ONLY + 'crs = "EPSG:32649"\n', csv=None))
    assert site.crs == "EPSG:32649"
    assert site.zone("A").metric.bounds[0] == pytest.approx(542_289, abs=200)  # UTM 49N easting


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 30) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
PROPERTY_NAMES = st.sampled_from(
    ["id", "name", "access", "permits", "max_occupancy", "min_occupancy", "staffed", "count_kinds", "hold_s", "max_dwell_s", "max_still_s", "margin_m", "other"]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(props=st.dictionaries(PROPERTY_NAMES, JSON_VALUES, max_size=6), geometry=JSON_VALUES)
def test_any_properties_load_or_refuse_never_crash(props: dict[str, Any], geometry: Any, tmp_path: Path) -> None:
    """Whatever the property values and geometry, the loader answers a Site or a SiteError."""
    features = [{"type": "Feature", "properties": {"id": "A", **props}, "geometry": geometry}, feature({"id": "OK"}, FAR_SQUARE)]
    path = write_site(tmp_path, features=features)
    try:
        site = load_site(path)
    except SiteError as refused:
        assert refused.messages and all(str(tmp_path) in m for m in refused.messages)
    else:
        assert {z.id for z in site.zones} >= {"OK"}
