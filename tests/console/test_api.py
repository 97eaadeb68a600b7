"""API tests: a real engine (evaluator, SQLite store, recordings) with the console mounted,
over real HTTP on a free loopback port. Every endpoint, unauthenticated and malformed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fence.console.server import COOKIE
from fence.store import EventStore
from tests.console.support import OPERATOR, VIEWER, Client, Rig, fix, running_rig
from tests.support.polling import wait_until

GET_ENDPOINTS = [
    "/api/me", "/api/site", "/api/state", "/api/stream", "/api/alarms", "/api/alarms/history",
    "/api/events", "/api/terminals/T-001", "/api/zones/YARD", "/api/history?from=0&to=1000",
]


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with running_rig(tmp_path_factory.mktemp("console-api")) as running:
        yield running


@pytest.fixture
def op(rig: Rig) -> Client:
    client = Client(rig.base)
    assert client.login(*OPERATOR)[0] == 200
    return client


@pytest.fixture
def viewer(rig: Rig) -> Client:
    client = Client(rig.base)
    assert client.login(*VIEWER)[0] == 200
    return client


def now_ms() -> int:
    return int(time.time() * 1000)


def trespass(rig: Rig, op: Client, terminal: str) -> dict[str, Any]:
    """Walk ``terminal`` into the restricted tank farm (20 s ago); return the open alarm."""
    t = now_ms()
    rig.deliver(fix(terminal, 50, 130, t - 40_000), fix(terminal, 50, 50, t - 20_000))

    def found() -> dict[str, Any] | None:
        alarms = op.get("/api/alarms?type=trespass")[1]["alarms"]
        return next((a for a in alarms if a["terminal"] == terminal and a["zone"] == "TANK-1"), None)

    alarm: dict[str, Any] = wait_until(found)
    return alarm


# ---- access -------------------------------------------------------------------------

@pytest.mark.parametrize("path", GET_ENDPOINTS)
def test_every_get_endpoint_refuses_unauthenticated(rig: Rig, path: str) -> None:
    status, body = Client(rig.base).get(path)
    assert status == 401
    assert body == {"error": "log in first"}


def test_ack_and_logout_refuse_unauthenticated(rig: Rig) -> None:
    client = Client(rig.base)
    assert client.post("/api/alarms/x/ack", {"note": ""})[0] == 401
    assert client.get("/api/me")[0] == 401


def test_forged_or_expired_cookie_is_refused(rig: Rig) -> None:
    client = Client(rig.base)
    client.cookie = f"{COOKIE}=not-a-session"
    assert client.get("/api/state")[0] == 401
    client.cookie = "garbage;;=="
    assert client.get("/api/state")[0] == 401


def test_wrong_password_and_unknown_user_are_refused(rig: Rig) -> None:
    client = Client(rig.base)
    assert client.login(OPERATOR[0], "not-the-password") == (401, {"error": "wrong name or password"})
    assert client.login("nobody-here", "whatever-pass")[0] == 401
    assert client.cookie is None
    assert client.get("/api/me")[0] == 401


def test_login_sets_a_strict_http_only_expiring_cookie(rig: Rig) -> None:
    client = Client(rig.base)
    status, body, resp = client.request(
        "POST", "/api/login", json.dumps({"name": OPERATOR[0], "password": OPERATOR[1]}).encode(),
        {"Content-Type": "application/json"})
    assert status == 200
    assert body["name"] == OPERATOR[0] and body["role"] == "operator"
    cookie = resp.getheader("Set-Cookie")
    assert cookie is not None
    parts = [p.strip() for p in cookie.split(";")]
    assert parts[0].startswith(f"{COOKIE}=") and len(parts[0]) > 40
    assert "HttpOnly" in parts and "SameSite=Strict" in parts and "Path=/" in parts
    assert f"Max-Age={int(rig.console.config.session_ttl_s)}" in parts
    assert client.get("/api/me") == (200, {"name": OPERATOR[0], "role": "operator",
                                            "expires_s": body["expires_s"]})


@pytest.mark.parametrize(
    ("body", "ctype", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b'{"name": 5, "password": "x"}', "application/json", 400),
        (b'{"name": "a"}', "application/json", 400),
        (b'{"name": "a", "password": "b", "role": "operator"}', "application/json", 400),
        (b"name=a&password=b", "application/x-www-form-urlencoded", 415),
        (b"\xff\xfe", "application/json", 400),
        (b'{"name": "' + b"a" * 20_000 + b'", "password": "b"}', "application/json", 413),
    ],
)
def test_malformed_login_is_refused(rig: Rig, body: bytes, ctype: str, status: int) -> None:
    got, data, _ = Client(rig.base).request("POST", "/api/login", body, {"Content-Type": ctype})
    assert got == status
    assert isinstance(data["error"], str) and data["error"]


def test_logout_ends_the_session(rig: Rig) -> None:
    client = Client(rig.base)
    client.login(*VIEWER)
    stale = client.cookie
    assert client.post("/api/logout", {})[0] == 200
    client.cookie = stale
    assert client.get("/api/me")[0] == 401


def test_session_expires(tmp_path: Path) -> None:
    with running_rig(tmp_path, "session_ttl_s = 1\n") as short:
        client = Client(short.base)
        assert client.login(*OPERATOR)[0] == 200
        assert client.get("/api/me")[0] == 200
        time.sleep(1.2)
        assert client.get("/api/me")[0] == 401


def test_cross_origin_post_is_refused(rig: Rig) -> None:
    status, _, _ = Client(rig.base).request(
        "POST", "/api/login", json.dumps({"name": OPERATOR[0], "password": OPERATOR[1]}).encode(),
        {"Content-Type": "application/json", "Origin": "http://evil.example"})
    assert status == 403


def test_unknown_paths_methods_and_parameters(op: Client) -> None:
    assert op.get("/api/nothing")[0] == 404
    assert op.request("DELETE", "/api/alarms")[0] == 405
    assert op.post("/api/state", {})[0] == 405
    assert op.get("/api/state?x=1")[0] == 400
    assert op.get("/api/alarms?type=trespass&type=offline")[0] == 400


# ---- static assets ------------------------------------------------------------------------

def test_page_and_assets_are_served_locally(rig: Rig) -> None:
    client = Client(rig.base)
    for path, ctype in [("/", "text/html"), ("/static/app.js", "text/javascript"),
                        ("/static/app.css", "text/css")]:
        status, raw, resp = client.request("GET", path)
        assert status == 200, path
        assert resp.getheader("Content-Type", "").startswith(ctype)
        assert "default-src 'self'" in resp.getheader("Content-Security-Policy", "")
        text = raw.decode()
        # nothing from the internet: no absolute URLs to fetch anything from
        assert "http://" not in text and "https://" not in text and "//cdn" not in text
    assert client.get("/static/../server.py")[0] == 404


# ---- live state ---------------------------------------------------------------------------

def test_site_document_has_metric_zones_and_terminals(op: Client, rig: Rig) -> None:
    status, site = op.get("/api/site")
    assert status == 200
    assert site["name"] == "Console test park" and site["crs"] == rig.engine.site.crs
    zones = {z["id"]: z for z in site["zones"]}
    assert set(zones) == {"TANK-1", "YARD", "GATE"}
    assert zones["TANK-1"]["access"] == "restricted" and zones["TANK-1"]["kind"] == "tank-farm"
    assert zones["YARD"]["max_occupancy"] == 2
    shell = zones["TANK-1"]["polygons"][0][0]
    x0, y0 = rig.engine.index.project(*_lonlat(0, 0))
    assert abs(shell[0][0] - x0) < 0.05 and abs(shell[0][1] - y0) < 0.05
    assert {t["id"] for t in site["terminals"]} >= {"T-001", "V-101", "P-201"}


def _lonlat(x: float, y: float) -> tuple[float, float]:
    from tests.console.support import lonlat

    return lonlat(x, y)


def test_state_and_zone_counts_follow_fixes(op: Client, rig: Rig) -> None:
    t = now_ms()
    rig.deliver(fix("T-002", 200, 40, t - 10_000), fix("V-101", 220, 60, t - 10_000))

    def yard() -> dict[str, Any] | None:
        doc = op.get("/api/zones/YARD")[1]
        return doc if doc["count"] == 1 and len(doc["inside"]) == 2 else None

    doc = wait_until(yard)  # the vehicle is inside but not counted (count_kinds = person)
    assert {i["id"] for i in doc["inside"]} == {"T-002", "V-101"}
    state = op.get("/api/state")[1]
    assert state["type"] == "snapshot"
    rows = {r[0]: r for r in state["terminals"]}
    x, y = rig.engine.index.project(*_lonlat(200, 40))
    assert abs(rows["T-002"][1] - x) < 0.05 and abs(rows["T-002"][2] - y) < 0.05
    assert rows["T-002"][3] == 4 and rows["T-002"][5] == 1 and rows["T-002"][6] == ["YARD"]
    zones = {z[0]: z for z in state["zones"]}
    assert zones["YARD"][1] == 1


def test_terminal_document(op: Client, rig: Rig) -> None:
    t = now_ms()
    for i, x in enumerate((200, 205, 210)):  # the panel's track samples the live state
        t_fix = t - 12_000 + 6_000 * i
        rig.deliver(fix("T-001", x, 10, t_fix))
        doc = wait_until(lambda t_fix=t_fix: (d := op.get("/api/terminals/T-001")[1])["live"]
                       and d["live"]["fix_t_ms"] == t_fix and d)
    assert doc["name"] == "Tank crew 1" and doc["kind"] == "person" and doc["roles"] == ["tank-crew"]
    assert doc["live"]["quality"] == 4 and doc["live"]["online"] is True
    assert doc["live"]["zones"] == ["YARD"]
    assert [p[0] for p in doc["track"]] == [t - 12_000, t - 6_000, t]
    x, y = rig.engine.index.project(*_lonlat(210, 10))
    assert abs(doc["track"][-1][1] - x) < 0.05 and abs(doc["track"][-1][2] - y) < 0.05
    assert op.get("/api/terminals/NOPE-9")[0] == 404


def test_unknown_zone_is_404(op: Client) -> None:
    assert op.get("/api/zones/NOPE") == (404, {"error": "no such zone"})


# ---- alarms and acknowledgement -------------------------------------------------------

def test_trespass_alarm_ack_audit_trail_and_history(op: Client, viewer: Client, rig: Rig) -> None:
    alarm = trespass(rig, op, "P-201")
    assert alarm["severity"] == "critical" and alarm["ack"] is None
    assert alarm["terminal_name"] == "Visitor badge 201" and alarm["zone_name"] == "Tank farm 1"
    path = f"/api/alarms/{alarm['id']}/ack"

    assert viewer.post(path, {"note": "seen"}) == (403, {"error": "only an operator may acknowledge alarms"})
    assert op.post(path, {"note": 7})[0] == 400
    assert op.post(path, {"note": "x" * 2001})[0] == 400
    assert op.post(path, {"note": "ok", "operator": "someone-else"})[0] == 400
    status, acked = op.post(path, {"note": "  patrol sent to tank farm  "})
    assert status == 200
    assert acked["ack"]["operator"] == OPERATOR[0] and acked["ack"]["note"] == "patrol sent to tank farm"
    assert op.post(path, {"note": "again"})[0] == 409
    assert op.post("/api/alarms/no-such-event/ack", {"note": ""})[0] == 404

    # the acknowledgement is in the engine's store (audit trail), seen by a new session too
    store = EventStore(rig.engine.cfg.store_path)
    try:
        trail = store.acks(alarm["id"])
    finally:
        store.close()
    assert [(a.operator, a.note) for a in trail] == [(OPERATOR[0], "patrol sent to tank farm")]
    fresh = Client(rig.base)
    fresh.login(*VIEWER)
    open_ = {a["id"]: a for a in fresh.get("/api/alarms")[1]["alarms"]}
    assert open_[alarm["id"]]["ack"]["operator"] == OPERATOR[0]

    # filters
    assert alarm["id"] in {a["id"] for a in op.get("/api/alarms?zone=TANK-1")[1]["alarms"]}
    assert alarm["id"] not in {a["id"] for a in op.get("/api/alarms?zone=YARD")[1]["alarms"]}
    assert alarm["id"] not in {a["id"] for a in op.get("/api/alarms?type=offline,loitering")[1]["alarms"]}
    assert op.get("/api/alarms?type=fire")[0] == 400

    # walking out clears it: it leaves the open list and appears in history with its ack
    t = now_ms()
    rig.deliver(fix("P-201", 50, 140, t))
    wait_until(lambda: alarm["id"] not in {a["id"] for a in op.get("/api/alarms")[1]["alarms"]})
    history = op.get("/api/alarms/history?limit=50")[1]["alarms"]
    cleared = next(h for h in history if h["id"] == alarm["id"])
    assert cleared["cleared"]["state"] == "cleared" and cleared["cleared"]["terminal"] == "P-201"
    assert cleared["ack"]["note"] == "patrol sent to tank farm"
    assert op.post(f"/api/alarms/{cleared['cleared']['id']}/ack", {"note": ""})[0] == 409
    assert op.get("/api/alarms/history?limit=0")[0] == 400
    assert op.get("/api/alarms/history?limit=abc")[0] == 400


def test_event_queries(op: Client, rig: Rig) -> None:
    before = now_ms() - 60_000
    trespass(rig, op, "P-202")
    status, body = op.get(f"/api/events?since={before}&type=trespass&terminal=P-202")
    assert status == 200
    assert [e["state"] for e in body["events"]] == ["raised"]
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(before / 1000))
    assert op.get(f"/api/events?since={iso}&zone=TANK-1&terminal=P-202")[1]["events"] == body["events"]
    assert op.get(f"/api/events?until={before}&terminal=P-202")[1]["events"] == []
    assert len(op.get("/api/events?limit=1")[1]["events"]) == 1
    for bad in ["since=yesterday", "limit=0", "limit=99999", "type=nope",
                f"since={before + 10}&until={before}", "since=2026-13-01T00:00:00Z"]:
        assert op.get(f"/api/events?{bad}")[0] == 400, bad


# ---- history --------------------------------------------------------------------------------

def test_history_from_recordings_and_store(op: Client, rig: Rig) -> None:
    t = now_ms()
    rig.deliver(fix("P-203", 10, 160, t - 30_000), fix("P-203", 20, 170, t - 20_000),
                fix("P-203", 30, 180, t - 10_000))
    doc = wait_until(lambda: (d := op.get(f"/api/history?from={t - 40_000}&to={t}&terminal=P-203")[1])
                   ["tracks"].get("P-203") and len(d["tracks"]["P-203"]) == 3 and d)
    pts = doc["tracks"]["P-203"]
    assert [p[0] for p in pts] == [t - 30_000, t - 20_000, t - 10_000]
    x, y = rig.engine.index.project(*_lonlat(30, 180))
    assert abs(pts[-1][1] - x) < 0.05 and abs(pts[-1][2] - y) < 0.05 and pts[-1][3] == 4
    everyone = op.get(f"/api/history?from={t - 40_000}&to={t}")[1]
    assert "P-203" in everyone["tracks"] and everyone["recordings"] is True
    assert op.get("/api/history?from=0")[0] == 400
    assert op.get(f"/api/history?from={t}&to={t - 1}")[0] == 400
    assert op.get(f"/api/history?from={t - 90_000_000}&to={t}")[0] == 400
    assert op.get("/api/history?from=a&to=b")[0] == 400


# ---- live stream ----------------------------------------------------------------------------

def test_stream_sends_snapshot_then_batched_updates(op: Client, rig: Rig) -> None:
    import http.client

    conn = http.client.HTTPConnection(op.host, op.port, timeout=10)
    conn.request("GET", "/api/stream", headers={"Cookie": op.cookie or ""})
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Content-Type") == "text/event-stream"
    first = _next_data(resp)
    assert first["type"] == "snapshot" and "alarms" in first and "zones" in first
    t = now_ms()
    rig.deliver(fix("T-002", 250, 50, t))
    seen_delta = False
    deadline = time.monotonic() + 5
    while not seen_delta and time.monotonic() < deadline:
        msg = _next_data(resp)
        if msg["type"] == "delta":
            seen_delta = any(r[0] == "T-002" and r[4] == t for r in msg["terminals"])
    assert seen_delta
    conn.close()


def _next_data(resp: Any) -> dict[str, Any]:
    while True:
        line = resp.readline()
        assert line, "stream ended"
        if line.startswith(b"data: "):
            data: dict[str, Any] = json.loads(line[6:])
            return data


def test_repeated_wrong_passwords_are_throttled(rig: Rig) -> None:
    client = Client(rig.base)
    for _ in range(5):
        assert client.login("guessed-name", "guess-guess")[0] == 401
    status, body = client.login("guessed-name", "guess-guess")
    assert status == 429 and "too many failed logins" in body["error"]
    assert client.login(*VIEWER)[0] == 200  # other names are not locked out


def test_unreadable_users_file_fails_login_cleanly(tmp_path: Path) -> None:
    with running_rig(tmp_path) as broken:
        broken.console.users.path.write_text("{oops")
        status, body = Client(broken.base).login(*OPERATOR)
        assert status == 500 and body == {"error": "users file unreadable"}


def test_removing_a_user_or_changing_the_role_ends_their_sessions(rig: Rig) -> None:
    from fence.console.auth import Role, make_user

    users = rig.console.users
    users.put(make_user("temp-operator", Role.OPERATOR, "temp-pass-1"))
    client = Client(rig.base)
    assert client.login("temp-operator", "temp-pass-1")[0] == 200
    assert client.get("/api/me")[1]["role"] == "operator"
    users.put(make_user("temp-operator", Role.VIEWER, "temp-pass-1"))  # demoted
    assert client.get("/api/me")[0] == 401
    assert client.login("temp-operator", "temp-pass-1")[1]["role"] == "viewer"
    assert users.remove("temp-operator")
    assert client.get("/api/me")[0] == 401


def test_a_taken_port_is_a_clear_error(rig: Rig, tmp_path: Path) -> None:
    from fence.console.config import ConsoleConfig
    from fence.console.live import start_console

    taken = ConsoleConfig(port=rig.console.port, users_path=tmp_path / "u.json")
    with pytest.raises(OSError):
        start_console(taken, rig.engine.site, rig.engine.index, rig.engine.store, rig.engine.view, None)
