"""Load run of the live engine through a real mosquitto: throughput, latency, memory.

    python bench/bench_live.py                       # short: 2,000 terminals, 20 s
    python bench/bench_live.py --terminals 10000 --duration-s 60

A publisher process sends N terminals at 1 Hz (NMEA GGA+RMC+GST per epoch, QoS 1) to a
mosquitto started for the run; the engine (this process) reads them with the MQTT input,
records, evaluates, stores and publishes events with the MQTT output. Bulk terminals walk
outside every zone (pure fix load); a few probe terminals step in and out of a restricted
zone every two seconds, so each step in raises a trespass: publish-to-alert latency is
the time from the probe's publish to the event's arrival on ``<prefix>/events/trespass``
at a subscriber here. Printed: offered and sustained rate, latency p50/p99, engine RSS
over time, and the ratio of the sustained rate to a bare evaluator loop on the same fixes
measured in the same run (the baseline).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pyproj import Transformer
from shapely.geometry import Point

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from events.evaluator import Evaluator  # noqa: E402
from fence.config import engine_config, site_slug  # noqa: E402
from fence.runtime.engine import Engine  # noqa: E402
from gnss import encode  # noqa: E402
from gnss.decoder import NmeaDecoder  # noqa: E402
from gnss.fix import Fix  # noqa: E402
from tests.support.broker import Broker  # noqa: E402
from tests.support.paths import SPEC_EXAMPLES  # noqa: E402
from zones.index import ZoneIndex  # noqa: E402
from zones.model import Site  # noqa: E402
from zones.site import load_site  # noqa: E402

PROBES = 20
TOPIC_ROOT = "bench"


@dataclass(frozen=True, slots=True)
class Plan:
    """Where bulk terminals walk and where probes step (lon/lat)."""

    bulk_origin: tuple[float, float]
    probe_in: tuple[float, float]
    probe_out: tuple[float, float]


def make_plan(site: Site) -> Plan:
    """Bulk terminals 300 m south of every zone; probes 3 m either side of a restricted
    zone's boundary (6 m per second: below a person's speed limit)."""
    index = ZoneIndex.build(site)
    to_lonlat = Transformer.from_crs(site.crs, "EPSG:4326", always_xy=True)
    restricted = [z for z in site.zones if z.restricted]
    if not restricted:
        raise SystemExit("bench: the site has no restricted zone for the probes")
    zone = restricted[0]
    inner = zone.metric.representative_point()
    edge = zone.metric.exterior.interpolate(zone.metric.exterior.project(inner)) \
        if zone.metric.geom_type == "Polygon" else zone.metric.boundary.interpolate(0.0)
    dx, dy = inner.x - edge.x, inner.y - edge.y
    norm = math.hypot(dx, dy) or 1.0
    ux, uy = dx / norm, dy / norm
    p_in = Point(edge.x + 3 * ux, edge.y + 3 * uy)
    p_out = Point(edge.x - 3 * ux, edge.y - 3 * uy)
    if not (index.signed_distance(zone.id, p_in.x, p_in.y) >= 1.0
            and index.signed_distance(zone.id, p_out.x, p_out.y) <= -1.0):
        raise SystemExit(f"bench: could not place probes across zone {zone.id}")
    minx, miny, maxx, _ = index_bounds(site)
    bulk = to_lonlat.transform((minx + maxx) / 2, miny - 300.0)
    return Plan(bulk, to_lonlat.transform(p_in.x, p_in.y), to_lonlat.transform(p_out.x, p_out.y))


def index_bounds(site: Site) -> tuple[float, float, float, float]:
    """Metric bounds of all zones."""
    xs0, ys0, xs1, ys1 = zip(*(z.metric.bounds for z in site.zones), strict=True)
    return min(xs0), min(ys0), max(xs1), max(ys1)


def epoch_payload(terminal: str, t_ms: int, lat: float, lon: float) -> bytes:
    """One receiver epoch: GGA + RMC + GST, RTK fixed."""
    return (
        encode.gga("GN", t_ms, lat, lon, 4, sats=28, hdop=0.7, alt_m=1012.0, geoid_sep_m=-28.4,
                   age_s=1.0, station="0133")
        + encode.rmc("GN", t_ms, lat, lon, speed_mps=1.2, course_deg=90.0, mode="R")
        + encode.gst("GN", t_ms, rms=0.03, major_m=0.02, minor_m=0.02, orient_deg=0.0,
                     lat_sd_m=0.02, lon_sd_m=0.02, alt_sd_m=0.04)
    ).encode()


def terminal_ids(n: int) -> list[str]:
    """Bulk ids then probe ids."""
    return [f"B-{i:05d}" for i in range(n)] + [f"P-{i:02d}" for i in range(PROBES)]


def publisher(host: str, port: int, prefix: str, n: int, duration_s: float, plan: Plan,
              start_wall_s: float, out: Any) -> None:
    """Child process: publish every terminal once per second; report probe step-in times."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-pub", clean_session=True)
    client.max_inflight_messages_set(5000)
    client.max_queued_messages_set(0)
    client.connect(host, port)
    client.loop_start()
    rng = random.Random(1)
    ids = terminal_ids(n)
    lon0, lat0 = plan.bulk_origin
    pos = {tid: (lat0 + rng.uniform(-0.002, 0.0), lon0 + rng.uniform(-0.003, 0.003)) for tid in ids}
    step_ins: list[tuple[str, int, float]] = []
    sent = 0
    lag_max = 0.0
    while time.time() < start_wall_s:
        time.sleep(0.001)
    for second in range(int(duration_s)):
        t_ms = int((start_wall_s + second) * 1000)
        for i, tid in enumerate(ids):
            due = start_wall_s + second + i / len(ids)
            wait = due - time.time()
            if wait > 0.002:
                time.sleep(wait)
            else:
                lag_max = max(lag_max, -wait)
            t_fix = t_ms + int(i / len(ids) * 1000)
            if tid.startswith("P-"):
                inside = second % 4 >= 2
                lon, lat = plan.probe_in if inside else plan.probe_out
                if inside and second % 4 == 2:
                    step_ins.append((tid, t_fix, time.time()))
            else:
                lat, lon = pos[tid]
                lat += rng.uniform(-2e-6, 2e-6)
                lon += rng.uniform(-2e-6, 2e-6)
                pos[tid] = (lat, lon)
            client.publish(f"{prefix}/{tid}/nmea", epoch_payload(tid, t_fix, lat, lon), qos=1)
            sent += 1
    client.loop_stop()
    client.disconnect()
    out.send({"sent": sent, "lag_max_s": lag_max, "step_ins": step_ins})


