"""``fence demo``: the engine on the bundled demo site with simulated terminals.

No external server: the simulator plays in-process through the NMEA decoder into the
runtime, events go to the SQLite store (the ``[store]`` of the config, under ./var/) and
to a JSON Lines file, alerts are printed as they happen, and the operator console starts
when the config has a ``[console]`` section. The scripted scenario makes every event type
happen; ``--free`` lets the terminals roam instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import tzinfo
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from events.model import EventState
from fence.cmd_run import load_config_or_report, setup_logging, start_console
from fence.config import ConfigError, EngineConfig, JsonlOutput
from fence.runtime.clock import ClockMs, wall_clock_ms
from fence.runtime.engine import Engine
from fence.runtime.metrics import DECODE_ERRORS, FIXES_IN
from fence.runtime.simsource import SimulatorSource
from fence.simulate.scenario import Scenario
from fence.simulate.simulator import Simulator
from fence.simulate.wire import Format
from fence.store import EventRecord
from gnss.instant import to_datetime
from zones.model import Site

SEVERITY_COLOUR = {"critical": "31", "major": "33", "minor": "36"}


def register(subparsers: Any) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser("demo", help="the engine on the demo site with simulated terminals")
    parser.add_argument("--config", type=Path, default=Path("fence.toml"),
                        help="the demo site (default ./fence.toml)")
    parser.add_argument("--duration-s", type=float, default=None,
                        help="simulated seconds to run (default: the scripted scenario's length,"
                             " or 120 with --free)")
    parser.add_argument("--terminals", type=int, default=None,
                        help="number of simulated terminals (default: the site's terminals)")
    parser.add_argument("--speed", type=float, default=2.0,
                        help="simulated seconds per wall second (default 2: the scripted"
                             " scenario of the demo site, about 6 simulated minutes, plays in"
                             " about 3; 1 is real time)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--free", action="store_true",
                        help="free-roaming terminals instead of the all-events script")
    parser.add_argument("--keep", action="store_true",
                        help="keep the store and recordings of the last run (default: start clean)")
    parser.add_argument("--no-console", action="store_true", help="do not start the console")
    parser.add_argument("--log-level", default="ERROR",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.set_defaults(func=run)


def demo_config(cfg: EngineConfig, no_console: bool) -> EngineConfig:
    """The site's engine config made self-contained: no inputs (the simulator plays in
    process), no network sinks; the JSON Lines outputs stay (one is added if none)."""
    files = tuple(o for o in cfg.outputs if isinstance(o, JsonlOutput))
    if not files:
        files = (JsonlOutput("demo-file", cfg.store_path.parent / "demo-events.jsonl"),)
    return dataclasses.replace(
        cfg, inputs=(), outputs=files, console=None if no_console else cfg.console
    )


def demo_console(site: Site, cfg: EngineConfig, engine: Engine) -> Any:
    """Start the console with a demo operator (printed) when the config has [console]."""
    if cfg.console is None:
        return None
    from fence.console.auth import ensure_demo_operator
    from fence.console.config import ConsoleConfig

    users = ConsoleConfig.from_section(cfg.console, cfg.source.parent, str(cfg.source)).users_path
    created = ensure_demo_operator(users)
    try:
        console = start_console(site, cfg, engine)
    except (ConfigError, OSError) as exc:
        print(f"fence demo: console not started: {exc}", flush=True)
        return None
    if console is not None:
        login = f"log in as {created[0]} / {created[1]}" if created else f"users in {users}"
        print(f"fence demo: operator console on {console.url} ({login})", flush=True)
    return console


def scaled_clock(start_ms: int, speed: float, wall: ClockMs = wall_clock_ms) -> ClockMs:
    """A clock that starts at ``start_ms`` and runs ``speed`` times as fast as the wall."""
    wall_start = wall()

    def clock() -> int:
        return start_ms + int((wall() - wall_start) * speed)

    return clock


def clear_state(cfg: EngineConfig) -> None:
    """Remove the store, recordings and snapshots of a previous demo run."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(cfg.store_path) + suffix).unlink(missing_ok=True)
    for out in cfg.outputs:
        if isinstance(out, JsonlOutput):
            out.path.unlink(missing_ok=True)
    for folder in (cfg.tracks.dir, cfg.runtime.state_dir):
        shutil.rmtree(folder, ignore_errors=True)


