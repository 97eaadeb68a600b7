"""``fence simulate``: simulated BeiDou/RTK terminals moving through a site.

    fence simulate --config fence.toml [--terminals N] [--seed S] [--duration-s D]
        [--speed X|max] [--mqtt HOST:PORT | --pty | --tcp-listen PORT | --device PATH
        | --out FILE] [--format nmea|fix] [--scenario all-events]

The movement is seeded and the simulated clock starts at ``--start`` (default: now);
only the sending is paced by the wall clock. See docs/simulate.md.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from fence.config import site_slug
from fence.simulate.pacing import RunStats, publish
from fence.simulate.scenario import Scenario
from fence.simulate.simulator import Simulator
from fence.simulate.transports import (
    DEFAULT_BAUD,
    FileTransport,
    MqttOptions,
    MqttTransport,
    PasswordFileError,
    PerTerminalMqtt,
    Transport,
    TransportError,
    device_transport,
    pty_transport,
    read_passwords,
    tcp_transport,
)
from fence.simulate.wire import DEFAULT_FAULTS, NO_FAULTS, Format
from gnss.instant import InstantError, format_instant, parse_instant
from zones.site import SiteError, load_site

EXIT_USAGE = 2
PASSWORD_ENV = "FENCE_SIMULATE_MQTT_PASSWORD"


def _instant(text: str) -> int:
    try:
        return parse_instant(text)
    except InstantError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"speed must be a number > 0 or 'max', got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"speed must be > 0 or 'max', got {text!r}")
    return value


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) < 65536:
        raise argparse.ArgumentTypeError(f"expected a TCP port 0-65535, got {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}")
    return value


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def register(subparsers: Any) -> None:
    """Add the ``simulate`` subcommand."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "simulate",
        help="simulated BeiDou/RTK terminals for demos and load tests",
        description="Simulate terminals moving through the site and send their NMEA "
        "(or contract fix JSON) to MQTT, pseudo terminals, TCP ports, a device or a file.",
    )
    p.add_argument("--config", required=True, type=Path, help="the site file (fence.toml)")
    p.add_argument("--terminals", type=_positive_int, metavar="N",
                   help="number of terminals (default: the site's registered ones; more are "
                   "added as unregistered SIM-nnnnn persons)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--start", type=_instant, metavar="INSTANT",
                   help="simulated start instant (default: now, to the second)")
    p.add_argument("--duration-s", type=_seconds, metavar="D",
                   help="simulated seconds to run (default: endless; with --scenario, "
                   "the scenario's length)")
    p.add_argument("--speed", type=_speed, default=1.0, metavar="X",
                   help="simulated seconds per wall second, or 'max' (default 1)")
    p.add_argument("--step-ms", type=_positive_int, default=1000, metavar="MS",
                   help="epoch interval in ms, a multiple of 10 (default 1000)")
    p.add_argument("--format", choices=[f.value for f in Format], default="nmea",
                   help="payload: receiver NMEA or contract fix JSON (default nmea)")
    p.add_argument("--scenario", choices=[s.value for s in Scenario],
                   help="scripted scenario (all-events: every event type within minutes)")
    p.add_argument("--only", action="append", default=[], metavar="ID",
                   help="send only these terminals (repeatable or comma list); the others "
                   "still move")
    p.add_argument("--shard", type=_shard, metavar="K/M",
                   help="send every M-th terminal from the K-th (0-based): M processes with "
                   "K = 0..M-1 share a load run; the same seed gives each the same movement")
    p.add_argument("--no-faults", action="store_true",
                   help="no bad checksums or garbage bytes in the NMEA")
    p.add_argument("--stagger", action="store_true",
                   help="spread the terminals' epochs over the interval instead of aligning "
                   "them on whole seconds")
    p.add_argument("--explain", action="store_true",
                   help="print which terminal does what, then exit")
    to = p.add_mutually_exclusive_group()
    to.add_argument("--mqtt", type=_host_port, metavar="HOST:PORT",
                    help="publish to fence/<site>/<terminal>/nmea (or /fix) at QoS 1")
    to.add_argument("--pty", action="store_true",
                    help="one pseudo terminal per terminal; the slave paths are printed")
    to.add_argument("--tcp-listen", type=_port, metavar="PORT",
                    help="a gateway: terminal i on TCP port PORT+i (0: free ports)")
    to.add_argument("--device", type=Path, metavar="PATH",
                    help="write one terminal's NMEA to an existing serial device")
    to.add_argument("--out", metavar="FILE", help="write every message to FILE ('-': stdout)")
    p.add_argument("--topic-prefix", metavar="PREFIX",
                   help="MQTT topic prefix (default fence/<site name as a topic level>)")
    p.add_argument("--mqtt-user", metavar="NAME",
                   help=f"MQTT user name (password from ${PASSWORD_ENV})")
    p.add_argument("--mqtt-ca", type=Path, metavar="FILE", help="CA file: connect with TLS")
    p.add_argument("--mqtt-passwords", type=Path, metavar="FILE",
                   help="one connection per terminal, user name = terminal id, passwords "
                   "from FILE ('terminal:password' lines), as for a broker with per-terminal "
                   "credentials and an ACL")
    p.add_argument("--baud", type=_positive_int, default=DEFAULT_BAUD,
                   help=f"baud rate for --device (default {DEFAULT_BAUD})")
    p.add_argument("--listen-host", default="127.0.0.1",
                   help="address for --tcp-listen (default 127.0.0.1)")
    p.set_defaults(func=run)


