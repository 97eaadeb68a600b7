"""``fence decode``: NMEA (raw or gpsd log) to contract fix JSON Lines on stdout."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from gnss.errors import DecodeError
from gnss.fix import Fix
from gnss.fixjson import fix_to_line, fix_to_obj
from gnss.sources import SourceItem
from gnss.sources.stream import FileSource


def register(subparsers: Any) -> None:
    """Add the ``decode`` subcommand."""
    parser = subparsers.add_parser(
        "decode",
        help="decode NMEA into fix JSON Lines",
        description=(
            "Decode an NMEA byte stream (raw, or a gpsd log with '#' lines) into contract fix "
            "JSON Lines on stdout; decode errors are counted by kind on stderr."
        ),
    )
    parser.add_argument("file", help="NMEA file, or - for stdin")
    parser.add_argument("--terminal", help="terminal id of the fixes (default: the file name)")
    parser.add_argument("--no-comments", action="store_true", help="do not skip lines starting with '#'")
    parser.add_argument("--errors", action="store_true", help="also print every decode error on stderr")
    parser.add_argument(
        "--satellites", action="store_true", help='read GSV: add "in_view" (satellites per constellation)'
    )
    parser.set_defaults(func=run)


def _line(fix: Fix, satellites: bool) -> str:
    """The contract JSON line, with ``in_view`` when satellites were asked for."""
    if not satellites:
        return fix_to_line(fix)
    obj = fix_to_obj(fix)
    obj["in_view"] = {system.value: count for system, count in fix.sats_in_view}
    return json.dumps(obj, separators=(", ", ": "))


def run(args: argparse.Namespace) -> int:
    """Decode the file; returns 0, or 2 when the file cannot be read."""
    path: str = args.file
    terminal = args.terminal or ("stdin" if path == "-" else Path(path).stem or "terminal")
    if path != "-" and not Path(path).is_file():
        print(f"fence decode: {path}: no such file", file=sys.stderr)
        return 2
    counts: Counter[str] = Counter()
    fixes = 0
    out = sys.stdout
    live = path == "-"

    def deliver(item: SourceItem) -> None:
        """Print a fix, count an error."""
        nonlocal fixes
        if isinstance(item, Fix):
            fixes += 1
            out.write(_line(item, args.satellites) + "\n")
            if live:
                out.flush()
        elif isinstance(item, DecodeError):
            counts[item.kind.value] += 1
            if args.errors:
                print(f"{path}: {item}", file=sys.stderr)

    try:
        FileSource(path, terminal, comments=not args.no_comments, satellites=args.satellites).run(deliver)
    except BrokenPipeError:
        raise
    except OSError as exc:
        print(f"fence decode: {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    summary = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items())) or "none"
    print(f"fence decode: {fixes} fixes; decode errors: {summary}", file=sys.stderr)
    return 0