class AlertPrinter:
    """Prints each new event as one line, coloured by severity on a terminal."""

    def __init__(self, out: TextIO, tz: tzinfo) -> None:
        self.out = out
        self.tz = tz
        self.colour = out.isatty()
        self.counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def __call__(self, records: Sequence[EventRecord]) -> None:
        """Print new events (the engine's ``on_events`` callback)."""
        with self._lock:
            for rec in records:
                self.counts[(rec.type.value, rec.state.value)] += 1
                self.out.write(self.line(rec) + "\n")
            self.out.flush()

    def line(self, rec: EventRecord) -> str:
        """One alert line."""
        obj = rec.obj()
        who = obj.get("terminal_name") or rec.terminal or ""
        where = obj.get("zone_name") or rec.zone or ""
        count = f" {rec.count}/{rec.limit}" if rec.count is not None else ""
        state = "RAISED " if rec.state is EventState.RAISED else "cleared"
        local = to_datetime(rec.t_ms).astimezone(self.tz).strftime("%H:%M:%S")
        text = (f"{local}  {state}  {rec.type.value:<12} "
                f"{where:<22} {who}{count}").rstrip()
        severity = str(obj.get("severity", ""))
        if self.colour and rec.state is EventState.RAISED and severity in SEVERITY_COLOUR:
            return f"\x1b[{SEVERITY_COLOUR[severity]}m{text}\x1b[0m"
        return text


def run(args: argparse.Namespace) -> int:
    """Play the demo; returns 0 when it ran to the end (or was interrupted cleanly)."""
    setup_logging(args.log_level)
    if args.speed <= 0 or (args.duration_s is not None and args.duration_s <= 0):
        print("fence demo: --speed and --duration-s must be > 0", file=sys.stderr)
        return 2
    if args.terminals is not None and args.terminals <= 0:
        print("fence demo: --terminals must be > 0", file=sys.stderr)
        return 2
    loaded = load_config_or_report(args.config, "fence demo")
    if loaded is None:
        return 2
    site, cfg = loaded
    cfg = demo_config(cfg, args.no_console)
    if not args.keep:
        clear_state(cfg)
    start_ms = wall_clock_ms() // 1000 * 1000  # the simulator starts on a whole second
    sim = Simulator(
        site, start_ms=start_ms, seed=args.seed, n_terminals=args.terminals, fmt=Format.NMEA,
        stagger=True, scenario=None if args.free else Scenario.ALL_EVENTS,
    )
    duration_s = args.duration_s or sim.duration_s or 120.0
    until_ms = start_ms + int(duration_s * 1000)
    source = SimulatorSource(sim, until_ms=until_ms, speed=args.speed)
    printer = AlertPrinter(sys.stdout, site.timezone)
    engine = Engine(site, cfg, sources=[source], clock_ms=scaled_clock(start_ms, args.speed),
                    on_events=printer)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"fence demo: {site.name}: {len(sim.terminals)} terminals, {duration_s:.0f} simulated s"
          f" at {args.speed:g}x; store {cfg.store_path}", flush=True)
    if sim.missing:
        print(f"fence demo: this site cannot show: {', '.join(sim.missing)}", flush=True)
    engine.start()
    console = demo_console(site, cfg, engine)
    while not stop.is_set() and not source.join(0.2):
        continue  # join(0.2) waits; a signal sets stop
    time.sleep(min(1.5, 1.5 / args.speed))  # a last tick so timers due at the end fire
    if console is not None:
        console.close()
    engine.stop()
    summary = ", ".join(f"{t} {s} {n}" for (t, s), n in sorted(printer.counts.items()))
    print(f"fence demo: done: {sum(printer.counts.values())} events ({summary or 'none'})")
    errors = engine.metrics.by_label(DECODE_ERRORS)
    fixes = engine.metrics.total(FIXES_IN)
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(errors.items()))
    print(f"fence demo: {fixes} fixes; damaged input skipped and counted:"
          f" {sum(errors.values())} ({kinds or 'none'})")
    print(f"fence demo: query them with: fence events --config {args.config} --format table")
    return 0
