"""The replay report: one JSON document, and the same numbers as Markdown for a person.

Per zone: entries, peak occupancy and when, time over ``max_occupancy``, time under
``min_occupancy`` while it applies (staffed, after the start-up grace), trespass count,
time inside summed over terminals. Per terminal: distance travelled (between accepted
fixes, in the site's metric CRS), time per zone, events. Per event type: raised,
cleared, still raised at the end, and raise-to-clear durations.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from gnss.instant import format_instant
from replay.driver import ReplayStats
from replay.observe import ReportObserver

REPORT_VERSION = 1
MARKDOWN_TERMINAL_ROWS = 100


@dataclass(frozen=True, slots=True)
class ReplayContext:
    """What was replayed and how: inputs, skipped lines per input, what-if changes."""

    config: str
    inputs: tuple[str, ...]
    skipped: Mapping[str, int]
    what_if: tuple[str, ...]
    plots: tuple[str, ...] = ()


def _s(ms: int) -> float:
    return round(ms / 1000.0, 3)


def _instant(t_ms: int | None) -> str | None:
    return None if t_ms is None else format_instant(t_ms)


def _zone_rows(obs: ReportObserver) -> list[dict[str, Any]]:
    inside_ms: dict[str, int] = {}
    for ts in obs.terminals.values():
        for zone_id, ms in ts.zone_ms.items():
            inside_ms[zone_id] = inside_ms.get(zone_id, 0) + ms
    rows = []
    for zone_id, zs in obs.zones.items():
        if obs.zone_filter is not None and zone_id not in obs.zone_filter:
            continue
        z = zs.zone
        rows.append({
            "id": zone_id,
            "name": z.name,
            "access": z.access.value,
            "max_occupancy": z.max_occupancy,
            "min_occupancy": z.min_occupancy,
            "entries": zs.entries,
            "peak_occupancy": zs.peak,
            "peak_at": _instant(zs.peak_ms),
            "over_max_s": _s(zs.over_ms) if z.max_occupancy is not None else None,
            "under_min_staffed_s": _s(zs.under_ms) if z.min_occupancy is not None else None,
            "trespass_count": zs.trespass,
            "terminal_time_inside_s": _s(inside_ms.get(zone_id, 0)),
        })
    return rows


def _terminal_rows(obs: ReportObserver) -> list[dict[str, Any]]:
    rows = []
    for terminal_id in sorted(obs.terminals):
        ts = obs.terminals[terminal_id]
        zone_s = {
            z: _s(ms) for z, ms in sorted(ts.zone_ms.items())
            if obs.zone_filter is None or z in obs.zone_filter
        }
        rows.append({
            "id": terminal_id,
            "name": obs.site.terminal(terminal_id).name,
            "kind": ts.kind.value,
            "registered": terminal_id in obs.site.terminals,
            "fixes": ts.fixes,
            "distance_m": round(ts.distance_m, 1),
            "zone_time_s": zone_s,
            "events": dict(sorted(ts.events.items())),
        })
    return rows


def _type_rows(obs: ReportObserver) -> list[dict[str, Any]]:
    still_open: dict[str, int] = {}
    for etype, _zone, _terminal in obs.open:
        still_open[etype.value] = still_open.get(etype.value, 0) + 1
    rows = []
    for etype, st in obs.types.items():
        rows.append({
            "type": etype.value,
            "raised": st.raised,
            "cleared": st.cleared,
            "open_at_end": still_open.get(etype.value, 0),
            "closed": st.closed,
            "duration_total_s": _s(st.total_ms),
            "duration_mean_s": _s(st.total_ms // st.closed) if st.closed else None,
            "duration_max_s": _s(st.max_ms) if st.closed else None,
        })
    return rows


def build_report(obs: ReportObserver, stats: ReplayStats, context: ReplayContext) -> dict[str, Any]:
    """The report as a JSON-able document (versioned)."""
    start, end = obs.first_ms, obs.end_ms
    return {
        "version": REPORT_VERSION,
        "site": obs.site.name,
        "config": context.config,
        "inputs": list(context.inputs),
        "what_if": list(context.what_if),
        "plots": list(context.plots),
        "zone_filter": sorted(obs.zone_filter) if obs.zone_filter is not None else None,
        "span": {
            "start": _instant(start),
            "end": _instant(end),
            "duration_s": _s(end - start) if start is not None and end is not None else 0.0,
        },
        "fixes": {
            "fed": stats.fixes_fed,
            "filtered_out": stats.fixes_filtered,
            "skipped_lines": sum(context.skipped.values()),
            "skipped_by_input": dict(sorted(context.skipped.items())),
        },
        "events": {"written": stats.events_written, "total": stats.events_total},
        "zones": _zone_rows(obs),
        "terminals": _terminal_rows(obs),
        "event_types": _type_rows(obs),
    }


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


@dataclass(frozen=True, slots=True)
class Section:
    """One table of the person-readable report (rendered as Markdown or HTML)."""

    title: str
    note: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _section(title: str, headers: tuple[str, ...], rows: Sequence[Sequence[Any]],
             note: str = "") -> Section:
    return Section(title, note, headers, tuple(tuple(_cell(v) for v in row) for row in rows))


def _zone_section(report: Mapping[str, Any]) -> Section:
    rows = [
        (z["id"], z["name"], z["access"], z["entries"], z["peak_occupancy"], z["peak_at"],
         z["max_occupancy"], z["over_max_s"], z["min_occupancy"], z["under_min_staffed_s"],
         z["trespass_count"], z["terminal_time_inside_s"])
        for z in report["zones"]
    ]
    headers = ("zone", "name", "access", "entries", "peak", "peak at (UTC)", "max", "over max (s)",
               "min", "under min, staffed (s)", "trespasses", "terminal-time inside (s)")
    return _section("Zones", headers, rows)


def _terminal_section(report: Mapping[str, Any]) -> Section:
    terminals = report["terminals"]
    ranked = sorted(terminals, key=lambda r: (-sum(r["events"].values()), -r["distance_m"], r["id"]))
    shown = ranked[:MARKDOWN_TERMINAL_ROWS]
    rows = [
        (r["id"], r["name"], r["kind"], r["fixes"], r["distance_m"],
         ", ".join(f"{z} {s:,.0f} s" for z, s in r["zone_time_s"].items()) or "–",
         ", ".join(f"{t} {n}" for t, n in r["events"].items()) or "–")
        for r in shown
    ]
    headers = ("terminal", "name", "kind", "fixes", "distance (m)", "time per zone", "raised")
    note = ""
    if len(terminals) > len(shown):
        note = (f"The {len(shown)} terminals with the most events of {len(terminals)}; "
                "all are in report.json.")
    return _section("Terminals", headers, rows, note)


def _type_section(report: Mapping[str, Any]) -> Section:
    rows = [
        (r["type"], r["raised"], r["cleared"], r["open_at_end"], r["duration_mean_s"],
         r["duration_max_s"], r["duration_total_s"])
        for r in report["event_types"]
    ]
    headers = ("event", "raised", "cleared", "still raised at end", "mean raise→clear (s)",
               "longest (s)", "total (s)")
    return _section("Events by type", headers, rows)


def _summary(report: Mapping[str, Any]) -> list[str]:
    """The facts about the replay, one per line (plain text; renderers add markup)."""
    span, fixes = report["span"], report["fixes"]
    lines = [
        f"Site file: {report['config']}",
        f"Inputs: {', '.join(report['inputs'])}",
        f"Span (UTC): {span['start']} to {span['end']} ({span['duration_s']:,.0f} s)",
        f"Fixes fed: {fixes['fed']:,}; left out by filters: {fixes['filtered_out']:,}; "
        f"lines skipped as not fixes: {fixes['skipped_lines']:,}",
        f"Events written: {report['events']['written']:,} (of {report['events']['total']:,})",
    ]
    if report["what_if"]:
        lines.append(f"What-if changes: {'; '.join(report['what_if'])}")
    if report["zone_filter"] is not None:
        lines.append(f"Zones shown: {', '.join(report['zone_filter'])}")
    return lines


READING_NOTE = ("Times under min_occupancy count only while the zone is staffed and after the "
                "start-up grace; peaks are counts of online terminals of counted kinds.")


def _sections(report: Mapping[str, Any]) -> list[Section]:
    return [_zone_section(report), _type_section(report), _terminal_section(report)]


def _md_table(section: Section) -> list[str]:
    lines = [f"## {section.title}", ""]
    if section.note:
        lines += [section.note, ""]
    lines += ["| " + " | ".join(section.headers) + " |", "|" + "---|" * len(section.headers)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in section.rows]
    return [*lines, ""]


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report for a person: what was replayed, then zones, event types and terminals."""
    lines = [f"# Replay report — {report['site']}", ""]
    lines += [f"- {line}" for line in _summary(report)] + ["", READING_NOTE, ""]
    for section in _sections(report):
        lines += _md_table(section)
    if report["plots"]:
        lines += ["## Plots", ""] + [f"![{Path(name).stem}]({name})" for name in report["plots"]] + [""]
    return "\n".join(lines) + "\n"


