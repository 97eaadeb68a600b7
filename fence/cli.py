"""The ``fence`` command line: one subcommand module per job.

Each module in ``COMMANDS`` defines ``register(subparsers)``, which adds its parser and
sets ``func`` (a callable taking the parsed arguments and returning the exit status).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS: tuple[str, ...] = (
    "fence.cmd_simulate",
    "fence.cmd_decode",
    "fence.cmd_run",
    "fence.cmd_events",
    "fence.cmd_demo",
    "fence.cmd_users",
    "fence.cmd_replay",
    "fence.cmd_check",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(prog="fence", description="BeiDou/RTK geofence engine")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fence`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
