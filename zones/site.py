"""Loading a site (contract 1.2-1.5 and 7): ``fence.toml``, the zones GeoJSON and the
terminals CSV, into a validated :class:`zones.model.Site`.

Every problem is collected (not just the first) and reported in one :class:`SiteError`;
each message names the file, where in it (TOML/CSV line, GeoJSON feature index and id),
the key or property, and the reason. Nothing starts on a bad site.
"""

from __future__ import annotations

import csv
import json
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from zones import checks
from zones.checks import Bad, show
from zones.crs import CrsChoiceError, auto_gk_crs, check_metric_crs, projection_for
from zones.model import (
    DEFAULT_ACCURACY_M,
    Access,
    Defaults,
    Permit,
    Site,
    Terminal,
    TerminalKind,
    Zone,
)
from zones.tomllines import TomlLines

T = TypeVar("T")

SITE_KEYS = ("name", "timezone", "crs", "zones", "terminals")
DEFAULT_KEYS = (
    "margin_m",
    "offline_after_s",
    "still_s",
    "still_radius_m",
    "still_kinds",
    "accepted_qualities",
    "max_speed_mps",
    "accuracy_m",
)
TERMINAL_KEYS = ("id", "kind", "roles", "name")
ZONE_PROPERTIES = (
    "id",
    "name",
    "access",
    "permits",
    "max_occupancy",
    "min_occupancy",
    "staffed",
    "count_kinds",
    "hold_s",
    "max_dwell_s",
    "max_still_s",
    "margin_m",
)
PERMIT_KEYS = ("roles", "terminals", "daily", "from", "until")
CSV_COLUMNS = ("id", "kind", "roles", "name")
DEFAULT_TIMEZONE = "Asia/Shanghai"


class SiteError(Exception):
    """A site that cannot be loaded; ``messages`` lists every problem found."""

    def __init__(self, messages: list[str] | tuple[str, ...]) -> None:
        self.messages = tuple(messages)
        super().__init__("\n".join(self.messages))


