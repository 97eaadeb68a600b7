"""Load run of the live engine through a real mosquitto: throughput, latency, CPU, memory.

    python bench/bench_live.py                       # short: 2,000 terminals, 20 s
    python bench/bench_live.py --terminals 10000 --duration-s 60
    python bench/bench_live.py --terminals 4000 --input both   # paho vs lean, same run
    python bench/bench_live.py --terminals 10000 --output both  # paho vs lean output

A publisher process sends N terminals at 1 Hz (NMEA GGA+RMC+GST per epoch, one MQTT
message each, QoS 1) to a mosquitto started for the run; the engine (this process) reads
them with its MQTT input, records, evaluates, stores and publishes events with the MQTT
output. Bulk terminals stand (jittering by centimetres) outside every zone: pure fix
load; probe terminals step in and out of a restricted zone every two seconds, so each
step in raises a trespass: publish-to-alert latency is the time from the probe's publish
to the event's arrival on ``<prefix>/events/trespass`` at a subscriber process. The 20
probes publish spread over each second, like independent terminals; ``--burst`` sends
them together (a group stepping in: 20 alarms within 2 ms, each probe's latency then
includes the alarms raised just before it).

The publisher is cheap on purpose (the machine's cores are shared by the publisher,
mosquitto and the engine): its MQTT 3.1.1 PUBLISH packets are built from per-terminal
templates (only the time of day and the checksums change from second to second) and
sent a millisecond's worth per ``sendall``, pipelined at QoS 1; a thread drains the
PUBACKs. Probes are timestamped just before the send that carries them.

Printed: offered and sustained rate, latency p50/p99, CPU time of the engine process
(per fix and as a share of one core), of the publisher and of mosquitto, engine RSS
over time, the machine's load average, and the ratio of the sustained rate to a bare
decode+evaluator loop measured in the same run. ``--input both`` runs the paho-mqtt
input (the reference) and the lean one at the same offered rate and prints the ratios;
``--output both`` does the same for the MQTT output (paho's sink thread path against the
lean link with its fast lane).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import multiprocessing as mp
import operator
import os
import random
import resource
import socket
import statistics
import struct
import sys
import tempfile
import threading
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
from fence.config import JsonlOutput, MqttOutput, WebhookOutput, engine_config, site_slug  # noqa: E402
from fence.runtime.engine import Engine  # noqa: E402
from fence.runtime.metrics import FIXES_IN  # noqa: E402
from fence.sinks.mqttpaho import PahoMqttDeliverer  # noqa: E402
from fence.sinks.worker import Deliverer  # noqa: E402
from gnss import encode  # noqa: E402
from gnss.civil import MS_PER_DAY  # noqa: E402
from gnss.decoder import NmeaDecoder  # noqa: E402
from gnss.fix import Fix  # noqa: E402
from gnss.sources.mqtt import MqttSource, PahoMqttSource  # noqa: E402
from gnss.sources.mqttwire import varint  # noqa: E402
from tests.support.broker import Broker  # noqa: E402
from tests.support.paths import SPEC_EXAMPLES  # noqa: E402
from zones.index import ZoneIndex  # noqa: E402
from zones.model import Site  # noqa: E402
from zones.site import load_site  # noqa: E402

PROBES = 20
TOPIC_ROOT = "bench"
TICKS_PER_S = 1000
JITTER_VARIANTS = 4
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Plan:
    """Where bulk terminals stand and where probes step (lon/lat)."""

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


def terminal_ids(n: int, *, burst: bool = False) -> list[str]:
    """Bulk and probe ids in the order they publish within a second: the probes spread
    evenly over the second (independent terminals), or with ``burst`` all last (a group
    stepping in together: 20 alarms within 2 ms)."""
    bulk = [f"B-{i:05d}" for i in range(n)]
    probes = [f"P-{i:02d}" for i in range(PROBES)]
    if burst:
        return bulk + probes
    out: list[str] = []
    for k, probe in enumerate(probes):
        out += bulk[k * n // PROBES:(k + 1) * n // PROBES] + [probe]
    return out


MIDNIGHT_TIME = b"000000.00"
HEX = [f"{v:02X}".encode() for v in range(256)]


def xor_of(data: bytes) -> int:
    """The XOR of all bytes (the NMEA checksum of a sentence body)."""
    return functools.reduce(operator.xor, data, 0)


class EpochTemplate:
    """A QoS 1 PUBLISH of an epoch encoded once at 00:00:00.00 of a day, re-timed by
    splicing the time of day into each sentence and correcting its checksum (XOR is
    linear: no re-encoding); one bytes formatting per message."""

    __slots__ = ("fmt", "bases")

    def __init__(self, topic: bytes, payload_at_midnight: bytes) -> None:
        pieces: list[bytes] = []
        bases: list[int] = []
        for sentence in payload_at_midnight.split(b"\r\n"):
            if not sentence:
                continue
            cut = sentence.index(b"," + MIDNIGHT_TIME + b",") + 1
            star = sentence.rindex(b"*")
            bases.append(int(sentence[star + 1:], 16) ^ xor_of(MIDNIGHT_TIME))
            head, tail = sentence[:cut], sentence[cut + len(MIDNIGHT_TIME):star + 1]
            pieces.append(head.replace(b"%", b"%%") + b"%s" + tail.replace(b"%", b"%%") + b"%s\r\n")
        rest = len(topic) + 2 + len(payload_at_midnight)
        self.fmt = b"\x32" + varint(rest) + topic.replace(b"%", b"%%") + b"%s" + b"".join(pieces)
        self.bases = tuple(bases)

    def packet(self, packet_id: bytes, time_text: bytes, time_xor: int) -> bytes:
        """The PUBLISH at the time of day ``time_text`` (whose bytes XOR to ``time_xor``)."""
        b0, b1, b2 = self.bases
        return self.fmt % (packet_id, time_text, HEX[b0 ^ time_xor], time_text, HEX[b1 ^ time_xor],
                           time_text, HEX[b2 ^ time_xor])


PACKET_IDS = [struct.pack("!H", pid) for pid in range(65536)]


def check_template() -> None:
    """A re-timed template is byte for byte the epoch encoded at that time."""
    day_ms = 1_800_000_000_000 // MS_PER_DAY * MS_PER_DAY
    topic = struct.pack("!H", 12) + b"fence/x/T-1/"
    for t_ms in (day_ms + 1_234, day_ms + 45_296_780, day_ms + MS_PER_DAY - 10):
        text = encode.time_field(t_ms).encode()
        got = EpochTemplate(topic, epoch_payload("T-1", day_ms, 40.6, 111.5)).packet(b"\x00\x07", text, xor_of(text))
        payload = epoch_payload("T-1", t_ms, 40.6, 111.5)
        want = b"\x32" + varint(len(topic) + 2 + len(payload)) + topic + b"\x00\x07" + payload
        if got != want:
            raise SystemExit(f"bench: the re-timed template differs from the encoder at {t_ms}")


class RawPublisher:
    """An MQTT 3.1.1 publisher on a bare socket: QoS 1 PUBLISH packets pipelined, PUBACKs
    drained and counted by a thread (a PUBACK is 4 bytes)."""

    def __init__(self, host: str, port: int, client_id: str) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = (struct.pack("!H", 4) + b"MQTT" + bytes([4, 0x02]) + struct.pack("!H", 60)
                + struct.pack("!H", len(client_id)) + client_id.encode())
        self.sock.sendall(b"\x10" + varint(len(body)) + body)
        if self.sock.recv(4)[:2] != b"\x20\x02":
            raise SystemExit("bench: the broker refused the publisher")
        self.acked_bytes = 0
        self._drain = threading.Thread(target=self._read, daemon=True)
        self._drain.start()

    def _read(self) -> None:
        while data := self.sock.recv(1 << 20):
            self.acked_bytes += len(data)

    def wait_acked(self, sent: int, timeout_s: float) -> int:
        """Wait until the broker acknowledged ``sent`` messages; return how many it did."""
        deadline = time.monotonic() + timeout_s
        while self.acked_bytes < 4 * sent and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.acked_bytes // 4

    def close(self) -> None:
        """Say goodbye."""
        self.sock.sendall(b"\xe0\x00")
        self.sock.close()


def cpu_s() -> float:
    """CPU time (user + system) of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def proc_cpu_s(pid: int) -> float:
    """CPU time of another process (from /proc), 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def publisher(host: str, port: int, prefix: str, n: int, duration_s: float, plan: Plan,
              conn: Any, burst: bool) -> None:
    """Child process: build the templates, say ready, get the start time, publish every
    terminal once per second; report what was sent, acknowledged, the probes' step-in
    send times and its own CPU time."""
    rng = random.Random(1)
    ids = terminal_ids(n, burst=burst)
    lon0, lat0 = plan.bulk_origin
    spots = {tid: (lat0 + rng.uniform(-0.002, 0.0), lon0 + rng.uniform(-0.003, 0.003)) for tid in ids}
    topics = [struct.pack("!H", len(t)) + t for t in (f"{prefix}/{tid}/nmea".encode() for tid in ids)]

    def templates_for(day_ms: int) -> list[list[EpochTemplate]]:
        out = []
        for tid, topic in zip(ids, topics, strict=True):
            if tid.startswith("P-"):
                places = [(plan.probe_out[1], plan.probe_out[0]), (plan.probe_in[1], plan.probe_in[0])]
            else:
                lat, lon = spots[tid]
                places = [(lat + rng.uniform(-2e-7, 2e-7), lon + rng.uniform(-2e-7, 2e-7))
                          for _ in range(JITTER_VARIANTS)]
            out.append([EpochTemplate(topic, epoch_payload(tid, day_ms, lat, lon)) for lat, lon in places])
        return out

    started_cpu = cpu_s()
    day_templates: dict[int, list[list[EpochTemplate]]] = {}
    now_day = int(time.time() * 1000) // MS_PER_DAY
    day_templates[now_day] = templates_for(now_day * MS_PER_DAY)
    pub = RawPublisher(host, port, "bench-pub")
    conn.send("ready")
    start_wall_s: float = conn.recv()
    setup_cpu = cpu_s() - started_cpu
    times: dict[int, tuple[bytes, int]] = {}
    step_ins: list[tuple[str, int, float]] = []
    sent = 0
    packet_id = 0
    lag_max = 0.0
    while time.time() < start_wall_s:
        time.sleep(0.001)
    run_cpu = cpu_s()
    for second in range(int(duration_s)):
        t0_ms = int((start_wall_s + second) * 1000)
        probe_inside = second % 4 >= 2
        for tick in range(TICKS_PER_S):
            lo, hi = tick * len(ids) // TICKS_PER_S, (tick + 1) * len(ids) // TICKS_PER_S
            if lo == hi:
                continue
            t_fix = t0_ms + tick
            day = t_fix // MS_PER_DAY
            if day not in day_templates:
                day_templates[day] = templates_for(day * MS_PER_DAY)
            templates = day_templates[day]
            key = t_fix // 10
            if key not in times:
                text = encode.time_field(t_fix).encode()
                times[key] = (text, xor_of(text))
            text, text_xor = times[key]
            block = []
            probes_here = []
            for i in range(lo, hi):
                if ids[i].startswith("P-"):
                    variant = int(probe_inside)
                    if probe_inside and second % 4 == 2:
                        probes_here.append((ids[i], t_fix))
                else:
                    variant = second % JITTER_VARIANTS
                packet_id = packet_id % 65535 + 1
                block.append(templates[i][variant].packet(PACKET_IDS[packet_id], text, text_xor))
            due = start_wall_s + second + tick / TICKS_PER_S
            wait = due - time.time()
            if wait > 0.0005:
                time.sleep(wait)
            else:
                lag_max = max(lag_max, -wait)
            wall = time.time()
            step_ins += [(tid, t, wall) for tid, t in probes_here]
            pub.sock.sendall(b"".join(block))
            sent += len(block)
    run_cpu = cpu_s() - run_cpu
    acked = pub.wait_acked(sent, 60.0)
    pub.close()
    conn.send({"sent": sent, "acked": acked, "lag_max_s": lag_max, "step_ins": step_ins,
               "setup_cpu_s": setup_cpu, "run_cpu_s": run_cpu})


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
    """Fixes per CPU second of a bare decode + evaluator loop on the same kind of stream."""
    ids = terminal_ids(n)
    lon0, lat0 = plan.bulk_origin
    decoders = {tid: NmeaDecoder(tid) for tid in ids}
    payloads = [
        (tid, epoch_payload(tid, 1_800_000_000_000 + s * 1000 + i, lat0 - 1e-4, lon0 + 1e-5 * (i % 100)))
        for s in range(seconds) for i, tid in enumerate(ids)
    ]
    ev = Evaluator(site)
    started = time.process_time()
    count = 0
    for tid, payload in payloads:
        for item in decoders[tid].feed(payload):
            if isinstance(item, Fix):
                ev.advance_to(item.t_ms)
                ev.feed(item)
                count += 1
    return count / (time.process_time() - started)


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


@dataclass(frozen=True, slots=True)
class Result:
    """The figures of one load run."""

    input_kind: str
    output_kind: str
    burst: bool
    offered: int
    sent: int
    acked: int
    taken_in: int
    behind_s: float
    sustained: float
    alert_ms: list[float]
    store_ms: list[float]
    engine_cpu_s: float
    window_s: float
    publisher_cpu_s: float
    broker_cpu_s: float
    rss: list[tuple[float, float]]
    cpu_share: list[tuple[float, float]]
    lag_max_s: float
    load: tuple[tuple[float, float, float], tuple[float, float, float]]

    @property
    def us_per_fix(self) -> float:
        """Engine CPU microseconds per fix taken in."""
        return self.engine_cpu_s / max(self.taken_in, 1) * 1e6

    @property
    def kept_up(self) -> bool:
        """The engine had everything within 1.5 s of the publisher's end."""
        return self.behind_s < 1.5


