"""Snapshot and restore: the evaluator's whole state as versioned plain data (JSON-able).

A restored evaluator continues exactly where the snapshot was taken: the same remaining
events, with the same sequence numbers (so the same event ids), none raised twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from events.occupancy import HeldCondition
from events.stillness import Anchor
from events.timers import TimerKind

if TYPE_CHECKING:
    from events.evaluator import Evaluator

SNAPSHOT_VERSION = 1


class SnapshotError(ValueError):
    """A snapshot that cannot be restored (wrong version or shape)."""


def take_snapshot(ev: Evaluator) -> dict[str, Any]:
    """Plain data for every piece of the evaluator's state."""
    return {
        "version": SNAPSHOT_VERSION,
        "clock_ms": ev.clock_ms,
        "first_step_ms": ev.first_step_ms,
        "seq": ev.seq,
        "terminals": [
            {
                "id": ts.id,
                "last_heard_ms": ts.last_heard_ms,
                "offline": ts.offline,
                "last_t_ms": ts.last_t_ms,
                "x": ts.x,
                "y": ts.y,
                "lat": ts.lat,
                "lon": ts.lon,
                "quality": ts.quality,
                "rejections": ts.rejections,
                "zones": sorted(ts.zones),
            }
            for ts in ev.terminals.values()
        ],
        "trespass": [list(k) for k in ev.trespass.raised],
        "loitering": [list(k) for k in ev.loitering.raised],
        "stillness": [
            {
                "id": tid,
                "anchor": None if ts.anchor_t_ms is None
                else [ts.anchor_x_m, ts.anchor_y_m, ts.anchor_t_ms],
                "raised": ts.still_raised,
                "fresh": ts.still_fresh,
            }
            for tid, ts in ev.stillness.states.items()
        ],
        "occupancy": {
            "grace_end_ms": ev.occupancy.grace_end_ms,
            "zones": [
                {
                    "id": zid,
                    "members": list(occ.members),
                    "over": [occ.over.t0_ms, occ.over.raised],
                    "under": [occ.under.t0_ms, occ.under.raised],
                }
                for zid, occ in ev.occupancy.zones.items()
            ],
        },
        "timers": [[key[0].name, key[1], key[2], deadline] for key, deadline in ev.timers.items()],
    }


def restore_snapshot(ev: Evaluator, snap: dict[str, Any]) -> None:
    """Load ``snap`` into a freshly built evaluator of the same site."""
    if snap.get("version") != SNAPSHOT_VERSION:
        raise SnapshotError(f"snapshot version {snap.get('version')!r}, expected {SNAPSHOT_VERSION}")
    try:
        _restore(ev, snap)
    except (KeyError, TypeError, ValueError) as exc:
        raise SnapshotError(f"malformed snapshot: {exc!r}") from None


def _restore(ev: Evaluator, snap: dict[str, Any]) -> None:
    ev.clock_ms = snap["clock_ms"]
    ev.first_step_ms = snap["first_step_ms"]
    ev.seq = int(snap["seq"])
    for item in snap["terminals"]:
        ts, _ = ev._terminal_state(item["id"])
        ts.last_heard_ms = item["last_heard_ms"]
        ts.offline = bool(item["offline"])
        ts.last_t_ms = item["last_t_ms"]
        ts.x, ts.y = float(item["x"]), float(item["y"])
        ts.lat, ts.lon, ts.quality = item["lat"], item["lon"], item["quality"]
        ts.rejections = int(item["rejections"])
        ts.zones = frozenset(z for z in item["zones"] if z in ev.zones)
    ev.trespass.raised = {(t, z): None for t, z in snap["trespass"] if z in ev.zones}
    ev.loitering.raised = {(t, z): None for t, z in snap["loitering"] if z in ev.zones}
    for item in snap["stillness"]:
        a = item["anchor"]
        anchor = None if a is None else Anchor(float(a[0]), float(a[1]), int(a[2]))
        ev.stillness.restore(ev.terminals[item["id"]], anchor, bool(item["raised"]), bool(item["fresh"]))
    occupancy = snap["occupancy"]
    ev.occupancy.grace_end_ms = occupancy["grace_end_ms"]
    for item in occupancy["zones"]:
        occ = ev.occupancy.zones.get(item["id"])
        if occ is None:
            continue
        for tid in item["members"]:
            occ.members[tid] = None
            ts = ev.terminals[tid]
            if not ts.offline and ts.terminal.kind in occ.zone.count_kinds:
                occ.count += 1
        occ.over = HeldCondition(item["over"][0], bool(item["over"][1]))
        occ.under = HeldCondition(item["under"][0], bool(item["under"][1]))
    for kind_name, terminal_id, zone_id, deadline_ms in snap["timers"]:
        ev.timers.arm((TimerKind[kind_name], terminal_id, zone_id), int(deadline_ms))