def _html_table(section: Section) -> list[str]:
    out = [f"<h2>{escape(section.title)}</h2>"]
    if section.note:
        out.append(f"<p>{escape(section.note)}</p>")
    out.append("<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in section.headers) + "</tr>")
    out += ["<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in section.rows]
    return [*out, "</table>"]


HTML_STYLE = (
    "body{font-family:sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin-bottom:1.5em}"
    "td,th{border:1px solid #bbb;padding:3px 8px;text-align:left;font-size:90%}"
    "th{background:#eee}img{max-width:100%;display:block;margin:1em 0}"
)


def render_html(report: Mapping[str, Any]) -> str:
    """The same report as one HTML page, with the plots beside it shown inline."""
    title = escape(f"Replay report — {report['site']}")
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{title}</title><style>{HTML_STYLE}</style></head><body>", f"<h1>{title}</h1>",
           "<ul>", *[f"<li>{escape(line)}</li>" for line in _summary(report)], "</ul>",
           f"<p>{escape(READING_NOTE)}</p>"]
    for section in _sections(report):
        out += _html_table(section)
    if report["plots"]:
        out.append("<h2>Plots</h2>")
        out += [f'<img src="{escape(name)}" alt="{escape(Path(name).stem)}">' for name in report["plots"]]
    return "\n".join([*out, "</body></html>"]) + "\n"


def write_report(directory: Path, report: Mapping[str, Any]) -> tuple[Path, Path, Path]:
    """Write ``report.json``, ``report.md`` and ``report.html`` into ``directory``."""
    json_path = directory / "report.json"
    md_path = directory / "report.md"
    html_path = directory / "report.html"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(render_markdown(report), encoding="utf-8")
    html_path.write_text(render_html(report), encoding="utf-8")
    return json_path, md_path, html_path
