"""Golden replay data: simulated recordings stored as test data, with their events.

The recordings are made once with the simulator (a pure function of site, seed and start)
and stored, so the golden tests do not move when the simulator's movement model changes.
Regenerate deliberately with ``python -m tests.replay.golden_data`` and review the diff
of the expected events before committing.

- ``sim-fixes.jsonl.gz``: contract fix JSON Lines of the all-events scenario on the s12
  site, 10 terminals, 420 s (the scenario's length), contract keys
  only, coordinates to 1e-8 degree.
- ``sim-nmea/<terminal>.nmea.gz``: the same run as raw NMEA (GGA/RMC/GST with the
  simulator's wire faults), one file per terminal (merged by time when replayed).
- ``sim-track.jsonl.gz``: a track recording of the same fixes with arrival instants
  (``rx``) 80-2,500 ms after the GNSS time, in arrival order: late fixes stay late.
- ``*.expected.jsonl``: the contract keys of the events each replay gives.
"""

from __future__ import annotations

import gzip
import json
import random
import sys
from pathlib import Path

from fence.simulate.scenario import Scenario
from fence.simulate.simulator import Simulator, fix_log_lines
from fence.simulate.wire import Format
from gnss.instant import format_instant, parse_instant
from tests.support.paths import SPEC_EXAMPLES
from zones.site import load_site

DATA = Path(__file__).resolve().parent / "data"
GOLDEN_SITE = SPEC_EXAMPLES / "s12" / "fence.toml"
START_MS = parse_instant("2026-11-28T01:00:00.000Z")  # 09:00 in Asia/Shanghai
SEED = 3
TERMINALS = 10
DURATION_S = 420.0
FIXES = DATA / "sim-fixes.jsonl.gz"
NMEA_DIR = DATA / "sim-nmea"
TRACK = DATA / "sim-track.jsonl.gz"


def _simulator(fmt: Format) -> Simulator:
    site = load_site(GOLDEN_SITE)
    return Simulator(site, start_ms=START_MS, seed=SEED, n_terminals=TERMINALS, fmt=fmt,
                     scenario=Scenario.ALL_EVENTS)


def _write_gz(path: Path, data: bytes) -> None:
    # mtime 0: the same content gives the same bytes
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(data)


CONTRACT_KEYS = ("t", "terminal", "lat", "lon", "quality", "acc")


def _compact(line: str) -> str:
    obj = json.loads(line)
    for key in ("lat", "lon"):
        if isinstance(obj.get(key), float):
            obj[key] = round(obj[key], 8)
    return json.dumps({k: obj[k] for k in CONTRACT_KEYS if k in obj})


def make_fixes() -> None:
    """The fix log of the scenario."""
    lines = fix_log_lines(_simulator(Format.FIX), DURATION_S)
    _write_gz(FIXES, "".join(_compact(line) + "\n" for line in lines).encode())


def make_nmea() -> None:
    """One NMEA file per terminal, as the simulated receivers send it."""
    NMEA_DIR.mkdir(exist_ok=True)
    per_terminal: dict[str, list[bytes]] = {}
    for msg in _simulator(Format.NMEA).messages(START_MS + round(DURATION_S * 1000)):
        per_terminal.setdefault(msg.terminal, []).append(msg.payload)
    for terminal, payloads in per_terminal.items():
        _write_gz(NMEA_DIR / f"{terminal}.nmea.gz", b"".join(payloads))


def make_track() -> None:
    """A recording: each fix with an arrival instant after its GNSS time, in arrival order."""
    rng = random.Random(SEED)
    records = []
    with gzip.open(FIXES, "rt") as handle:
        for n, line in enumerate(handle):
            obj = json.loads(line)
            delay_ms = rng.choice([80, 120, 150, 300, 900, 2500])
            records.append((parse_instant(obj["t"]) + delay_ms, n, obj))
    records.sort(key=lambda r: (r[0], r[1]))
    out = []
    for rx_ms, _n, obj in records:
        obj = dict(obj)
        obj["rx"] = format_instant(rx_ms)
        out.append(json.dumps(obj) + "\n")
    _write_gz(TRACK, "".join(out).encode())


def golden_inputs() -> dict[str, tuple[Path, ...]]:
    """Each golden replay by name, with its input files."""
    return {
        "sim-fixes": (FIXES,),
        "sim-track": (TRACK,),
        "sim-nmea": tuple(sorted(NMEA_DIR.glob("*.nmea.gz"))),
    }


def expected_path(name: str) -> Path:
    """The expected-events file of a golden input."""
    return DATA / f"{name}.expected.jsonl"


def make_expected() -> None:
    """Expected events of each golden input, from ``fence replay`` (review before commit)."""
    import argparse
    import contextlib
    import io

    from fence import cmd_replay
    from tests.replay.support import key_line, keys_of_lines

    parser = argparse.ArgumentParser(prog="fence")
    cmd_replay.register(parser.add_subparsers(dest="command", required=True))
    for name, inputs in golden_inputs().items():
        args = parser.parse_args(["replay", "--config", str(GOLDEN_SITE), *map(str, inputs)])
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            if args.func(args) != 0:
                raise SystemExit(f"replay of {name} failed")
        keys = keys_of_lines(out.getvalue().splitlines())
        expected_path(name).write_text("".join(key_line(k) + "\n" for k in keys))


def main() -> int:
    """Regenerate the recordings and their expected events."""
    DATA.mkdir(exist_ok=True)
    make_fixes()
    make_nmea()
    make_track()
    make_expected()
    return 0


if __name__ == "__main__":
    sys.exit(main())
