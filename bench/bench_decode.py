"""Decode throughput: the decoder's fast paths against its reference path, same input, same run.

Scenarios (each decoded by ``NmeaDecoder(fast=False)`` (reference), ``NmeaDecoder(native=False)``
(pure Python fast path) and ``NmeaDecoder()`` (fast path with the C extension ``gnss._scan``,
when built), interleaved, best of ``--repeat``; the outputs are checked equal):

- live: BeiDou receivers (talkers GN, BD, GB) sending one epoch per MQTT message or
  serial read: GGA + RMC + GST; one decoder per terminal, messages in arrival order.
- replay: one raw NMEA file per terminal (GGA + RMC per second, as bench_replay.py
  writes them), read in 64 KiB chunks; replay-20s: bench_replay.py's quick slice
  (2,000 files of 20 epochs, a fresh decoder each: its "bare decode" row without I/O).
- park: u-blox-like payloads of RMC, VTG, GGA, 2 GSA, 4 GSV, GST, ZDA per epoch (also
  timed against ``pynmea2.parse(check=True)`` + field access, the original baseline).
- corpus: the 40 real receiver logs of the shared corpus, each file at once.

Times are CPU time of this process (``time.process_time``), so other jobs on a shared
machine disturb them less; ratios compare runs made side by side.
Usage: python bench/bench_decode.py [--terminals N] [--epochs N] [--repeat N] [--skip-pynmea2]
       [--only live|replay|replay-20s|park|corpus]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pynmea2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gnss import encode  # noqa: E402
from gnss.decoder import NmeaDecoder  # noqa: E402
from gnss.errors import DecodeError  # noqa: E402
from gnss.fix import Fix  # noqa: E402
from gnss.native import run_cycle  # noqa: E402
from gnss.sources.comments import CommentStripper  # noqa: E402

START_MS = 1_795_939_200_000  # 2026-11-28T08:00:00Z
CORPUS = Path(os.environ.get("FENCE_SHARED", REPO.parent / "shared")) / "corpus" / "nmea" / "gpsd"
TALKERS = ("GN", "BD", "GB")

Stream = list[tuple[int, bytes]]
"""(terminal index, bytes handed to that terminal's decoder in one feed call)."""


def position(terminal_index: int, k: int) -> tuple[float, float]:
    """A terminal's latitude and longitude at epoch ``k`` (slow walk)."""
    lat = 40.65 + 0.0001 * terminal_index + 1e-6 * k
    lon = 111.51 + 0.0001 * terminal_index + 2e-6 * math.sin(k / 10)
    return lat, lon


def quality_of(terminal_index: int, k: int) -> int:
    """RTK fixed most of the time, float every seventh epoch."""
    return 4 if (k + terminal_index) % 7 else 5


def live_message(terminal_index: int, k: int) -> bytes:
    """One BeiDou receiver epoch: GGA + RMC + GST."""
    t_ms = START_MS + k * 1000
    lat, lon = position(terminal_index, k)
    quality = quality_of(terminal_index, k)
    talker = TALKERS[terminal_index % len(TALKERS)]
    return (
        encode.gga(talker, t_ms, lat, lon, quality, sats=24, hdop=0.7, alt_m=1012.0 + 0.01 * k)
        + encode.rmc(talker, t_ms, lat, lon, speed_mps=1.2, course_deg=87.5, mode=encode.mode_letter(quality))
        + encode.gst(talker, t_ms, rms=0.2, lat_sd_m=0.012, lon_sd_m=0.015, alt_sd_m=0.03)
    ).encode("ascii")


def park_payload(terminal_index: int, k: int) -> bytes:
    """One terminal's u-blox-like sentences for epoch ``k``."""
    t_ms = START_MS + k * 1000
    lat, lon = position(terminal_index, k)
    quality = quality_of(terminal_index, k)
    mode = encode.mode_letter(quality)
    talker = "GN"
    sats = [(i, 10 + i, 30 * i, 40) for i in range(1, 9)]
    parts = [
        encode.rmc(talker, t_ms, lat, lon, speed_mps=1.2, course_deg=87.5, mode=mode, nav_status="V"),
        encode.vtg(talker, course_deg=87.5, speed_mps=1.2, mode=mode),
        encode.gga(talker, t_ms, lat, lon, quality, sats=18, hdop=0.7, alt_m=1043.2,
                   geoid_sep_m=-10.1, age_s=1.0, station="0001"),
        encode.gsa(talker, fix_type=3, prns=[1, 3, 5, 7, 9, 11], pdop=1.2, hdop=0.7, vdop=0.9, system_id=1),
        encode.gsa(talker, fix_type=3, prns=[1, 2, 3, 4, 5], pdop=1.2, hdop=0.7, vdop=0.9, system_id=4),
        *encode.gsv("GP", sats),
        *encode.gsv("GB", sats),
        encode.gst(talker, t_ms, rms=0.2, major_m=0.02, minor_m=0.01, orient_deg=45.0,
                   lat_sd_m=0.012, lon_sd_m=0.015, alt_sd_m=0.03),
        encode.zda(talker, t_ms),
    ]
    return "".join(parts).encode("ascii")


def by_message(make: Callable[[int, int], bytes], terminals: int, epochs: int) -> Stream:
    """Every terminal once per second, one feed per epoch."""
    return [(i, make(i, k)) for k in range(epochs) for i in range(terminals)]


def by_file(terminals: int, epochs: int, chunk: int = 1 << 16) -> Stream:
    """One GGA + RMC file per terminal (bench_replay.py's NMEA input), fed in chunks."""
    stream: Stream = []
    for i in range(terminals):
        parts = []
        for k in range(epochs):
            t_ms = START_MS + k * 1000
            lat, lon = position(i, k)
            parts.append(encode.gga("GN", t_ms, lat, lon, 4, sats=24, hdop=0.7, alt_m=1012.0)
                         + encode.rmc("GN", t_ms, lat, lon, mode="R"))
        data = "".join(parts).encode("ascii")
        stream += [(i, data[s : s + chunk]) for s in range(0, len(data), chunk)]
    return stream


def corpus_stream() -> Stream:
    """The corpus logs (comment lines removed), one terminal per log, each at once."""
    logs = sorted(CORPUS.glob("*.log"))
    return [(i, CommentStripper().feed(path.read_bytes())) for i, path in enumerate(logs)]


MODES = ("reference", "python", "c")
"""Decoder paths: fast=False; fast, native=False; fast with the C extension."""


def run_decoder(stream: Stream, mode: str) -> tuple[list[Fix | DecodeError], float]:
    """Everything decoded and the CPU seconds taken, one decoder per terminal."""
    terminals = 1 + max(index for index, _payload in stream)
    decoders = [NmeaDecoder(f"T{i:04d}", fast=mode != "reference", native=mode == "c") for i in range(terminals)]
    out: list[Fix | DecodeError] = []
    start = time.process_time()
    for index, payload in stream:
        out += decoders[index].feed(payload)
    for decoder in decoders:
        out += decoder.flush()
    return out, time.process_time() - start


def run_pynmea2(stream: Stream) -> tuple[int, float]:
    """GGA sentences parsed and seconds taken by pynmea2.parse + field access."""
    fixes = 0
    start = time.process_time()
    for _index, payload in stream:
        for line in payload.decode("ascii").splitlines():
            msg = pynmea2.parse(line, check=True)
            kind = msg.sentence_type
            if kind == "GGA":
                _ = (msg.timestamp, msg.latitude, msg.longitude, msg.gps_qual, msg.num_sats,
                     msg.horizontal_dil, msg.altitude)
                fixes += 1
            elif kind == "RMC":
                _ = (msg.timestamp, msg.datestamp, msg.latitude, msg.longitude,
                     msg.spd_over_grnd, msg.true_course, msg.status)
            elif kind == "GST":
                _ = (msg.timestamp, msg.std_dev_latitude, msg.std_dev_longitude)
            elif kind == "ZDA":
                _ = (msg.timestamp, msg.day, msg.month, msg.year)
            elif kind == "VTG":
                _ = (msg.true_track, msg.spd_over_grnd_kmph)
    return fixes, time.process_time() - start


def compare(name: str, stream: Stream, repeat: int, pynmea2_too: bool = False) -> None:
    """Reference, Python fast and C fast decoders on ``stream``, interleaved; prints the figures."""
    sentences = sum(payload.count(b"\n") for _i, payload in stream)
    modes = MODES if run_cycle is not None else MODES[:2]
    best = dict.fromkeys(modes, math.inf)
    outputs: dict[str, list[Fix | DecodeError]] = {}
    best_pynmea2 = math.inf
    for _ in range(repeat):
        for mode in modes:
            outputs[mode], seconds = run_decoder(stream, mode)
            best[mode] = min(best[mode], seconds)
        if pynmea2_too:
            gga, seconds = run_pynmea2(stream)
            best_pynmea2 = min(best_pynmea2, seconds)
    if any(outputs[mode] != outputs["reference"] for mode in modes):
        raise SystemExit(f"{name}: fast and reference outputs differ")
    fixes = sum(1 for item in outputs["reference"] if type(item) is Fix)
    print(f"{name}: {len(stream):,} feeds, {sentences:,} sentences, {fixes:,} fixes (outputs equal)")
    labels = {"reference": "reference", "python": "fast (Python)", "c": "fast (C)"}
    for mode in modes:
        seconds = best[mode]
        print(f"  {labels[mode]:<14} {fixes / seconds:>10,.0f} fixes/s {seconds / fixes * 1e6:7.2f} us/fix "
              f"{sentences / seconds:>11,.0f} sentences/s")
    print(f"  fast (Python) / reference: {best['reference'] / best['python']:.2f} x")
    if "c" in best:
        print(f"  fast (C) / reference: {best['reference'] / best['c']:.2f} x, "
              f"fast (C) / fast (Python): {best['python'] / best['c']:.2f} x")
    else:
        print("  fast (C): extension not built (or FENCE_PURE_PYTHON=1)")
    fastest = best.get("c", best["python"])
    if pynmea2_too:
        print(f"  pynmea2    {gga / best_pynmea2:>10,.0f} GGA/s   fastest / pynmea2: {best_pynmea2 / fastest:.2f} x")


def main() -> None:
    """Run every scenario and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--terminals", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-pynmea2", action="store_true")
    parser.add_argument("--only", choices=("live", "replay", "replay-20s", "park", "corpus"))
    args = parser.parse_args()
    scenarios: list[tuple[str, str, Callable[[], Stream], bool]] = [
        ("live", "live (GGA+RMC+GST per message, talkers GN/BD/GB)",
         lambda: by_message(live_message, args.terminals, args.epochs), False),
        ("replay", "replay (GGA+RMC files, 64 KiB chunks)", lambda: by_file(args.terminals, args.epochs), False),
        ("replay-20s", "replay-20s (2,000 GGA+RMC files of 20 epochs)", lambda: by_file(2000, 20), False),
        ("park", "park (RMC VTG GGA 2xGSA 4xGSV GST ZDA per message)",
         lambda: by_message(park_payload, max(args.terminals // 6, 1), args.epochs), not args.skip_pynmea2),
        ("corpus", "corpus (40 real logs)", corpus_stream, False),
    ]
    for key, name, make, pynmea2_too in scenarios:
        if args.only in (None, key) and (key != "corpus" or CORPUS.is_dir()):
            compare(name, make(), args.repeat, pynmea2_too)


if __name__ == "__main__":
    main()
