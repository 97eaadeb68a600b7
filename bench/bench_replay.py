"""Replay throughput and memory: N terminals at 1 Hz, from fix JSON Lines and from raw NMEA.

    python bench/bench_replay.py                 # quick: 2,000 terminals x 20 s (40k fixes)
    python bench/bench_replay.py --seconds 60    # longer slice
    python bench/bench_replay.py --full          # 2,000 terminals x 1,500 s (3M fixes)
    python bench/bench_replay.py --repeat 3      # best of 3 per stage (shared machines)

Terminals walk at about 1 m/s inside the site's bounding box (default: the demo site,
``fence.toml``), so zone lookups happen as in a park. Every stage runs in its own forked
process so its peak memory (ru_maxrss) is its own; rates are per CPU second of that
process (a shared machine stretches the wall clock far more than the CPU time);
resident memory is also sampled while the replay runs (at a quarter of the input and at
the end) to show it stays flat.

Stages per input kind, each printed with fixes/s and the ratio to the bare loop:
- bare: read and parse only (fix JSON: the reference ``parse_fix_line`` per line, and the
  fast path ``decode_fix_lines`` over 128 KiB chunks; NMEA: the decoder over each file);
- readers: the replay readers and the k-way merge, no evaluator (``ref``: the reference
  JSON Lines reader, line by line; else the fast reader; NMEA: the reference merge in
  Python and the C merge step);
- replay: readers + evaluator + JSON Lines events to /dev/null (``fence replay``), with the
  reference reader and with the fast one;
- replay+report: as replay, with the report observer (``fence replay --out``).
The track recording (the same fixes with arrival instants ``rx``, as the engine records
them) runs the readers and replay stages both ways too.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from events.evaluator import Evaluator  # noqa: E402
from gnss import encode  # noqa: E402
from gnss.decoder import NmeaDecoder  # noqa: E402
from gnss.fixjson import decode_fix_lines, parse_fix_line  # noqa: E402
from gnss.instant import format_instant, parse_instant  # noqa: E402
from replay.driver import ReplayOptions, run_replay  # noqa: E402
from replay.observe import ReportObserver  # noqa: E402
from replay.opening import InputSpec, buffer_bytes_for  # noqa: E402
from replay.readers import (  # noqa: E402
    READERS,
    REFERENCE_READERS,
    ArrivalStream,
    Reader,
    ReaderOptions,
    SkipLog,
    merge_arrivals,
    read_group,
)
from replay.sinks import JsonlSink  # noqa: E402
from zones.index import ZoneIndex  # noqa: E402
from zones.site import load_site  # noqa: E402

DEFAULT_CONFIG = REPO / "fence.toml"  # the demo site (36 zones)
START_MS = parse_instant("2026-11-28T02:00:00.000Z")
M_PER_DEG_LAT = 111_000.0


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


class _Walkers:
    """Terminals walking at ~1 m/s inside a bounding box (seeded, reflected at the edges)."""

    def __init__(self, n: int, bounds: tuple[float, float, float, float], seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.lon0, self.lat0, self.lon1, self.lat1 = bounds
        self.m_per_deg_lon = M_PER_DEG_LAT * math.cos(math.radians((self.lat0 + self.lat1) / 2))
        self.pos = [(self.rng.uniform(self.lon0, self.lon1), self.rng.uniform(self.lat0, self.lat1))
                    for _ in range(n)]
        self.heading = [self.rng.uniform(0, 2 * math.pi) for _ in range(n)]

    def step(self) -> list[tuple[float, float]]:
        """Move everyone by one second; returns (lon, lat) per terminal."""
        for k, (lon, lat) in enumerate(self.pos):
            h = self.heading[k] = self.heading[k] + self.rng.gauss(0, 0.3)
            lon += math.cos(h) / self.m_per_deg_lon
            lat += math.sin(h) / M_PER_DEG_LAT
            if not self.lon0 <= lon <= self.lon1 or not self.lat0 <= lat <= self.lat1:
                self.heading[k] += math.pi
                lon = min(max(lon, self.lon0), self.lon1)
                lat = min(max(lat, self.lat0), self.lat1)
            self.pos[k] = (lon, lat)
        return self.pos


def make_inputs(config: Path, terminals: int, seconds: int, folder: Path) -> tuple[Path, Path, list[Path]]:
    """Write the fix log (time order), its track recording (arrival 80-2,500 ms after the
    fix time, in fix order) and one NMEA file per terminal; return their paths."""
    site = load_site(config)
    import shapely

    bounds = tuple(float(b) for b in shapely.total_bounds([z.geometry for z in site.zones]))
    walkers = _Walkers(terminals, bounds)  # type: ignore[arg-type]
    ids = [f"T-{k:05d}" for k in range(terminals)]
    fix_path = folder / "fixes.jsonl"
    track_path = folder / "track.jsonl"
    nmea_paths = [folder / f"{tid}.nmea" for tid in ids]
    nmea_files = [open(p, "w", encoding="ascii") for p in nmea_paths]  # noqa: SIM115
    try:
        with open(fix_path, "w", encoding="utf-8") as fixes, \
                open(track_path, "w", encoding="utf-8") as track:
            for s in range(seconds):
                t_ms = START_MS + s * 1000
                t = format_instant(t_ms)
                positions = walkers.step()
                lines = [f'{{"t": "{t}", "terminal": "{tid}", "lat": {lat:.8f}, "lon": {lon:.8f}, '
                         f'"quality": 4, "acc": 0.05' for tid, (lon, lat) in zip(ids, positions, strict=True)]
                fixes.write("".join(line + "}\n" for line in lines))
                track.write("".join(
                    f'{line}, "rx": "{format_instant(t_ms + 80 + (k * 7919) % 2420)}"}}\n'
                    for k, line in enumerate(lines)))
                for handle, (lon, lat) in zip(nmea_files, positions, strict=True):
                    handle.write(encode.gga("GN", t_ms, lat, lon, 4, sats=24, hdop=0.7, alt_m=1012.0)
                                 + encode.rmc("GN", t_ms, lat, lon, mode="R"))
    finally:
        for handle in nmea_files:
            handle.close()
    return fix_path, track_path, nmea_paths


def _in_child(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``work`` in a forked child; its result plus the child's own peak RSS (MB)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        try:
            outcome = work()
        except BaseException as exc:  # report any failure to the parent, then leave
            outcome = {"error": repr(exc)}
        with os.fdopen(write_fd, "wb") as out:
            pickle.dump(outcome, out)
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as inp:
        result: dict[str, Any] = pickle.load(inp)
    _, _, usage = os.wait4(pid, 0)
    result["peak_mb"] = usage.ru_maxrss / 1024
    return result


def _timed(count: Callable[[Callable[[int], None]], int]) -> dict[str, Any]:
    samples: list[float] = []

    def sample(_seen: int) -> None:
        samples.append(_rss_mb())

    start, start_cpu = time.perf_counter(), time.process_time()
    n = count(sample)
    cpu = time.process_time() - start_cpu
    return {"fixes": n, "seconds": cpu, "wall_s": time.perf_counter() - start,
            "rss_samples": samples}


def bare_jsonl(path: Path) -> Callable[[Callable[[int], None]], int]:
    """Read and parse each line, nothing else."""
    def run(sample: Callable[[int], None]) -> int:
        n = 0
        with open(path, "rb") as handle:
            for n, line in enumerate(handle, 1):  # noqa: B007
                parse_fix_line(line)
                if n % 16384 == 0:
                    sample(n)
        sample(n)
        return n
    return run


def bare_jsonl_fast(path: Path) -> Callable[[Callable[[int], None]], int]:
    """Read 128 KiB chunks, split lines, parse them through the fast path, nothing else."""
    def run(sample: Callable[[int], None]) -> int:
        n = 0
        with open(path, "rb") as handle:
            rest = b""
            while data := handle.read(1 << 17):
                data = rest + data
                cut = data.rfind(b"\n") + 1
                rest = data[cut:]
                n += len(decode_fix_lines(data[:cut - 1].split(b"\n")).fixes)
                sample(n)
        return n
    return run


def bare_nmea(paths: list[Path]) -> Callable[[Callable[[int], None]], int]:
    """Decode each NMEA file in turn, nothing else."""
    def run(sample: Callable[[int], None]) -> int:
        n = 0
        for path in paths:
            decoder = NmeaDecoder(path.stem)
            with open(path, "rb") as handle:
                while chunk := handle.read(1 << 16):
                    n += len(decoder.feed(chunk))
            n += len(decoder.flush())
            sample(n)
        return n
    return run


def _groups(paths: list[Path]) -> list[tuple[InputSpec, ...]]:
    buffer_bytes = buffer_bytes_for(len(paths))
    return [(InputSpec(str(p), None, buffer_bytes),) for p in paths]


def readers_only(paths: list[Path], readers: dict[Any, Reader] = READERS, native_merge: bool = True,
                 ) -> Callable[[Callable[[int], None]], int]:
    """The replay readers and merge, no evaluator (batches of a single input as the driver
    takes them; merged inputs item by item); ``native_merge`` False: the reference merge."""
    def run(sample: Callable[[int], None]) -> int:
        skips = SkipLog(None)
        arrivals = merge_arrivals([read_group(g, skips, ReaderOptions(), readers=readers)
                                   for g in _groups(paths)], native=native_merge)
        n = 0
        if isinstance(arrivals, ArrivalStream):
            for batch in arrivals.batches():
                n += len(batch.fixes)
                if n % 16384 < len(batch.fixes):
                    sample(n)
        else:
            for n, _ in enumerate(arrivals, 1):
                if n % 16384 == 0:
                    sample(n)
        sample(n)
        return n
    return run


def full_replay(config: Path, paths: list[Path], report: bool, readers: dict[Any, Reader] = READERS,
                native_merge: bool = True) -> Callable[[Callable[[int], None]], int]:
    """Readers, evaluator, events as JSON Lines to /dev/null (and the report observer);
    ``native_merge`` False: the reference merge."""
    def run(sample: Callable[[int], None]) -> int:
        site = load_site(config)
        evaluator = Evaluator(site, ZoneIndex.build(site))
        observer = ReportObserver(site, evaluator, None) if report else None
        skips = SkipLog(None)
        arrivals = merge_arrivals([read_group(g, skips, ReaderOptions(), readers=readers)
                                   for g in _groups(paths)], native=native_merge)
        with open(os.devnull, "w", encoding="utf-8") as sink:
            stats = run_replay(evaluator, arrivals, ReplayOptions(), JsonlSink(sink, site),
                               observer, sample)
        return stats.fixes_fed
    return run


def _best(repeat: int, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The fastest of ``repeat`` runs, each in its own child (a shared machine is noisy)."""
    runs = [_in_child(work) for _ in range(max(repeat, 1))]
    good = [r for r in runs if "error" not in r]
    return min(good, key=lambda r: r["seconds"]) if good else runs[0]


