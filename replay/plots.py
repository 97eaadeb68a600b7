"""Replay plots (matplotlib, Agg, PNG): the site map, occupancy over time, an event timeline.

Made from the data the report observer kept (bounded), so plotting a month costs the
same as plotting an hour. Times are shown in the site's time zone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.transforms as transforms  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.patches import Polygon as PolygonPatch  # noqa: E402
from shapely.geometry import MultiPolygon, Polygon  # noqa: E402

from events.model import EventType  # noqa: E402
from gnss.instant import to_datetime  # noqa: E402
from replay.observe import Bar, ReportObserver, ZoneStats  # noqa: E402
from zones.model import Access, Zone  # noqa: E402

TYPE_COLOURS: dict[EventType, str] = {
    EventType.TRESPASS: "#d62728",
    EventType.OVERCROWDING: "#9467bd",
    EventType.UNDERMANNING: "#ff7f0e",
    EventType.LOITERING: "#8c564b",
    EventType.STILLNESS: "#e377c2",
    EventType.OFFLINE: "#7f7f7f",
}
TYPE_MARKERS: dict[EventType, str] = {
    EventType.TRESPASS: "X",
    EventType.OVERCROWDING: "P",
    EventType.UNDERMANNING: "v",
    EventType.LOITERING: "s",
    EventType.STILLNESS: "o",
    EventType.OFFLINE: "^",
}
MARKER_SHIFT_PT = {EventType.OVERCROWDING: -6.0, EventType.UNDERMANNING: 6.0}
ACCESS_COLOURS = {Access.OPEN: "#2b8cbe", Access.RESTRICTED: "#e34a33"}
MAX_OCCUPANCY_PANELS = 16
MAX_TIMELINE_ROWS = 60
DPI = 110


def _rule_hatch(zone: Zone) -> str:
    """The kind of rule a zone carries, as a hatch: occupancy limits, dwell/still limits."""
    if zone.max_occupancy is not None or zone.min_occupancy is not None:
        return "//"
    if zone.max_dwell_s is not None or zone.max_still_s is not None:
        return ".."
    return ""


def _polygons(zone: Zone) -> list[Polygon]:
    geometry = zone.geometry
    if isinstance(geometry, MultiPolygon):
        return list(geometry.geoms)
    return [geometry] if isinstance(geometry, Polygon) else []


def _draw_zone(ax: Any, zone: Zone) -> None:
    colour = ACCESS_COLOURS[zone.access]
    for poly in _polygons(zone):
        ax.add_patch(PolygonPatch(list(poly.exterior.coords), closed=True, facecolor=colour,
                                  edgecolor=colour, alpha=0.25, hatch=_rule_hatch(zone), lw=1.2))
        for hole in poly.interiors:
            ax.add_patch(PolygonPatch(list(hole.coords), closed=True, facecolor="white",
                                      edgecolor=colour, lw=0.8))
    point = zone.geometry.representative_point()
    ax.annotate(zone.id, (point.x, point.y), xytext=(0, 9), textcoords="offset points",
                ha="center", va="bottom", fontsize=7, color="#222222", weight="bold")


def plot_map(obs: ReportObserver, path: Path) -> Path:
    """Zones (colour: access; hatch: occupancy or dwell/still rules), tracks, raise markers."""
    fig, ax = plt.subplots(figsize=(10, 8), dpi=DPI)
    for zone in obs.site.zones:
        _draw_zone(ax, zone)
    cmap = plt.get_cmap("tab20")
    for k, terminal_id in enumerate(sorted(obs.terminals)):
        points = obs.terminals[terminal_id].track.points
        if len(points) > 1:
            lons, lats = zip(*points, strict=True)
            ax.plot(lons, lats, lw=0.7, alpha=0.6, color=cmap(k % 20))
    for etype in EventType:
        marks = [m for m in obs.markers if m.type is etype]
        if marks:
            # zone-level raises sit on the zone's point: shift them apart to stay visible
            shift = transforms.offset_copy(ax.transData, fig=fig, units="points",
                                           x=MARKER_SHIFT_PT.get(etype, 0.0), y=0.0)
            ax.scatter([m.lon for m in marks], [m.lat for m in marks], s=36, zorder=5,
                       marker=TYPE_MARKERS[etype], color=TYPE_COLOURS[etype], transform=shift,
                       edgecolors="black", linewidths=0.4, label=f"{etype.value} raised ({len(marks)})")
    handles, _ = ax.get_legend_handles_labels()
    handles += [Patch(facecolor=c, alpha=0.4, label=f"{a.value} zone") for a, c in ACCESS_COLOURS.items()]
    handles += [Patch(facecolor="white", edgecolor="black", hatch="//", label="occupancy limits"),
                Patch(facecolor="white", edgecolor="black", hatch="..", label="dwell/still limits")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.autoscale_view()
    mid_lat = sum(ax.get_ylim()) / 2
    ax.set_aspect(1.0 / max(math.cos(math.radians(mid_lat)), 1e-6))
    ax.set_xlabel("longitude (°)")
    ax.set_ylabel("latitude (°)")
    ax.ticklabel_format(useOffset=False)
    ax.set_title(f"{obs.site.name}: zones, tracks and raised events", fontsize=10)
    return _save(fig, path)


def _times(values_ms: Sequence[int], tz: Any) -> list[datetime]:
    return [to_datetime(t).astimezone(tz) for t in values_ms]


def _occupancy_panel(ax: Any, obs: ReportObserver, zs: ZoneStats) -> None:
    tz = obs.site.timezone
    start = obs.first_ms if obs.first_ms is not None else 0
    end = obs.end_ms if obs.end_ms is not None else start
    points = [(start, 0), *zs.series.points, (end, zs.count)]
    ax.step(_times([t for t, _ in points], tz), [v for _, v in points], where="post",
            color="#1f77b4", lw=1.2)
    zone = zs.zone
    if zone.max_occupancy is not None:
        ax.axhline(zone.max_occupancy, color=TYPE_COLOURS[EventType.OVERCROWDING], ls="--",
                   lw=1, label=f"max {zone.max_occupancy}")
    if zone.min_occupancy is not None:
        ax.axhline(zone.min_occupancy, color=TYPE_COLOURS[EventType.UNDERMANNING], ls="--",
                   lw=1, label=f"min {zone.min_occupancy}")
    for bar in obs.bars:
        if bar.zone == zone.id and bar.type in (EventType.OVERCROWDING, EventType.UNDERMANNING):
            bar_end = bar.end_ms if bar.end_ms is not None else end
            ax.axvspan(*_times([bar.start_ms, bar_end], tz), color=TYPE_COLOURS[bar.type],
                       alpha=0.2, lw=0)
    ax.set_ylabel(zone.id, fontsize=8, rotation=0, ha="right", va="center")
    ax.set_ylim(bottom=0, top=max(zs.peak, zone.max_occupancy or 0, zone.min_occupancy or 0) + 1)
    if zone.max_occupancy is not None or zone.min_occupancy is not None:
        ax.legend(loc="upper right", fontsize=7)


def _occupancy_zones(obs: ReportObserver) -> list[ZoneStats]:
    chosen = [
        zs for zs in obs.zones.values()
        if (obs.zone_filter is None or zs.zone.id in obs.zone_filter)
        and (zs.entries or zs.zone.max_occupancy is not None or zs.zone.min_occupancy is not None)
    ]
    chosen.sort(key=lambda zs: (zs.zone.max_occupancy is None and zs.zone.min_occupancy is None,
                                zs.zone.id))
    return chosen[:MAX_OCCUPANCY_PANELS]


def plot_occupancy(obs: ReportObserver, path: Path) -> Path:
    """Occupancy per zone over time, with its limits and shaded over/undermanning spans."""
    zones = _occupancy_zones(obs)
    rows = max(len(zones), 1)
    fig, axes = plt.subplots(rows, 1, figsize=(11, 1.3 * rows + 1.2), dpi=DPI, sharex=True,
                             squeeze=False)
    for ax, zs in zip(axes[:, 0], zones, strict=False):
        _occupancy_panel(ax, obs, zs)
    if not zones:
        axes[0, 0].text(0.5, 0.5, "no zone was entered and none has occupancy limits",
                        ha="center", va="center", transform=axes[0, 0].transAxes)
    _time_axis(axes[-1, 0], obs)
    fig.suptitle(f"{obs.site.name}: occupancy (online terminals of counted kinds)", fontsize=10)
    return _save(fig, path)


def _time_axis(ax: Any, obs: ReportObserver) -> None:
    tz = obs.site.timezone
    formatter = mdates.DateFormatter("%m-%d %H:%M", tz=tz)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(formatter)
    ax.set_xlabel(f"time ({tz.key})")
    for label in ax.get_xticklabels():
        label.set_rotation(30)
        label.set_ha("right")


def _day_number(t_ms: int) -> float:
    """Matplotlib's date number (days) of an instant."""
    number: float = mdates.date2num(to_datetime(t_ms))  # type: ignore[no-untyped-call]
    return number