@dataclass
class _Report:
    """Problems and warnings collected while loading."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _TomlPlace:
    """A TOML file and its key lines: builds messages ``FILE: line N: WHERE: reason``."""

    file: str
    lines: TomlLines

    def message(self, path: tuple[str | int, ...], where: str, reason: str) -> str:
        """``FILE: line N: WHERE: REASON`` with the line of ``path``."""
        return f"{self.file}: line {self.lines.line_of(path)}: {where}: {reason}"


def _checked(report: _Report, message: Callable[[str], str], check: Callable[[], T]) -> T | None:
    """Run one check; on :class:`Bad` record ``message(reason)`` and return None."""
    try:
        return check()
    except Bad as exc:
        report.errors.append(message(str(exc)))
        return None


# ---------------------------------------------------------------------------- TOML


def _read_text(path: Path, report: _Report) -> str | None:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        report.errors.append(f"{path}: cannot read: no such file")
    except IsADirectoryError:
        report.errors.append(f"{path}: cannot read: is a directory")
    except OSError as exc:
        report.errors.append(f"{path}: cannot read: {exc.strerror or exc}")
    except UnicodeDecodeError as exc:
        report.errors.append(f"{path}: cannot read: not UTF-8 text ({exc.reason})")
    return None


def _unknown_keys(
    table: Mapping[str, Any], known: tuple[str, ...], place: _TomlPlace, path: tuple[str | int, ...], where: str, report: _Report
) -> None:
    for key in table:
        if key not in known:
            report.errors.append(
                place.message((*path, key), where, f"unknown key '{key}' (known: {', '.join(known)})")
            )


def _section(
    doc: Mapping[str, Any], name: str, place: _TomlPlace, report: _Report, *, required: bool
) -> Mapping[str, Any]:
    value = doc.get(name)
    if value is None:
        if required:
            report.errors.append(f"{place.file}: missing section [{name}]")
        return {}
    if not isinstance(value, dict):
        report.errors.append(place.message((name,), f"'{name}'", "must be a table [" + name + "]"))
        return {}
    return value


@dataclass(frozen=True, slots=True)
class _SiteSection:
    name: str
    timezone: ZoneInfo | None
    crs: str | None
    zones: Path | None
    terminals: Path | None


def _site_section(doc: Mapping[str, Any], toml_path: Path, place: _TomlPlace, report: _Report) -> _SiteSection:
    table = _section(doc, "site", place, report, required=True)
    _unknown_keys(table, SITE_KEYS, place, ("site",), "[site]", report)

    def msg(key: str) -> Callable[[str], str]:
        return lambda reason: place.message(("site", key), f"[site] key '{key}'", reason)

    name = toml_path.resolve().parent.name or "site"
    if "name" in table:
        name = _checked(report, msg("name"), lambda: checks.text(table["name"])) or name
    timezone: ZoneInfo | None = None
    tz_name = DEFAULT_TIMEZONE
    if "timezone" in table:
        tz_name = _checked(report, msg("timezone"), lambda: checks.text(table["timezone"])) or ""
    if tz_name:
        try:
            timezone = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            report.errors.append(msg("timezone")(f"unknown time zone {show(tz_name)}"))
    crs: str | None = None
    if "crs" in table:
        crs_text = _checked(report, msg("crs"), lambda: checks.text(table["crs"]))
        if crs_text is not None:
            try:
                crs = check_metric_crs(crs_text)
            except CrsChoiceError as exc:
                report.errors.append(msg("crs")(str(exc)))
    zones: Path | None = None
    if "zones" not in table:
        if "site" in doc:
            report.errors.append(place.message(("site",), "[site]", "missing key 'zones' (the zones GeoJSON file)"))
    else:
        zones_text = _checked(report, msg("zones"), lambda: checks.text(table["zones"]))
        zones = None if zones_text is None else toml_path.parent / zones_text
    terminals: Path | None = None
    if "terminals" in table:
        terminals_text = _checked(report, msg("terminals"), lambda: checks.text(table["terminals"]))
        terminals = None if terminals_text is None else toml_path.parent / terminals_text
    return _SiteSection(name, timezone, crs, zones, terminals)


def _speed_table(value: Any) -> dict[TerminalKind, float]:
    if not isinstance(value, dict):
        raise Bad(f"must be a table like {{ person = 7.0, vehicle = 35.0 }}, got {show(value)}")
    speeds = {TerminalKind.PERSON: 7.0, TerminalKind.VEHICLE: 35.0}
    for key, speed in value.items():
        try:
            kind = checks.kind(key)
        except Bad as exc:
            raise Bad(f"key '{key}': {exc}") from None
        try:
            speeds[kind] = checks.number(speed, above=0.0)
        except Bad as exc:
            raise Bad(f"key '{key}': {exc}") from None
    return speeds


def _accuracy_table(value: Any) -> dict[int, float]:
    if not isinstance(value, dict):
        raise Bad(f"must be a table of quality digit = metres, got {show(value)}")
    table = dict(DEFAULT_ACCURACY_M)
    for key, metres in value.items():
        if not (len(key) == 1 and key.isdigit()):
            raise Bad(f"key '{key}': not a quality digit 0-9")
        try:
            table[int(key)] = checks.number(metres, above=0.0)
        except Bad as exc:
            raise Bad(f"key '{key}': {exc}") from None
    return table


def _qualities(value: Any) -> frozenset[int]:
    if not isinstance(value, list):
        raise Bad(f"must be a list of qualities 0-9, got {show(value)}")
    if not value:
        raise Bad("must not be an empty list (no fix would be accepted)")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= 9:
            raise Bad(f"must be a list of integers 0-9, got item {show(item)}")
    return frozenset(value)


def _still_s(value: Any) -> float | None:
    if value == "none":
        return None
    seconds = checks.number(value)
    return None if seconds == 0 else seconds


def _defaults_section(doc: Mapping[str, Any], place: _TomlPlace, report: _Report) -> Defaults:
    table = _section(doc, "defaults", place, report, required=False)
    _unknown_keys(table, DEFAULT_KEYS, place, ("defaults",), "[defaults]", report)
    parsers: dict[str, Callable[[Any], Any]] = {
        "margin_m": lambda v: checks.number(v, above=0.0),
        "offline_after_s": lambda v: checks.number(v, above=0.0),
        "still_s": _still_s,
        "still_radius_m": lambda v: checks.number(v),
        "still_kinds": lambda v: checks.kinds(v, non_empty=False),
        "accepted_qualities": _qualities,
        "max_speed_mps": _speed_table,
        "accuracy_m": _accuracy_table,
    }
    values: dict[str, Any] = {}
    for key, parse in parsers.items():
        if key not in table:
            continue
        parsed = _checked(
            report,
            lambda reason, key=key: place.message(("defaults", key), f"[defaults] key '{key}'", reason),  # type: ignore[misc]
            lambda parse=parse, key=key: (parse(table[key]),),  # type: ignore[misc]
        )
        if parsed is not None:
            values[key] = parsed[0]
    return Defaults(**values)


def _terminal_from_values(
    raw: Mapping[str, Any], message: Callable[[str, str], str], report: _Report, *, roles_text: bool
) -> Terminal | None:
    """Build a terminal from a TOML table or CSV row; ``message(key, reason)``."""
    ok = True

    def field_of(key: str, check: Callable[[], T]) -> T | None:
        nonlocal ok
        result = _checked(report, lambda reason: message(key, reason), check)
        ok = ok and result is not None
        return result

    terminal_id = field_of("id", lambda: checks.text(raw["id"])) if "id" in raw else None
    if "id" not in raw:
        report.errors.append(message("id", "missing (every terminal needs an id)"))
        ok = False
    kind = field_of("kind", lambda: checks.kind(raw["kind"])) if "kind" in raw else None
    if "kind" not in raw:
        report.errors.append(message("kind", "missing (\"person\" or \"vehicle\")"))
        ok = False
    roles: tuple[str, ...] | None = ()
    if "roles" in raw:
        if roles_text:
            roles = field_of("roles", lambda: _csv_roles(raw["roles"]))
        else:
            roles = field_of("roles", lambda: checks.string_list(raw["roles"]))
    name = terminal_id
    if raw.get("name") not in (None, ""):
        name = field_of("name", lambda: checks.text(raw["name"]))
    elif "name" in raw and not roles_text:
        field_of("name", lambda: checks.text(raw["name"]))
    if not ok or terminal_id is None or kind is None or roles is None or name is None:
        return None
    return Terminal(terminal_id, kind, frozenset(roles), name)


def _csv_roles(cell: str) -> tuple[str, ...]:
    if not cell.strip():
        return ()
    roles = tuple(role.strip() for role in cell.split(";"))
    if any(not role for role in roles):
        raise Bad(f"empty role in {show(cell)} (roles are separated by ';')")
    return roles


@dataclass(frozen=True, slots=True)
class _Placed:
    """A terminal and where it was defined (for duplicate messages)."""

    terminal: Terminal
    place: str


def _inline_terminals(doc: Mapping[str, Any], place: _TomlPlace, report: _Report) -> list[_Placed]:
    value = doc.get("terminals")
    if value is None:
        return []
    if not isinstance(value, list):
        report.errors.append(place.message(("terminals",), "'terminals'", "must be an array of tables [[terminals]]"))
        return []
    found: list[_Placed] = []
    for index, table in enumerate(value):
        where = f"[[terminals]] #{index + 1}"
        if not isinstance(table, dict):
            report.errors.append(place.message(("terminals", index), where, "must be a table"))
            continue
        _unknown_keys(table, TERMINAL_KEYS, place, ("terminals", index), where, report)

        def message(key: str, reason: str, index: int = index, where: str = where) -> str:
            return place.message(("terminals", index, key), f"{where} key '{key}'", reason)

        terminal = _terminal_from_values(table, message, report, roles_text=False)
        if terminal is not None:
            line = place.lines.line_of(("terminals", index))
            found.append(_Placed(terminal, f"{place.file}: line {line}"))
    return found


def _csv_terminals(path: Path, report: _Report) -> list[_Placed]:
    text = _read_text(path, report)
    if text is None:
        return []
    reader = csv.reader(text.splitlines())
    header: list[str] | None = None
    found: list[_Placed] = []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip() for cell in row]
            for column in header:
                if column not in CSV_COLUMNS:
                    report.errors.append(
                        f"{path}: line {line}: unknown column '{column}' (known: {', '.join(CSV_COLUMNS)})"
                    )
            for column in ("id", "kind"):
                if column not in header:
                    report.errors.append(f"{path}: line {line}: missing column '{column}'")
            if len(set(header)) != len(header):
                report.errors.append(f"{path}: line {line}: a column is named twice")
            continue
        if len(row) != len(header):
            report.errors.append(f"{path}: line {line}: {len(row)} cells, the header has {len(header)}")
            continue
        raw = {column: cell.strip() for column, cell in zip(header, row, strict=True) if column in CSV_COLUMNS}

        def message(key: str, reason: str, line: int = line) -> str:
            return f"{path}: line {line}: column '{key}': {reason}"

        terminal = _terminal_from_values(raw, message, report, roles_text=True)
        if terminal is not None:
            found.append(_Placed(terminal, f"{path}: line {line}"))
    if header is None:
        report.errors.append(f"{path}: empty file (expected a header line id,kind,roles,name)")
    return found


def _merge_terminals(placed: list[_Placed], report: _Report) -> dict[str, Terminal]:
    terminals: dict[str, Terminal] = {}
    first_place: dict[str, str] = {}
    for item in placed:
        tid = item.terminal.id
        if tid in terminals:
            report.errors.append(f"{item.place}: terminal id '{tid}': duplicate (first defined at {first_place[tid]})")
            continue
        terminals[tid] = item.terminal
        first_place[tid] = item.place
    return terminals


# ---------------------------------------------------------------------------- GeoJSON


def _position(value: Any) -> tuple[float, float]:
    if not isinstance(value, list) or not 2 <= len(value) <= 3:
        raise Bad(f"a position must be [longitude, latitude], got {show(value)}")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | float) or not math.isfinite(item):
            raise Bad(f"a position must hold finite numbers, got {show(value)}")
    lon, lat = float(value[0]), float(value[1])
    if not -180.0 <= lon <= 180.0 or not -90.0 <= lat <= 90.0:
        raise Bad(f"position {show(value)} out of range (longitude first, then latitude)")
    return lon, lat


def _ring(value: Any, where: str) -> list[tuple[float, float]]:
    if not isinstance(value, list):
        raise Bad(f"{where}: must be a list of positions, got {show(value)}")
    try:
        positions = [_position(item) for item in value]
    except Bad as exc:
        raise Bad(f"{where}: {exc}") from None
    if len(positions) < 4:
        raise Bad(f"{where}: {len(positions)} positions, a closed ring needs at least 4")
    if positions[0] != positions[-1]:
        raise Bad(f"{where}: not closed (the last position must repeat the first)")
    return positions


def _polygon(value: Any, where: str) -> Polygon:
    if not isinstance(value, list) or not value:
        raise Bad(f"{where}must be a non-empty list of rings, got {show(value)}")
    rings = [_ring(ring, f"{where}ring {k}") for k, ring in enumerate(value)]
    return Polygon(rings[0], rings[1:])


def _geometry(value: Any) -> BaseGeometry:
    if value is None:
        raise Bad("missing (a zone needs a Polygon or MultiPolygon)")
    if not isinstance(value, dict):
        raise Bad(f"must be a GeoJSON geometry object, got {show(value)}")
    kind = value.get("type")
    coords = value.get("coordinates")
    geometry: BaseGeometry
    if kind == "Polygon":
        geometry = _polygon(coords, "")
    elif kind == "MultiPolygon":
        if not isinstance(coords, list) or not coords:
            raise Bad(f"MultiPolygon must hold a non-empty list of polygons, got {show(coords)}")
        geometry = MultiPolygon([_polygon(part, f"polygon {k} ") for k, part in enumerate(coords)])
    else:
        raise Bad(f"type {show(kind)} not allowed (Polygon or MultiPolygon only)")
    if not geometry.is_valid:
        raise Bad(f"invalid: {explain_validity(geometry)}")
    return geometry


@dataclass(frozen=True, slots=True)
class _FeaturePlace:
    file: str
    index: int
    zone_id: str | None

    def message(self, what: str, reason: str) -> str:
        """``FILE: features[i] (id 'Z'): WHAT: REASON``."""
        who = f"id '{self.zone_id}'" if self.zone_id is not None else "no valid id"
        return f"{self.file}: features[{self.index}] ({who}): {what}: {reason}"


def _permit(value: Any, k: int, place: _FeaturePlace, report: _Report) -> Permit | None:
    what = f"property 'permits': permits[{k}]"
    if not isinstance(value, dict):
        report.errors.append(place.message(what, f"must be an object, got {show(value)}"))
        return None
    ok = True
    for key in value:
        if key not in PERMIT_KEYS:
            report.errors.append(place.message(what, f"unknown key '{key}' (known: {', '.join(PERMIT_KEYS)})"))
            ok = False
    parsers: dict[str, Callable[[Any], Any]] = {
        "roles": lambda v: frozenset(checks.string_list(v)),
        "terminals": lambda v: frozenset(checks.string_list(v)),
        "daily": checks.windows,
        "from": checks.instant,
        "until": checks.instant,
    }
    values: dict[str, Any] = {}
    for key, parse in parsers.items():
        if value.get(key) is None:
            continue
        parsed = _checked(
            report,
            lambda reason, key=key: place.message(f"{what} key '{key}'", reason),  # type: ignore[misc]
            lambda parse=parse, key=key: (parse(value[key]),),  # type: ignore[misc]
        )
        if parsed is None:
            ok = False
        else:
            values[key] = parsed[0]
    if "from" in values and "until" in values and values["from"] >= values["until"]:
        report.errors.append(place.message(what, "'from' is not before 'until'"))
        ok = False
    if not ok:
        return None
    return Permit(
        roles=values.get("roles"),
        terminals=values.get("terminals"),
        daily=values.get("daily"),
        from_ms=values.get("from"),
        until_ms=values.get("until"),
    )


def _access(value: Any) -> Access:
    if isinstance(value, str):
        for access in Access:
            if access.value == value:
                return access
    raise Bad(f"must be \"open\" or \"restricted\", got {show(value)}")


def _optional_number(value: Any) -> float:
    return checks.number(value)


@dataclass(frozen=True, slots=True)
class _ZoneDraft:
    """A feature whose properties and geometry passed their checks (not yet projected)."""

    index: int
    values: Mapping[str, Any]
    geometry: BaseGeometry
    extra: Mapping[str, Any]


_ZONE_PARSERS: dict[str, Callable[[Any], Any]] = {
    "name": checks.text,
    "access": _access,
    "max_occupancy": checks.count,
    "min_occupancy": checks.count,
    "staffed": checks.windows,
    "count_kinds": lambda v: checks.kinds(v, non_empty=True),
    "hold_s": _optional_number,
    "max_dwell_s": _optional_number,
    "max_still_s": _optional_number,
    "margin_m": lambda v: checks.number(v, above=0.0),
}


def _zone_id(props: Mapping[str, Any]) -> str:
    if props.get("id") is None:
        raise Bad("missing (every zone needs a unique id)")
    return checks.text(props["id"])


def _feature(feature: Any, index: int, file: str, report: _Report) -> _ZoneDraft | None:
    place = _FeaturePlace(file, index, None)
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        report.errors.append(place.message("feature", "must be a GeoJSON Feature object"))
        return None
    props = feature.get("properties")
    if props is None:
        props = {}
    if not isinstance(props, dict):
        report.errors.append(place.message("properties", f"must be an object, got {show(props)}"))
        return None
    errors_before = len(report.errors)
    zone_id = _checked(report, lambda reason: place.message("property 'id'", reason), lambda: _zone_id(props))
    place = _FeaturePlace(file, index, zone_id)
    values: dict[str, Any] = {"id": zone_id}
    for key, parse in _ZONE_PARSERS.items():
        if props.get(key) is None:
            continue
        parsed = _checked(
            report,
            lambda reason, key=key: place.message(f"property '{key}'", reason),  # type: ignore[misc]
            lambda parse=parse, key=key: (parse(props[key]),),  # type: ignore[misc]
        )
        if parsed is not None:
            values[key] = parsed[0]
    permits: list[Permit] = []
    raw_permits = props.get("permits")
    if raw_permits is not None:
        if not isinstance(raw_permits, list):
            report.errors.append(place.message("property 'permits'", f"must be a list of permit objects, got {show(raw_permits)}"))
        else:
            for k, raw in enumerate(raw_permits):
                permit = _permit(raw, k, place, report)
                if permit is not None:
                    permits.append(permit)
    values["permits"] = tuple(permits)
    low, high = values.get("min_occupancy"), values.get("max_occupancy")
    if low is not None and high is not None and low > high:
        report.errors.append(place.message("property 'min_occupancy'", f"{low} is above max_occupancy {high}"))
    access_ok = props.get("access") is None or "access" in values
    if raw_permits and access_ok and values.get("access", Access.OPEN) is Access.OPEN:
        report.warnings.append(place.message("property 'permits'", "ignored: the zone is open (access \"open\")"))
    extra = {key: value for key, value in props.items() if key not in ZONE_PROPERTIES}
    for key in extra:
        report.warnings.append(place.message(f"property '{key}'", "unknown property, kept but not used"))
    geometry = _checked(report, lambda reason: place.message("geometry", reason), lambda: _geometry(feature.get("geometry")))
    if geometry is None or len(report.errors) > errors_before:
        return None
    return _ZoneDraft(index, values, geometry, extra)


def _zones_file(path: Path, report: _Report) -> list[_ZoneDraft] | None:
    """The checked features of the zones file (None when the file itself is unusable)."""
    text = _read_text(path, report)
    if text is None:
        return None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        report.errors.append(f"{path}: line {exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno})")
        return None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        report.errors.append(f"{path}: must be a GeoJSON FeatureCollection with a 'features' list")
        return None
    features = doc["features"]
    if not features:
        report.errors.append(f"{path}: no zones (a site needs at least one zone)")
        return None
    drafts: list[_ZoneDraft] = []
    seen: dict[str, int] = {}
    for index, feature in enumerate(features):
        draft = _feature(feature, index, str(path), report)
        raw_id = feature.get("properties", {}).get("id") if isinstance(feature, dict) and isinstance(feature.get("properties"), dict) else None
        if isinstance(raw_id, str) and raw_id.strip():
            if raw_id in seen:
                place = _FeaturePlace(str(path), index, raw_id)
                report.errors.append(place.message("property 'id'", f"duplicate of features[{seen[raw_id]}]"))
                continue
            seen[raw_id] = index
        if draft is not None:
            drafts.append(draft)
    return drafts


def _choose_crs(site: _SiteSection, drafts: list[_ZoneDraft], place: _TomlPlace, report: _Report) -> str | None:
    if site.crs is not None:
        return site.crs
    if not drafts:
        return None
    bounds = shapely.total_bounds([d.geometry for d in drafts])
    try:
        return auto_gk_crs((bounds[0] + bounds[2]) / 2)
    except CrsChoiceError as exc:
        report.errors.append(place.message(("site",), "[site]", str(exc)))
        return None


def _build_zone(draft: _ZoneDraft, crs: str, defaults: Defaults, file: str, report: _Report) -> Zone | None:
    values = draft.values
    place = _FeaturePlace(file, draft.index, values["id"])
    metric = projection_for(crs).project_geometry(draft.geometry)
    if not metric.is_valid:
        report.errors.append(place.message("geometry", f"invalid after projection into {crs}: {explain_validity(metric)}"))
        return None
    try:
        return Zone(
            id=values["id"],
            name=values.get("name", values["id"]),
            access=values.get("access", Access.OPEN),
            permits=values["permits"],
            max_occupancy=values.get("max_occupancy"),
            min_occupancy=values.get("min_occupancy"),
            staffed=values.get("staffed"),
            count_kinds=values.get("count_kinds", frozenset({TerminalKind.PERSON})),
            hold_s=values.get("hold_s", 0.0),
            max_dwell_s=values.get("max_dwell_s"),
            max_still_s=values.get("max_still_s"),
            margin_m=values.get("margin_m", defaults.margin_m),
            geometry=draft.geometry,
            metric=metric,
            extra=draft.extra,
        )
    except ValueError as exc:
        report.errors.append(place.message("zone", str(exc)))
        return None


# ---------------------------------------------------------------------------- entry


def load_site(path: str | Path) -> Site:
    """Load and validate a site from its ``fence.toml``; raise :class:`SiteError` listing
    every problem when it is not valid."""
    toml_path = Path(path)
    report = _Report()
    text = _read_text(toml_path, report)
    if text is None:
        raise SiteError(report.errors)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SiteError([f"{toml_path}: not valid TOML: {exc}"]) from None
    place = _TomlPlace(str(toml_path), TomlLines.scan(text))
    for key, value in doc.items():
        if not isinstance(value, dict | list):
            report.errors.append(place.message((key,), f"top-level key '{key}'", "must be inside a section"))
    site = _site_section(doc, toml_path, place, report)
    defaults = _defaults_section(doc, place, report)
    placed = _inline_terminals(doc, place, report)
    drafts: list[_ZoneDraft] | None = None
    if site.zones is not None:
        drafts = _zones_file(site.zones, report)
    if site.terminals is not None:
        placed += _csv_terminals(site.terminals, report)
    terminals = _merge_terminals(placed, report)
    crs = _choose_crs(site, drafts or [], place, report)
    zones: list[Zone] = []
    if drafts and crs is not None:
        for draft in drafts:
            zone = _build_zone(draft, crs, defaults, str(site.zones), report)
            if zone is not None:
                zones.append(zone)
    if report.errors or site.timezone is None or crs is None:
        raise SiteError(report.errors or [f"{toml_path}: site not usable"])
    sections = {key: value for key, value in doc.items() if key not in ("site", "defaults", "terminals") and isinstance(value, dict | list)}
    return Site(
        name=site.name,
        timezone=site.timezone,
        crs=crs,
        zones=tuple(zones),
        terminals=terminals,
        defaults=defaults,
        source=str(toml_path),
        sections=sections,
        warnings=tuple(report.warnings),
    )
