"""``fence replay``: fix logs, track recordings, NMEA, CSV or GPX in; events out.

    fence replay --config fence.toml [options] INPUT...

Events go to stdout as JSON Lines (contract section 6) unless ``--out DIR`` is given,
which writes the events file, a report (Markdown and JSON) and plots there.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

from events.evaluator import Evaluator
from gnss.instant import InstantError, parse_instant
from replay.driver import ReplayOptions, ReplayStats, run_replay
from replay.observe import ReportObserver
from replay.opening import InputError, InputFormat, InputSpec, expand_inputs
from replay.overrides import OverrideError
from replay.progress import progress_for
from replay.readers import ReaderOptions, SkipLog, merge_arrivals, read_group
from replay.report import ReplayContext, build_report, write_report
from replay.sinks import OutputFormat, make_sink
from replay.site import load_replay_site
from zones.index import ZoneIndex
from zones.model import Site
from zones.site import SiteError

EXIT_USAGE = 2


def _instant(text: str) -> int:
    try:
        return parse_instant(text)
    except InstantError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _quality(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 9:
        raise argparse.ArgumentTypeError(f"quality must be an integer 0-9, got {text!r}")
    return int(text)


def register(subparsers: Any) -> None:
    """Add the ``replay`` subcommand."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "replay",
        help="replay fix logs, track recordings, NMEA, CSV or GPX through the evaluator",
        description="Replay inputs through the evaluator and write the events "
        "(JSON Lines on stdout by default). Several inputs are merged by time.",
    )
    p.add_argument("--config", required=True, type=Path, help="the site file (fence.toml)")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="fix JSON Lines, track recording (file or directory), NMEA, CSV or GPX; .gz is read "
                   "transparently; '-' is standard input")
    p.add_argument("--until", type=_instant, metavar="INSTANT",
                   help="run the clock on to this instant at the end (timers due fire)")
    p.add_argument("--from", dest="from_", type=_instant, metavar="INSTANT",
                   help="replay only inputs at or after this instant (arrival time in "
                   "recordings, else fix time)")
    p.add_argument("--to", type=_instant, metavar="INSTANT",
                   help="replay only inputs before this instant")
    p.add_argument("--terminal", action="append", default=[], metavar="PATTERN",
                   help="feed only these terminals (shell patterns, repeatable or comma list)")
    p.add_argument("--zone", action="append", default=[], metavar="ZONE",
                   help="write only events of these zones (repeatable or comma list)")
    p.add_argument("--zones", type=Path, metavar="FILE",
                   help="what-if: replace the site's zones by this GeoJSON file")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="ZONE.KEY=VALUE",
                   help="what-if: override a zone limit (e.g. GATE.max_occupancy=5, "
                   "defaults.offline_after_s=60)")
    p.add_argument("--format", choices=[f.value for f in OutputFormat], default="jsonl",
                   help="event output format (default jsonl)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="write events, report.md, report.json and plots into DIR")
    p.add_argument("--input-format", choices=[f.value for f in InputFormat],
                   help="the format of every input (default: told from name and content)")
    p.add_argument("--terminal-id", metavar="ID",
                   help="terminal id for NMEA and GPX inputs (default: GPX track name, "
                   "else the file name)")
    p.add_argument("--gpx-quality", type=_quality, metavar="Q",
                   help="fix quality for GPX points (default: their <fix>, else 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    p.set_defaults(func=run)


def _split(values: list[str]) -> tuple[str, ...]:
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


def _zone_filter(site: Site, names: tuple[str, ...]) -> frozenset[str] | None:
    if not names:
        return None
    known = {z.id for z in site.zones}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise OverrideError(f"--zone: no zone {', '.join(map(repr, unknown))} in site {site.name!r}")
    return frozenset(names)


def _fail(message: str) -> int:
    sys.stderr.write(f"fence replay: {message}\n")
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    """Run a replay; 0 on success (skipped lines are reported, not failures), 2 on bad input."""
    try:
        site = load_replay_site(args.config, args.zones, args.overrides)
        options = ReplayOptions(args.from_, args.to, args.until, _split(args.terminal),
                                _zone_filter(site, _split(args.zone)))
        reader_options = ReaderOptions(args.terminal_id, args.gpx_quality)
    except SiteError as exc:
        return _fail("bad site:\n  " + "\n  ".join(exc.messages))
    except (OverrideError, ValueError) as exc:
        return _fail(str(exc))
    fmt = InputFormat(args.input_format) if args.input_format else None
    try:
        groups = expand_inputs(args.inputs, fmt)
        return _replay(args, site, options, reader_options, groups)
    except InputError as exc:
        return _fail(str(exc))


def _replay(
    args: argparse.Namespace,
    site: Site,
    options: ReplayOptions,
    reader_options: ReaderOptions,
    groups: list[tuple[InputSpec, ...]],
) -> int:
    evaluator = Evaluator(site, ZoneIndex.build(site))
    skips = SkipLog(sys.stderr)
    progress = progress_for(sys.stderr, [s for g in groups for s in g], not args.no_progress)
    on_open = progress.opened if progress is not None else None
    arrivals = merge_arrivals([read_group(g, skips, reader_options, on_open) for g in groups])
    out_format = OutputFormat(args.format)
    observer = ReportObserver(site, evaluator, options.zones) if args.out else None
    with ExitStack() as stack:
        stream: TextIO = sys.stdout
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            events_path = args.out / f"events.{out_format.value}"
            stream = stack.enter_context(events_path.open("w", encoding="utf-8", newline=""))
        stats = run_replay(evaluator, arrivals, options, make_sink(out_format, stream, site),
                           observer, progress)
        stream.flush()
    if progress is not None:
        progress.finish()
    for line in skips.summary():
        sys.stderr.write(line + "\n")
    if args.out is not None and observer is not None:
        _write_outputs(args, observer, stats, skips)
    return 0


def _write_outputs(
    args: argparse.Namespace, observer: ReportObserver, stats: ReplayStats, skips: SkipLog
) -> None:
    from replay.plots import write_plots

    plots = write_plots(observer, args.out)
    context = ReplayContext(
        str(args.config), tuple(args.inputs), dict(skips.counts),
        tuple(([f"zones from {args.zones}"] if args.zones else []) + list(args.overrides)),
        tuple(p.name for p in plots),
    )
    written = [*write_report(args.out, build_report(observer, stats, context)), *plots]
    sys.stderr.write(
        f"fence replay: {stats.fixes_fed:,} fixes, {stats.events_written:,} events; wrote "
        f"events.{args.format}, " + ", ".join(p.name for p in written) + f" in {args.out}\n"
    )