class PahoOutputEngine(Engine):
    """The engine with the reference MQTT output (paho-mqtt, no fast lane)."""

    def deliverer_for(self, out: MqttOutput | WebhookOutput | JsonlOutput) -> Deliverer:
        if not isinstance(out, MqttOutput):
            return super().deliverer_for(out)
        return PahoMqttDeliverer(out, self.board, self._open_alarm_objs, clock_ms=self.ops_clock_ms)


def run_once(site: Site, config: Path, plan: Plan, terminals: int, duration_s: float,
             input_kind: str, output_kind: str = "lean", *, burst: bool = False) -> Result:
    """One load run with a fresh broker, engine state, input of ``input_kind`` and MQTT
    output of ``output_kind``."""
    load_before = os.getloadavg()
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
    }, config, site.name)
    from fence.cmd_run import build_sources

    sources = build_sources(site, cfg)
    if input_kind == "paho":
        sources = [PahoMqttSource(s.settings) if isinstance(s, MqttSource) else s for s in sources]
    stored: list[tuple[dict[str, Any], float]] = []
    sub_parent, sub_child = mp.Pipe()
    sub_stop = mp.Event()
    sub_proc = mp.Process(target=subscriber, args=(broker.host, broker.port,
                                                   f"{TOPIC_ROOT}/{slug}/events/trespass",
                                                   sub_stop, sub_child))
    sub_proc.start()
    sub_parent.recv()  # subscribed
    pub_parent, pub_child = mp.Pipe()
    proc = mp.Process(target=publisher, args=(broker.host, broker.port, prefix, terminals,
                                              duration_s, plan, pub_child, burst))
    proc.start()
    pub_parent.recv()  # templates built, connected
    engine_class = PahoOutputEngine if output_kind == "paho" else Engine
    engine = engine_class(site, cfg, sources=sources,
                    on_events=lambda recs: stored.extend((r.obj(), time.time()) for r in recs))
    engine.start()
    time.sleep(1.0)  # subscribed
    start_wall = time.time() + 0.5
    pub_parent.send(start_wall)
    while time.time() < start_wall:
        time.sleep(0.01)
    cpu0, broker0 = cpu_s(), proc_cpu_s(broker.pid or 0)
    samples: list[tuple[float, int, float, float]] = []  # (s since start, fixes in, RSS MB, CPU s)
    report: dict[str, Any] | None = None
    while True:
        time.sleep(0.5)
        now = time.time() - start_wall
        samples.append((now, engine.metrics.total(FIXES_IN), rss_mb(), cpu_s() - cpu0))
        if report is None and pub_parent.poll():
            report = pub_parent.recv()
        if report is not None and (samples[-1][1] >= report["sent"] or now > duration_s + 60):
            break
    broker_cpu = proc_cpu_s(broker.pid or 0) - broker0
    proc.join()
    time.sleep(1.0)
    engine.stop()
    sub_stop.set()
    received: list[tuple[dict[str, Any], float]] = sub_parent.recv()
    sub_proc.join()
    broker.close()
    assert report is not None
    total_in = samples[-1][1]
    t_last, _, _, engine_cpu = next(s for s in samples if s[1] >= total_in)
    cpu_share = [(t1, (c1 - c0) / (t1 - t0)) for (t0, _, _, c0), (t1, _, _, c1)
                 in zip(samples, samples[1:], strict=False)]
    return Result(
        input_kind, output_kind, burst, terminals + PROBES, report["sent"], report["acked"], total_in,
        t_last - duration_s, total_in / t_last,
        latencies(report["step_ins"], received), latencies(report["step_ins"], stored),
        engine_cpu, t_last, report["run_cpu_s"], broker_cpu,
        [(t, mb) for t, _, mb, _ in samples], cpu_share, report["lag_max_s"],
        (load_before, os.getloadavg()),
    )