def _timeline_rows(bars: Sequence[Bar]) -> dict[tuple[str, str | None, str | None], list[Bar]]:
    rows: dict[tuple[str, str | None, str | None], list[Bar]] = {}
    for bar in sorted(bars, key=lambda b: (b.start_ms, b.type.value, b.zone or "", b.terminal or "")):
        rows.setdefault((bar.type.value, bar.zone, bar.terminal), []).append(bar)
    return rows


def plot_timeline(obs: ReportObserver, path: Path) -> Path:
    """One row per condition (type, zone, terminal): bars from raise to clear."""
    tz = obs.site.timezone
    end = obs.end_ms if obs.end_ms is not None else 0
    rows = list(_timeline_rows(obs.bars).items())
    shown = rows[:MAX_TIMELINE_ROWS]
    fig, ax = plt.subplots(figsize=(11, 0.28 * max(len(shown), 4) + 1.8), dpi=DPI)
    min_width = max((end - (obs.first_ms or end)) / 400, 1000)
    for y, ((_type, _zone, _terminal), bars) in enumerate(shown):
        for bar in bars:
            bar_end = bar.end_ms if bar.end_ms is not None else end
            left = _day_number(bar.start_ms)
            width = _day_number(bar.start_ms + max(bar_end - bar.start_ms, int(min_width))) - left
            ax.barh(y, width, left=left, height=0.7, color=TYPE_COLOURS[bar.type],
                    hatch="//" if bar.end_ms is None else "", edgecolor="black", lw=0.3)
    ax.set_yticks(range(len(shown)))
    ax.set_yticklabels([" ".join(p for p in key if p) for key, _ in shown], fontsize=7)
    ax.invert_yaxis()
    ax.xaxis_date(tz)
    _time_axis(ax, obs)
    handles = [Patch(color=TYPE_COLOURS[t], label=t.value) for t in EventType]
    handles.append(Patch(facecolor="white", edgecolor="black", hatch="//", label="still raised at end"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    title = f"{obs.site.name}: events from raise to clear"
    if len(rows) > len(shown) or obs.bars_total > len(obs.bars):
        title += f" (first {len(shown)} of {max(len(rows), obs.bars_total)} conditions)"
    if not shown:
        ax.text(0.5, 0.5, "no events", ha="center", va="center", transform=ax.transAxes)
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout(rect=(0.0, 0.0, 1.0, 0.98))
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def write_plots(obs: ReportObserver, directory: Path) -> list[Path]:
    """Write map.png, occupancy.png and timeline.png into ``directory``."""
    return [
        plot_map(obs, directory / "map.png"),
        plot_occupancy(obs, directory / "occupancy.png"),
        plot_timeline(obs, directory / "timeline.png"),
    ]
