"""``fence run --config CONFIG``: the live engine until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from fence.config import ConfigError, EngineConfig, engine_config
from fence.runtime.engine import Engine, EngineError, Source
from fence.runtime.snapshot import SnapshotError
from fence.runtime.tracks import TrackError
from fence.store import StoreError
from zones.model import Site
from zones.site import SiteError, load_site

log = logging.getLogger("fence.run")


def register(subparsers: Any) -> None:
    """Add the ``run`` subcommand."""
    parser = subparsers.add_parser("run", help="run the live engine on a site's inputs")
    parser.add_argument("--config", required=True, type=Path, help="the site's fence.toml")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.set_defaults(func=run)


def load_config(path: Path) -> tuple[Site, EngineConfig]:
    """Load the site and the engine sections; raises SiteError or ConfigError."""
    site = load_site(path)
    return site, engine_config(site.sections, path, site.name)


def load_config_or_report(path: Path, prog: str) -> tuple[Site, EngineConfig] | None:
    """``load_config``, printing every problem on stderr as ``prog: message`` (None then)."""
    try:
        return load_config(path)
    except SiteError as exc:
        for message in exc.messages:
            print(f"{prog}: {message}", file=sys.stderr)
    except ConfigError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
    return None


def build_sources(site: Site, cfg: EngineConfig) -> list[Source]:
    """One source per ``[[inputs]]`` table (gnss.sources.config)."""
    from gnss.sources.config import ConfigError as SourceConfigError
    from gnss.sources.config import source_from_config

    sources: list[Source] = []
    for i, table in enumerate(cfg.inputs):
        try:
            sources.append(source_from_config(table, cfg.slug, cfg.input_where(i)))
        except SourceConfigError as exc:
            raise ConfigError(str(exc)) from None
    return sources


def setup_logging(level: str) -> None:
    """Log lines to stderr with a time stamp."""
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def run(args: argparse.Namespace) -> int:
    """Run until SIGTERM/SIGINT; exit 2 on a bad site or config."""
    setup_logging(args.log_level)
    loaded = load_config_or_report(args.config, "fence run")
    if loaded is None:
        return 2
    site, cfg = loaded
    try:
        sources = build_sources(site, cfg)
    except ConfigError as exc:
        print(f"fence run: {exc}", file=sys.stderr)
        return 2
    if not sources:
        print(f"fence run: {args.config}: no [[inputs]]: nothing to listen to", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: shutting down", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        engine = Engine(site, cfg, sources=sources)
        engine.start()
    except (EngineError, StoreError, SnapshotError, TrackError, OSError) as exc:
        print(f"fence run: cannot start: {exc}", file=sys.stderr)
        return 1
    log.info("engine running on %s (%d inputs, %d outputs)", site.name, len(sources), len(cfg.outputs))
    try:
        console = start_console(site, cfg, engine)
    except (ConfigError, OSError) as exc:
        print(f"fence run: console: {exc}", file=sys.stderr)
        engine.stop()
        return 2
    while not stop.wait(0.5):
        if not engine.alive:
            log.error("evaluator thread ended unexpectedly")
            break
    if console is not None:
        console.close()
    engine.stop()
    log.info("stopped cleanly")
    return 0


def start_console(site: Site, cfg: EngineConfig, engine: Engine) -> Any:
    """Start the operator console when ``[console]`` is configured; returns its server."""
    if cfg.console is None:
        return None
    from fence.console.config import ConsoleConfig, ConsoleConfigError
    from fence.console.live import start_console as start

    try:
        config = ConsoleConfig.from_section(cfg.console, cfg.source.parent, str(cfg.source))
    except ConsoleConfigError as exc:
        raise ConfigError(str(exc)) from None
    server = start(config, site, engine.index, engine.store, engine.view, cfg.tracks.dir)
    log.info("operator console on %s", server.url)
    return server
