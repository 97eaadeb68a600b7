"""A real engine (fence.runtime.Engine: evaluator, SQLite store, track recording) with the
console mounted exactly as ``fence run`` mounts it, on a small site written to a temp dir.
Fixes are delivered through ``Engine.deliver`` like any input source does."""

from __future__ import annotations

import http.client
import json
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fence.config import engine_config
from fence.console import ConsoleConfig, ConsoleServer, start_console
from fence.console.auth import Role, UserFile, make_user
from fence.runtime.engine import Engine
from gnss.fix import Fix
from zones.site import load_site

LON0, LAT0 = 111.5, 40.65
M_PER_DEG_LAT = 111_000.0
M_PER_DEG_LON = 111_000.0 * math.cos(math.radians(LAT0))

OPERATOR = ("duty-operator", "operator-pass-1")
VIEWER = ("watch-viewer", "viewer-pass-1")


def lonlat(x_m: float, y_m: float) -> tuple[float, float]:
    """A local offset in metres from the site origin as lon/lat."""
    return LON0 + x_m / M_PER_DEG_LON, LAT0 + y_m / M_PER_DEG_LAT


def rect_lonlat(x0: float, y0: float, x1: float, y1: float) -> list[list[list[float]]]:
    """GeoJSON polygon coordinates of a local rectangle (metres from the origin)."""
    ring = [lonlat(x0, y0), lonlat(x1, y0), lonlat(x1, y1), lonlat(x0, y1), lonlat(x0, y0)]
    return [[list(p) for p in ring]]


def write_site(folder: Path, console_extra: str = "", update_ms: int = 200) -> Path:
    """A three-zone site (restricted tank farm, open yard with max 2, open gate) and config."""
    folder.mkdir(parents=True, exist_ok=True)
    features = [
        ("TANK-1", "Tank farm 1", {"access": "restricted", "permits": [{"roles": ["tank-crew"]}],
                                   "kind": "tank-farm", "max_dwell_s": 3600}, rect_lonlat(0, 0, 100, 100)),
        ("YARD", "Loading yard", {"max_occupancy": 2, "kind": "yard"}, rect_lonlat(150, 0, 300, 100)),
        ("GATE", "Main gate", {"kind": "gate"}, rect_lonlat(0, 150, 60, 200)),
    ]
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": zid, "name": name, **props},
         "geometry": {"type": "Polygon", "coordinates": coords}}
        for zid, name, props, coords in features]}
    (folder / "zones.geojson").write_text(json.dumps(doc), encoding="utf-8")
    (folder / "terminals.csv").write_text(
        "id,kind,roles,name\n"
        "T-001,person,tank-crew,Tank crew 1\n"
        "T-002,person,tank-crew,Tank crew 2\n"
        "V-101,vehicle,transport,Tanker truck 101\n"
        "P-201,person,visitor,Visitor badge 201\n"
        "P-202,person,visitor,Visitor badge 202\n"
        "P-203,person,visitor,Visitor badge 203\n",
        encoding="utf-8",
    )
    toml = folder / "fence.toml"
    toml.write_text(
        '[site]\nname = "Console test park"\nzones = "zones.geojson"\nterminals = "terminals.csv"\n'
        "[defaults]\nstill_s = 0\noffline_after_s = 30\n"
        '[store]\npath = "var/events.db"\n[tracks]\ndir = "var/tracks"\n'
        '[runtime]\nstate_dir = "var/state"\ntick_s = 0.2\n'
        f'[console]\nlisten = "127.0.0.1:0"\nupdate_ms = {update_ms}\n{console_extra}',
        encoding="utf-8",
    )
    return toml


def fix(terminal: str, x_m: float, y_m: float, t_ms: int | None = None, quality: int = 4) -> Fix:
    """An RTK fix at a local position, at ``t_ms`` (default: now)."""
    lon, lat = lonlat(x_m, y_m)
    return Fix(int(time.time() * 1000) if t_ms is None else t_ms, terminal, lat, lon, quality)


@dataclass
class Rig:
    """A running engine and its console."""

    engine: Engine
    console: ConsoleServer
    folder: Path

    @property
    def base(self) -> str:
        """The console URL."""
        return self.console.url.rstrip("/")

    def deliver(self, *fixes: Fix) -> None:
        """Deliver fixes as an input source would."""
        for f in fixes:
            self.engine.deliver(f, "test")


def add_users(path: Path) -> None:
    """The test operator and viewer."""
    users = UserFile(path)
    users.put(make_user(OPERATOR[0], Role.OPERATOR, OPERATOR[1]))
    users.put(make_user(VIEWER[0], Role.VIEWER, VIEWER[1]))


@contextmanager
def running_rig(folder: Path, console_extra: str = "", update_ms: int = 200) -> Iterator[Rig]:
    """Start engine + console on a fresh site; stop both after."""
    toml = write_site(folder, console_extra, update_ms)
    site = load_site(toml)
    cfg = engine_config(site.sections, toml, site.name)
    config = ConsoleConfig.from_site(site)
    add_users(config.users_path)
    engine = Engine(site, cfg)
    engine.start()
    console = start_console(config, site, engine.index, engine.store, engine.view, cfg.tracks.dir)
    try:
        yield Rig(engine, console, folder)
    finally:
        console.close()
        engine.stop()


class Client:
    """A tiny HTTP client keeping the session cookie (like a browser would)."""

    def __init__(self, base: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.cookie: str | None = None

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, Any, http.client.HTTPResponse]:
        """Send a request; returns (status, decoded JSON or raw bytes, response)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        hdrs = dict(headers or {})
        if self.cookie and "Cookie" not in hdrs:
            hdrs["Cookie"] = self.cookie
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        set_cookie = resp.getheader("Set-Cookie")
        if set_cookie:
            self.cookie = set_cookie.split(";")[0]
        ctype = resp.getheader("Content-Type", "")
        data: Any = json.loads(raw) if ctype.startswith("application/json") else raw
        return resp.status, data, resp

    def get(self, path: str) -> tuple[int, Any]:
        """GET, returns (status, JSON)."""
        status, data, _ = self.request("GET", path)
        return status, data

    def post(self, path: str, obj: Any) -> tuple[int, Any]:
        """POST a JSON body, returns (status, JSON)."""
        status, data, _ = self.request("POST", path, json.dumps(obj).encode(),
                                       {"Content-Type": "application/json"})
        return status, data

    def login(self, name: str, password: str) -> tuple[int, Any]:
        """Log in; keeps the cookie."""
        return self.post("/api/login", {"name": name, "password": password})
