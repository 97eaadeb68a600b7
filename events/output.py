"""Events as contract JSON Lines (section 6), with the extra keys operators need."""

from __future__ import annotations

import json
from typing import Any

from events.model import SEVERITY, Event
from gnss.instant import format_instant
from zones.model import Site


def event_to_obj(event: Event, site: Site) -> dict[str, Any]:
    """The contract object of an event plus names, severity, position, quality and id."""
    obj: dict[str, Any] = {
        "t": format_instant(event.t_ms),
        "type": event.type.value,
        "state": event.state.value,
        "zone": event.zone,
        "terminal": event.terminal,
    }
    if event.count is not None:
        obj["count"] = event.count
        obj["limit"] = event.limit
    obj["id"] = event.event_id
    obj["severity"] = SEVERITY[event.type]
    if event.zone is not None:
        obj["zone_name"] = _zone_name(site, event.zone)
    if event.terminal is not None:
        obj["terminal_name"] = site.terminal(event.terminal).name
    if event.lat is not None:
        obj["lat"] = event.lat
        obj["lon"] = event.lon
        obj["quality"] = event.quality
    return obj


def _zone_name(site: Site, zone_id: str) -> str:
    try:
        return site.zone(zone_id).name
    except KeyError:
        return zone_id


def event_to_line(event: Event, site: Site) -> str:
    """One JSON line (no newline) for an event."""
    return json.dumps(event_to_obj(event, site), ensure_ascii=False)