def quantile(values: list[float], q: int) -> float:
    """The q-th percentile (1-99) of latencies in ms, never beyond the largest value
    (``inclusive``: the default method extrapolates past it on small samples); NaN
    without two values."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) >= 2 else math.nan


def quantiles(values: list[float]) -> str:
    """p50/p99/max of latencies in ms."""
    if len(values) < 2:
        return "no probe alert matched"
    return (f"p50 {quantile(values, 50):.1f} ms, p99 {quantile(values, 99):.1f} ms,"
            f" max {max(values):.1f} ms over {len(values)}")


def print_result(r: Result, duration_s: float, base: float) -> None:
    """The figures of one run."""
    load = " / ".join(f"{a:.2f} {b:.2f} {c:.2f}" for a, b, c in r.load)
    probes = "stepping in together" if r.burst else "spread over the second"
    print(f"== input {r.input_kind}, output {r.output_kind}: {r.offered - PROBES} terminals + {PROBES} probes"
          f" ({probes}) at 1 Hz for"
          f" {duration_s:g} s ({os.cpu_count()} cores shared with the publisher and mosquitto;"
          f" load average before / after: {load})")
    print(f"offered {r.offered:,} fixes/s; published {r.sent:,} (broker acknowledged {r.acked:,});"
          f" engine took in {r.taken_in:,}, the last {max(r.behind_s, 0.0):.1f} s after the"
          f" publisher's end; publisher max lag {r.lag_max_s * 1000:.0f} ms")
    ratio = (f"engine/baseline {r.sustained / base:.2f}" if not r.kept_up
             else "not saturated: offer more to find its ceiling")
    print(f"sustained {r.sustained:,.0f} fixes/s ({'kept up' if r.kept_up else 'FELL BEHIND'});"
          f" bare decode+evaluator baseline {base:,.0f} fixes per CPU s ({ratio})")
    print(f"publish-to-alert (MQTT event received): {quantiles(r.alert_ms)}")
    print(f"publish-to-store (event committed):     {quantiles(r.store_ms)}")
    print(f"CPU: engine {r.engine_cpu_s:.1f} s in {r.window_s:.1f} s = {r.engine_cpu_s / r.window_s:.0%}"
          f" of a core, {r.us_per_fix:.0f} us per fix; publisher {r.publisher_cpu_s / r.window_s:.0%};"
          f" mosquitto {r.broker_cpu_s / r.window_s:.0%}")
    every = max(1, len(r.cpu_share) // 12)
    print("engine CPU share over time (s: %): "
          + ", ".join(f"{t:.0f}: {share:.0%}" for t, share in r.cpu_share[::every]))
    every = max(1, len(r.rss) // 12)
    print("engine RSS over time (s: MB): " + ", ".join(f"{t:.0f}: {mb:.0f}" for t, mb in r.rss[::every]))


def main() -> int:
    """Run the load and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terminals", type=int, default=2000)
    parser.add_argument("--duration-s", type=float, default=20.0)
    parser.add_argument("--input", choices=("lean", "paho", "both"), default="lean",
                        help="the engine's MQTT input client (both: paho first, then lean)")
    parser.add_argument("--output", choices=("lean", "paho", "both"), default="lean",
                        help="the engine's MQTT output client (both: paho first, then lean)")
    parser.add_argument("--burst", action="store_true",
                        help="all probes step in within the same 2 ms (20 alarms at once) instead"
                             " of spread over the second")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the set this many times (alternating, for noisy machines)")
    parser.add_argument("--config", type=Path, default=default_config(),
                        help="the site (default: the bundled demo site)")
    args = parser.parse_args()
    check_template()
    site = load_site(args.config)
    plan = make_plan(site)
    base = baseline_rate(site, plan, min(args.terminals, 2000))
    inputs = ("paho", "lean") if args.input == "both" else (args.input,)
    outputs = ("paho", "lean") if args.output == "both" else (args.output,)
    results = []
    for _ in range(args.repeat):
        for input_kind in inputs:
            for output_kind in outputs:
                result = run_once(site, args.config, plan, args.terminals, args.duration_s,
                                  input_kind, output_kind, burst=args.burst)
                print_result(result, args.duration_s, base)
                results.append(result)
    if len(inputs) * len(outputs) == 2:
        print_ratios(results)
    return 0


def print_ratios(results: list[Result]) -> None:
    """Reference (paho) against lean, run by run, in the same process."""
    for paho, lean in zip(results[::2], results[1::2], strict=True):
        print(f"== lean vs paho ({paho.input_kind}/{paho.output_kind} -> {lean.input_kind}/"
              f"{lean.output_kind}), same run: engine CPU per fix {paho.us_per_fix:.0f} ->"
              f" {lean.us_per_fix:.0f} us ({paho.us_per_fix / lean.us_per_fix:.2f}x less); sustained"
              f" {paho.sustained:,.0f} -> {lean.sustained:,.0f} fixes/s; publish-to-alert p50"
              f" {quantile(paho.alert_ms, 50):.1f} -> {quantile(lean.alert_ms, 50):.1f} ms, p99"
              f" {quantile(paho.alert_ms, 99):.1f} -> {quantile(lean.alert_ms, 99):.1f} ms")


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