def _row(name: str, result: dict[str, Any], base_rate: float | None) -> str:
    if "error" in result:
        return f"  {name:<18} failed: {result['error']}"
    rate = result["fixes"] / result["seconds"]
    ratio = f"{rate / base_rate:6.2f}x bare" if base_rate else "  (baseline)"
    rss = result["rss_samples"]
    flat = ""
    if len(rss) >= 4:
        quarter = rss[len(rss) // 4]
        flat = f"  RSS at 1/4 {quarter:6.1f} MB, at end {rss[-1]:6.1f} MB"
    return (f"  {name:<18} {result['fixes']:>10,} fixes {result['seconds']:7.2f} s CPU "
            f"({result['wall_s']:6.2f} s wall) {rate:>10,.0f} fixes/s {ratio}  "
            f"peak {result['peak_mb']:6.1f} MB{flat}")


def _reader_stages(name: str, args: argparse.Namespace, paths: list[Path], base_rate: float | None) -> None:
    """Readers and replay of JSON Lines inputs, with the reference reader and the fast one."""
    ref_readers = _best(args.repeat, lambda: _timed(readers_only(paths, REFERENCE_READERS)))
    print(_row(f"{name}readers ref", ref_readers, base_rate))
    print(_row(f"{name}readers", _best(args.repeat, lambda: _timed(readers_only(paths))), base_rate))
    ref = _best(args.repeat, lambda: _timed(full_replay(args.config, paths, False, REFERENCE_READERS)))
    print(_row(f"{name}replay ref", ref, base_rate))
    fast = _best(args.repeat, lambda: _timed(full_replay(args.config, paths, False)))
    print(_row(f"{name}replay", fast, base_rate))
    if "error" not in ref and "error" not in fast:
        print(f"  {'':<18} replay fast/ref: {ref['seconds'] / fast['seconds']:.2f}x "
              f"(the same evaluator, driver and output)")


def _jsonl_stages(args: argparse.Namespace, fix_path: Path, track_path: Path) -> None:
    """Fix JSON Lines and the track recording, reference and fast readers."""
    print("fix JSON Lines (ratios against the reference bare parse):")
    base = _best(args.repeat, lambda: _timed(bare_jsonl(fix_path)))
    base_rate = base["fixes"] / base["seconds"] if "error" not in base else None
    print(_row("bare parse ref", base, None))
    print(_row("bare parse fast", _best(args.repeat, lambda: _timed(bare_jsonl_fast(fix_path))), base_rate))
    _reader_stages("", args, [fix_path], base_rate)
    print("track recording (the same fixes with arrival instants):")
    _reader_stages("track ", args, [track_path], base_rate)
    report = _best(args.repeat, lambda: _timed(full_replay(args.config, [fix_path], True)))
    print(_row("replay+report", report, base_rate))


def _nmea_stages(args: argparse.Namespace, nmea_paths: list[Path]) -> None:
    """Per-terminal NMEA files merged: readers and replay with the reference merge (Python)
    and with the C merge step, in the same run."""
    print(f"raw NMEA ({len(nmea_paths):,} files, one per terminal, merged by time):")
    base = _best(args.repeat, lambda: _timed(bare_nmea(nmea_paths)))
    base_rate = base["fixes"] / base["seconds"] if "error" not in base else None
    print(_row("bare decode", base, None))
    print(_row("readers, ref merge", _best(args.repeat, lambda: _timed(readers_only(nmea_paths, native_merge=False))),
               base_rate))
    print(_row("readers+merge", _best(args.repeat, lambda: _timed(readers_only(nmea_paths))), base_rate))
    ref = _best(args.repeat, lambda: _timed(full_replay(args.config, nmea_paths, False, native_merge=False)))
    print(_row("replay, ref merge", ref, base_rate))
    fast = _best(args.repeat, lambda: _timed(full_replay(args.config, nmea_paths, False)))
    print(_row("replay", fast, base_rate))
    if "error" not in ref and "error" not in fast:
        print(f"  {'':<18} replay C merge/ref merge: {ref['seconds'] / fast['seconds']:.2f}x; "
              f"{fast['fixes'] / fast['seconds']:,.0f} fixes/s against the target 150,000")


def main() -> int:
    """Generate the slice, run every stage, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--terminals", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--full", action="store_true", help="1,500 s (3M fixes at 2,000 terminals)")
    parser.add_argument("--skip-nmea", action="store_true")
    parser.add_argument("--skip-jsonl", action="store_true",
                        help="only the NMEA stages (a --full run then fits a few minutes)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each stage this many times and keep the fastest")
    args = parser.parse_args()
    seconds = 1500 if args.full else args.seconds
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        t0 = time.perf_counter()
        fix_path, track_path, nmea_paths = make_inputs(args.config, args.terminals, seconds, Path(tmp))
        size_mb = fix_path.stat().st_size / 1e6
        print(f"slice: {args.terminals:,} terminals x {seconds} s at 1 Hz = "
              f"{args.terminals * seconds:,} fixes ({size_mb:.0f} MB JSON Lines), site "
              f"{load_site(args.config).name!r}; generated in {time.perf_counter() - t0:.1f} s")
        if not args.skip_jsonl:
            _jsonl_stages(args, fix_path, track_path)
        if not args.skip_nmea:
            _nmea_stages(args, nmea_paths)
    print(json.dumps({"targets_fixes_per_s": {"jsonl": 200_000, "nmea": 150_000}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