def _fail(message: str) -> int:
    sys.stderr.write(f"fence simulate: {message}\n")
    return EXIT_USAGE


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _shard(text: str) -> tuple[int, int]:
    k, sep, m = text.partition("/")
    if not sep or not k.isdigit() or not m.isdigit() or not 0 <= int(k) < int(m):
        raise argparse.ArgumentTypeError(f"expected K/M with 0 <= K < M, got {text!r}")
    return int(k), int(m)


def _selected(args: argparse.Namespace, sim: Simulator) -> list[str]:
    ids = [r.terminal.id for r in sim.roles]
    wanted = [v.strip() for value in args.only for v in value.split(",") if v.strip()]
    unknown = [w for w in wanted if w not in ids]
    if unknown:
        raise ValueError(f"--only: no simulated terminal {', '.join(map(repr, unknown))}")
    chosen = wanted or ids
    if args.shard is not None:
        k, m = args.shard
        chosen = [t for i, t in enumerate(chosen) if i % m == k]
    return chosen


def _transport(args: argparse.Namespace, sim: Simulator, ids: list[str]) -> Transport:
    fmt = Format(args.format)
    if args.mqtt is not None:
        host, port = args.mqtt
        prefix = args.topic_prefix or f"fence/{site_slug(sim.site.name)}"
        options = MqttOptions(host, port, prefix, username=args.mqtt_user,
                              password=os.environ.get(PASSWORD_ENV), ca_file=args.mqtt_ca)
        _say(f"publishing to mqtt {host}:{port} {prefix}/<terminal>/{fmt.value}")
        if args.mqtt_passwords is not None:
            return PerTerminalMqtt(options, fmt, read_passwords(args.mqtt_passwords), ids)
        return MqttTransport(options, fmt)
    if args.pty or args.tcp_listen is not None:
        if args.pty:
            stream, paths = pty_transport(ids)
        else:
            stream, paths = tcp_transport(ids, args.listen_host, args.tcp_listen)
        for terminal, path in paths.items():
            print(f"{terminal} {path}", flush=True)
        return stream
    if args.device is not None:
        if len(ids) != 1:
            raise ValueError("--device carries one terminal: choose it with --only ID")
        return device_transport(ids[0], args.device, args.baud)
    if args.out in (None, "-"):
        return FileTransport(sys.stdout.buffer, owned=False)
    try:
        return FileTransport(open(args.out, "wb"), owned=True)  # noqa: SIM115 - closed by close()
    except OSError as exc:
        raise TransportError(f"--out {args.out}: {exc.strerror}") from None


def _explain(sim: Simulator, missing: tuple[str, ...]) -> None:
    for role in sim.roles:
        note = f"  {role.note}" if role.note else ""
        _say(f"{role.terminal.id:>10} {role.terminal.kind.value:<7} {role.behaviour.value:<7} "
             f"{role.talker}{note}")
    for text in missing:
        _say(f"not in this run: {text}")


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run(args: argparse.Namespace) -> int:
    """Run the simulator until the duration is over or SIGTERM/SIGINT; 2 on bad input."""
    try:
        site = load_site(args.config)
    except SiteError as exc:
        return _fail("bad site:\n  " + "\n  ".join(exc.messages))
    start_ms = args.start if args.start is not None else int(time.time()) * 1000
    scenario = Scenario(args.scenario) if args.scenario else None
    try:
        sim = Simulator(
            site, start_ms=start_ms, seed=args.seed, n_terminals=args.terminals,
            step_ms=args.step_ms, fmt=Format(args.format),
            faults=NO_FAULTS if args.no_faults else DEFAULT_FAULTS,
            stagger=args.stagger, scenario=scenario,
        )
        ids = _selected(args, sim)
    except ValueError as exc:
        return _fail(str(exc))
    if args.explain or scenario is not None:
        _explain(sim, sim.missing)
    if args.explain:
        return 0
    duration_s = args.duration_s if args.duration_s is not None else sim.duration_s
    until_ms = None if duration_s is None else start_ms + round(duration_s * 1000)
    try:
        transport = _transport(args, sim, ids)
    except (TransportError, PasswordFileError, ValueError) as exc:
        return _fail(str(exc))
    stop = threading.Event()
    _stop_on_signals(stop)
    _say(f"simulating {len(sim.roles)} terminals from {format_instant(start_ms)}"
         + ("" if duration_s is None else f" for {duration_s:g} s"))
    try:
        chosen = None if len(ids) == len(sim.roles) else ids
        stats = publish(sim.messages(until_ms, chosen), transport.send,
                        start_ms=start_ms, speed=args.speed, stop=stop)
    finally:
        transport.close()
    _report(stats)
    return 0


def _report(stats: RunStats) -> None:
    rate = stats.messages / stats.wall_s if stats.wall_s > 0 else 0.0
    _say(f"sent {stats.messages} messages ({stats.payload_bytes} bytes) covering "
         f"{stats.sim_s:.0f} s of simulated time in {stats.wall_s:.1f} s "
         f"({rate:.0f} messages/s, worst lag {stats.max_lag_s:.3f} s)")
