"""Decode throughput: gnss.NmeaDecoder against pynmea2.parse + field access, same input.

The stream is a realistic park: many BeiDou/RTK terminals at 1 Hz, each epoch one
payload (as an MQTT message or a serial read) of RMC, VTG, GGA, 2 GSA, 2 GPS GSV,
2 BeiDou GSV, GST and ZDA. Prints sentences/s and fixes/s of both, and the ratio.
Times are CPU time of this process (``time.process_time``), so other jobs on a shared
machine disturb them less.
Usage: python bench/bench_decode.py [--terminals N] [--epochs N] [--repeat N]
"""

from __future__ import annotations

import argparse
import math
import time

import pynmea2

from gnss import encode
from gnss.decoder import NmeaDecoder
from gnss.fix import Fix

START_MS = 1_795_939_200_000  # 2026-11-28T08:00:00Z


def epoch_payload(terminal_index: int, k: int) -> bytes:
    """One terminal's sentences for epoch ``k``."""
    t_ms = START_MS + k * 1000
    lat = 40.65 + 0.0001 * terminal_index + 1e-6 * k
    lon = 111.51 + 0.0001 * terminal_index + 2e-6 * math.sin(k / 10)
    quality = 4 if (k + terminal_index) % 7 else 5
    mode = "R" if quality == 4 else "F"
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


def build_stream(terminals: int, epochs: int) -> list[tuple[int, bytes]]:
    """(terminal index, payload) in arrival order: every terminal once per second."""
    return [(i, epoch_payload(i, k)) for k in range(epochs) for i in range(terminals)]


def run_decoder(stream: list[tuple[int, bytes]], terminals: int) -> tuple[int, float]:
    """Fixes decoded and seconds taken by one NmeaDecoder per terminal."""
    decoders = [NmeaDecoder(f"T{i:03d}") for i in range(terminals)]
    fixes = 0
    start = time.process_time()
    for index, payload in stream:
        for item in decoders[index].feed(payload):
            if type(item) is Fix:
                fixes += 1
    for decoder in decoders:
        fixes += sum(1 for item in decoder.flush() if type(item) is Fix)
    return fixes, time.process_time() - start


def run_pynmea2(stream: list[tuple[int, bytes]]) -> tuple[int, float]:
    """Position sentences parsed and seconds taken by pynmea2.parse + field access."""
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


def main() -> None:
    """Run both decoders on the same stream and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--terminals", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    stream = build_stream(args.terminals, args.epochs)
    sentences = sum(payload.count(b"\n") for _i, payload in stream)
    size = sum(len(payload) for _i, payload in stream)
    print(f"stream: {args.terminals} terminals x {args.epochs} epochs, "
          f"{sentences} sentences, {size / 1e6:.2f} MB")
    best_ours = best_theirs = float("inf")
    fixes = baseline_fixes = 0
    for _ in range(args.repeat):
        fixes, seconds = run_decoder(stream, args.terminals)
        best_ours = min(best_ours, seconds)
        baseline_fixes, seconds = run_pynmea2(stream)
        best_theirs = min(best_theirs, seconds)
    print(f"gnss.NmeaDecoder : {sentences / best_ours:10.0f} sentences/s "
          f"{fixes / best_ours:9.0f} fixes/s ({fixes} fixes)")
    print(f"pynmea2 baseline : {sentences / best_theirs:10.0f} sentences/s "
          f"{baseline_fixes / best_theirs:9.0f} GGA/s")
    print(f"ratio            : {best_theirs / best_ours:10.2f} x")


if __name__ == "__main__":
    main()
