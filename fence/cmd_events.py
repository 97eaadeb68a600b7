"""``fence events``: query the event store from the shell (JSON Lines or a table)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from events.model import EventType
from fence.config import ConfigError, engine_config
from fence.store import EventStore, StoredEvent, StoreError
from gnss.instant import InstantError, format_instant, parse_instant
from zones.site import SiteError, load_site


def register(subparsers: Any) -> None:
    """Add the ``events`` subcommand."""
    parser = subparsers.add_parser("events", help="list events from the event store")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--config", type=Path, default=Path("fence.toml"),
                       help="the site's fence.toml (its [store] path; default ./fence.toml)")
    where.add_argument("--db", type=Path, help="the SQLite event store file itself")
    parser.add_argument("--since", help="only events at or after this instant (ISO 8601 with Z)")
    parser.add_argument("--type", choices=[t.value for t in EventType], help="only this type")
    parser.add_argument("--zone", help="only events of this zone id")
    parser.add_argument("--terminal", help="only events of this terminal id")
    parser.add_argument("--open", action="store_true", help="only raised alarms not yet cleared")
    parser.add_argument("--limit", type=int, default=1000, help="at most this many (newest)")
    parser.add_argument("--format", choices=["jsonl", "table"], default="jsonl")
    parser.set_defaults(func=run)


def _store_path(args: argparse.Namespace) -> Path:
    if args.db is not None:
        path: Path = args.db
        return path
    site = load_site(args.config)
    return engine_config(site.sections, args.config, site.name).store_path


def _row(event: StoredEvent) -> str:
    r = event.record
    count = f"{r.count}/{r.limit}" if r.count is not None else ""
    flags = ("OPEN " if event.open else "") + (f"acked by {event.acks[-1].operator}" if event.acks else "")
    return (f"{format_instant(r.t_ms)}  {r.type.value:<12} {r.state.value:<7} "
            f"{r.zone or '-':<14} {r.terminal or '-':<10} {count:<6} {flags}").rstrip()


def _obj(event: StoredEvent) -> dict[str, Any]:
    obj = event.record.obj()
    obj["open"] = event.open
    obj["acks"] = [{"operator": a.operator, "note": a.note, "t": format_instant(a.t_ms)}
                   for a in event.acks]
    return obj


def run(args: argparse.Namespace) -> int:
    """Print the matching events, oldest first."""
    try:
        since = parse_instant(args.since) if args.since else None
        path = _store_path(args)
        if not path.exists():
            print(f"fence events: no event store at {path}", file=sys.stderr)
            return 1
        store = EventStore(path)
        found = store.query(
            since_ms=since,
            type=EventType(args.type) if args.type else None,
            zone=args.zone,
            terminal=args.terminal,
            open_only=args.open,
            limit=args.limit,
        )
    except InstantError as exc:
        print(f"fence events: --since: {exc}", file=sys.stderr)
        return 2
    except SiteError as exc:
        for message in exc.messages:
            print(f"fence events: {message}", file=sys.stderr)
        return 2
    except (ConfigError, StoreError) as exc:
        print(f"fence events: {exc}", file=sys.stderr)
        return 2
    for event in found:
        line = _row(event) if args.format == "table" else json.dumps(_obj(event), ensure_ascii=False)
        print(line)
    return 0