def subscriber(host: str, port: int, topic: str, stop: Any, out: Any) -> None:
    """Child process: receive the engine's events (the alert side of the latency)."""
    received: list[tuple[dict[str, Any], float]] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-sub", clean_session=True)
    client.on_message = lambda _c, _u, msg: received.append((json.loads(msg.payload), time.time()))
    client.connect(host, port)
    client.subscribe(topic, qos=1)
    client.loop_start()
    time.sleep(0.5)
    out.send("subscribed")
    stop.wait()
    time.sleep(0.5)
    client.loop_stop()
    out.send(received)


def rss_mb() -> float:
    """This process's resident memory in MB."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def baseline_rate(site: Site, plan: Plan, n: int, seconds: int = 3) -> float:
    """Fixes/s of a bare evaluator (decode included) on the same kind of stream."""
    ids = terminal_ids(n)
    lon0, lat0 = plan.bulk_origin
    decoders = {tid: NmeaDecoder(tid) for tid in ids}
    payloads = [
        (tid, epoch_payload(tid, 1_800_000_000_000 + s * 1000 + i, lat0 - 1e-4, lon0 + 1e-5 * (i % 100)))
        for s in range(seconds) for i, tid in enumerate(ids)
    ]
    ev = Evaluator(site)
    started = time.perf_counter()
    count = 0
    for tid, payload in payloads:
        for item in decoders[tid].feed(payload):
            if isinstance(item, Fix):
                ev.advance_to(item.t_ms)
                ev.feed(item)
                count += 1
    return count / (time.perf_counter() - started)


def production_broker(workdir: Path) -> Broker:
    """The test broker with a production save policy: the test fixture saves its database
    after every change (so QoS 1 sessions survive a SIGKILL), which caps a subscriber at a
    few hundred messages per second; a park's broker saves every 30 s and sends small
    packets at once (``set_tcp_nodelay``: no 40 ms Nagle/delayed-ACK stall on an alert),
    as in docs/deploy.md."""
    broker = Broker(workdir)
    text = broker.config_path.read_text()
    text = text.replace("autosave_interval 1\n", "autosave_interval 30\n")
    text = text.replace("autosave_on_changes true\n", "")
    broker.config_path.write_text(text + "set_tcp_nodelay true\n")
    broker.start()
    return broker


def default_config() -> Path:
    """The bundled demo site, or the first spec example while there is none."""
    demo = REPO / "fence.toml"
    return demo if demo.exists() else SPEC_EXAMPLES / "s11" / "fence.toml"


def main() -> int:
    """Run the load and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terminals", type=int, default=2000)
    parser.add_argument("--duration-s", type=float, default=20.0)
    parser.add_argument("--config", type=Path, default=default_config(),
                        help="the site (default: the bundled demo site)")
    args = parser.parse_args()
    site = load_site(args.config)
    plan = make_plan(site)
    work = Path(tempfile.mkdtemp(prefix="bench-live-"))
    broker = production_broker(work / "broker")
    slug = site_slug(site.name)
    prefix = f"fence/{slug}"  # the MQTT input's topics: fence/<site>/<terminal>/nmea
    cfg = engine_config({
        "inputs": [{"type": "mqtt", "host": broker.host, "port": broker.port,
                    "client_id": "bench-engine"}],
        "store": {"path": str(work / "events.db")},
        "tracks": {"dir": str(work / "tracks")},
        "runtime": {"state_dir": str(work / "state")},
        "outputs": [{"type": "mqtt", "host": broker.host, "port": broker.port,
                     "topic_prefix": f"{TOPIC_ROOT}/{slug}", "retain_state": False}],
    }, args.config, site.name)
    from fence.cmd_run import build_sources

    stored: list[tuple[dict[str, Any], float]] = []
    engine = Engine(site, cfg, sources=build_sources(site, cfg),
                    on_events=lambda recs: stored.extend((r.obj(), time.time()) for r in recs))
    sub_parent, sub_child = mp.Pipe()
    sub_stop = mp.Event()
    sub_proc = mp.Process(target=subscriber, args=(broker.host, broker.port,
                                                   f"{TOPIC_ROOT}/{slug}/events/trespass",
                                                   sub_stop, sub_child))
    sub_proc.start()
    sub_parent.recv()  # subscribed
    engine.start()
    base = baseline_rate(site, plan, min(args.terminals, 2000))
    parent, child = mp.Pipe()
    start_wall = time.time() + 1.0
    proc = mp.Process(target=publisher, args=(broker.host, broker.port, prefix, args.terminals,
                                              args.duration_s, plan, start_wall, child))
    proc.start()
    samples: list[tuple[float, int, float]] = []  # (s since start, fixes in, RSS MB)
    from fence.runtime.metrics import FIXES_IN

    report: dict[str, Any] | None = None
    while True:
        time.sleep(0.5)
        now = time.time() - start_wall
        samples.append((now, engine.metrics.total(FIXES_IN), rss_mb()))
        if report is None and parent.poll():
            report = parent.recv()
        if report is not None and (samples[-1][1] >= report["sent"] or now > args.duration_s + 60):
            break
    proc.join()
    time.sleep(1.0)
    engine.stop()
    sub_stop.set()
    received: list[tuple[dict[str, Any], float]] = sub_parent.recv()
    sub_proc.join()
    broker.close()
    lat = latencies(report["step_ins"], received)
    assert report is not None
    offered = args.terminals + PROBES
    total_in = samples[-1][1]
    last_s = next(t for t, n, _ in samples if n >= total_in)
    sustained = total_in / last_s
    behind_s = last_s - args.duration_s
    print(f"terminals {args.terminals} + {PROBES} probes at 1 Hz for {args.duration_s:g} s"
          f" ({os.cpu_count()} cores shared with the publisher and mosquitto)")
    print(f"offered {offered:,} fixes/s; published {report['sent']:,}; engine took in"
          f" {total_in:,}, the last {max(behind_s, 0.0):.1f} s after the publisher's end")
    kept_up = "kept up" if behind_s < 1.5 else "fell behind"
    ratio = (f"engine/baseline {sustained / base:.2f}" if behind_s >= 1.5
             else "the engine was not saturated: offer more to find its ceiling")
    print(f"sustained {sustained:,.0f} fixes/s ({kept_up}); bare decode+evaluator baseline"
          f" {base:,.0f} fixes/s ({ratio}); publisher max lag {report['lag_max_s']:.2f} s")
    for what, values in (("publish-to-alert (MQTT event received)", lat),
                         ("publish-to-store (event committed)", latencies(report["step_ins"], stored))):
        if len(values) >= 2:
            q = statistics.quantiles(values, n=100)
            print(f"{what} latency over {len(values)} trespass raises: p50 {q[49]:.1f} ms,"
                  f" p99 {q[98]:.1f} ms, max {max(values):.1f} ms")
        else:
            print(f"{what} latency: no probe alert matched")
    every = max(1, len(samples) // 12)
    print("engine RSS over time (s: MB): "
          + ", ".join(f"{t:.0f}: {mb:.0f}" for t, _, mb in samples[::every]))
    return 0


def latencies(step_ins: list[tuple[str, int, float]],
              received: list[tuple[dict[str, Any], float]]) -> list[float]:
    """Match the k-th step-in of a probe with its k-th raised trespass; milliseconds."""
    sent: dict[str, list[float]] = {}
    for tid, _t, wall in step_ins:
        sent.setdefault(tid, []).append(wall)
    got: dict[str, list[float]] = {}
    for obj, wall in received:
        if obj.get("state") == "raised" and str(obj.get("terminal", "")).startswith("P-"):
            got.setdefault(obj["terminal"], []).append(wall)
    out: list[float] = []
    for tid, walls in sent.items():
        for a, b in zip(walls, got.get(tid, []), strict=False):
            out.append((b - a) * 1000)
    return out


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
