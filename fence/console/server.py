"""The console's HTTP server: static page, JSON API, Server-Sent Events, sessions.

Standard library only (``ThreadingHTTPServer``): a handful of operators connect, each
live stream holds one thread. Every asset is served from this package (no internet).
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from events.model import EventType
from fence.console.auth import LoginThrottle, Role, Session, Sessions, UserFile, UsersError
from fence.console.backend import END, AckError, AckRefused, ConsoleBackend, EventQuery
from fence.console.config import ConsoleConfig
from gnss.instant import InstantError, parse_instant

log = logging.getLogger("fence.console")

COOKIE = "fence_session"
MAX_BODY = 16 * 1024
KEEPALIVE_S = 5.0
_STATIC = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class HttpError(Exception):
    """An error answer: status and a message for the JSON body."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _load_static() -> dict[str, bytes]:
    folder = resources.files("fence.console").joinpath("static")
    return {name: folder.joinpath(name).read_bytes() for name in _STATIC}


def parse_time_param(name: str, text: str) -> int:
    """A time query parameter: epoch milliseconds, or an ISO 8601 instant with Z/offset."""
    if re.fullmatch(r"-?\d{1,15}", text):
        return int(text)
    try:
        return parse_instant(text)
    except InstantError as exc:
        raise HttpError(HTTPStatus.BAD_REQUEST, f"parameter {name}: {exc}") from None


def _single_params(query: str, allowed: set[str]) -> dict[str, str]:
    try:
        parsed = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise HttpError(HTTPStatus.BAD_REQUEST, "malformed query string") from None
    unknown = sorted(set(parsed) - allowed)
    if unknown:
        raise HttpError(HTTPStatus.BAD_REQUEST, f"unknown parameter(s): {', '.join(unknown)}")
    out = {}
    for key, values in parsed.items():
        if len(values) != 1:
            raise HttpError(HTTPStatus.BAD_REQUEST, f"parameter {key} given more than once")
        out[key] = values[0]
    return out


def _int_param(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    if not re.fullmatch(r"\d{1,6}", text) or not low <= int(text) <= high:
        raise HttpError(HTTPStatus.BAD_REQUEST, f"parameter {name} must be an integer {low}-{high}")
    return int(text)


def _types_param(params: dict[str, str]) -> frozenset[EventType] | None:
    text = params.get("type")
    if text is None or text == "":
        return None
    try:
        return frozenset(EventType(part) for part in text.split(","))
    except ValueError:
        names = ", ".join(t.value for t in EventType)
        raise HttpError(HTTPStatus.BAD_REQUEST, f"parameter type: use one or more of {names}") from None


class ConsoleServer:
    """The console web server. ``start()`` serves in a thread; ``close()`` stops it."""

    def __init__(
        self,
        config: ConsoleConfig,
        backend: ConsoleBackend,
        users_path: Path,
        on_close: Callable[[], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.config = config
        self.backend = backend
        self.users = UserFile(users_path)
        self.sessions = Sessions(config.session_ttl_s, clock) if clock else Sessions(config.session_ttl_s)
        self.throttle = LoginThrottle()
        self.static = _load_static()
        self.stopping = threading.Event()
        self._on_close = on_close
        self._httpd = _Httpd((config.host, config.port), _Handler, self)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="console-http",
                                        kwargs={"poll_interval": 0.2}, daemon=True)

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0)."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The base URL of the console."""
        host = self.config.host if ":" not in self.config.host else f"[{self.config.host}]"
        return f"http://{host}:{self.port}/"

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()
        log.info("console listening on %s", self.url)
        try:
            if not self.users.users():
                log.warning("console: no users in %s yet; add one with "
                            "'fence users add NAME --role operator'", self.users.path)
        except UsersError as exc:
            log.error("console: %s", exc)

    def live_session(self, token: str) -> Session | None:
        """The session of a token while it lasts and its user still exists with the same
        role (removing a user or changing their role ends their sessions at once)."""
        session = self.sessions.get(token)
        if session is None:
            return None
        try:
            user = self.users.users().get(session.name)
        except UsersError as exc:
            log.error("console: %s", exc)
            return None
        if user is None or user.role is not session.role:
            self.sessions.close(token)
            return None
        return session

    def close(self) -> None:
        """Stop serving, end live streams, and stop the backend's pump."""
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._on_close is not None:
            self._on_close()


class _Httpd(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 console: ConsoleServer) -> None:
        self.console = console
        super().__init__(address, handler)


_Route = Callable[["_Handler", re.Match[str], dict[str, str]], None]


class _Handler(BaseHTTPRequestHandler):
    server: _Httpd
    server_version = "fence-console"
    sys_version = ""

    # ---- plumbing -----------------------------------------------------------------
    @property
    def console(self) -> ConsoleServer:
        """The server this handler belongs to."""
        return self.server.console

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Request log lines go to the console logger at debug level."""
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        """Dispatch a GET."""
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        """Dispatch a POST."""
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802 - stdlib name
        """Other methods are not allowed."""
        self._send_error(HttpError(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed"))

    do_DELETE = do_PUT
    do_PATCH = do_PUT

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        try:
            for route_method, pattern, allowed, func in _ROUTES:
                match = pattern.fullmatch(split.path)
                if match is None:
                    continue
                if route_method != method:
                    raise HttpError(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed")
                func(self, match, _single_params(split.query, allowed))
                return
            raise HttpError(HTTPStatus.NOT_FOUND, "not found")
        except HttpError as exc:
            self._send_error(exc)
        except (BrokenPipeError, ConnectionResetError):
            return
        except Exception:
            log.exception("console request %s %s failed", method, split.path)
            self._send_error(HttpError(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error"))

    def _send(self, status: HTTPStatus, body: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in {**_SECURITY_HEADERS, **(headers or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, obj: Any, status: HTTPStatus = HTTPStatus.OK,
              headers: dict[str, str] | None = None) -> None:
        body = json.dumps(obj, separators=(",", ":")).encode("utf-8")
        self._send(status, body, "application/json", headers)

    def _send_error(self, exc: HttpError) -> None:
        try:
            self._json({"error": exc.message}, exc.status)
        except (BrokenPipeError, ConnectionResetError):
            return

    def _body(self) -> dict[str, Any]:
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise HttpError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send application/json")
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.isdigit():
            raise HttpError(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
        length = int(length_text)
        if length > MAX_BODY:
            raise HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body above {MAX_BODY} bytes")
        raw = self.rfile.read(length)
        try:
            obj = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise HttpError(HTTPStatus.BAD_REQUEST, "body is not valid JSON") from None
        if not isinstance(obj, dict):
            raise HttpError(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
        return obj

    def _check_origin(self) -> None:
        """Refuse cross-site POSTs (the cookie is SameSite=Strict as well)."""
        origin = self.headers.get("Origin")
        if origin is None:
            return
        host = self.headers.get("Host", "")
        if urlsplit(origin).netloc != host:
            raise HttpError(HTTPStatus.FORBIDDEN, "cross-origin request refused")

    def _token(self) -> str | None:
        raw = self.headers.get("Cookie")
        if not raw:
            return None
        try:
            cookie = SimpleCookie(raw)
        except CookieError:
            return None
        morsel = cookie.get(COOKIE)
        return morsel.value if morsel is not None else None

    def _session(self) -> Session:
        token = self._token()
        session = self.console.live_session(token) if token else None
        if session is None:
            raise HttpError(HTTPStatus.UNAUTHORIZED, "log in first")
        return session

    # ---- routes -----------------------------------------------------------------
    def static(self, match: re.Match[str], params: dict[str, str]) -> None:
        """GET / and the static assets."""
        name = match.group(1) or "index.html"
        if name not in _STATIC:
            raise HttpError(HTTPStatus.NOT_FOUND, "not found")
        self._send(HTTPStatus.OK, self.console.static[name], _STATIC[name])

    def login(self, match: re.Match[str], params: dict[str, str]) -> None:
        """POST /api/login: check the password, open a session, set the cookie."""
        self._check_origin()
        body = self._body()
        name, password = body.get("name"), body.get("password")
        if not isinstance(name, str) or not isinstance(password, str) or set(body) - {"name", "password"}:
            raise HttpError(HTTPStatus.BAD_REQUEST, "send {\"name\": string, \"password\": string}")
        client = self.client_address[0]
        wait_s = self.console.throttle.wait_s(client, name)
        if wait_s > 0:
            raise HttpError(HTTPStatus.TOO_MANY_REQUESTS,
                            f"too many failed logins; try again in {math.ceil(wait_s)} s")
        try:
            user = self.console.users.authenticate(name, password)
        except UsersError as exc:
            log.error("console users file: %s", exc)
            raise HttpError(HTTPStatus.INTERNAL_SERVER_ERROR, "users file unreadable") from None
        if user is None:
            self.console.throttle.failed(client, name)
            log.warning("console: failed login for %r from %s", name, client)
            raise HttpError(HTTPStatus.UNAUTHORIZED, "wrong name or password")
        self.console.throttle.succeeded(client, name)
        session = self.console.sessions.open(user)
        ttl = int(self.console.config.session_ttl_s)
        cookie = f"{COOKIE}={session.token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={ttl}"
        log.info("console: %s logged in as %s", user.name, user.role.value)
        self._json({"name": user.name, "role": user.role.value, "expires_s": session.expires_s},
                   headers={"Set-Cookie": cookie})

    def logout(self, match: re.Match[str], params: dict[str, str]) -> None:
        """POST /api/logout: end the session and expire the cookie."""
        self._check_origin()
        token = self._token()
        if token:
            self.console.sessions.close(token)
        expired = f"{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"
        self._json({"ok": True}, headers={"Set-Cookie": expired})

    def me(self, match: re.Match[str], params: dict[str, str]) -> None:
        """GET /api/me: who is logged in."""
        session = self._session()
        self._json({"name": session.name, "role": session.role.value, "expires_s": session.expires_s})

    def site(self, match: re.Match[str], params: dict[str, str]) -> None:
        """GET /api/site: the static site description."""
        self._session()
        self._json(self.console.backend.site_document())

    def state(self, match: re.Match[str], params: dict[str, str]) -> None:
        """GET /api/state: the full live snapshot."""
        self._session()
        self._json(self.console.backend.snapshot_message())

    def alarms(self, match: re.Match[str], params: dict[str, str]) -> None:
        """GET /api/alarms: open alarms, filtered by type and zone."""
        self._session()
        types = _types_param(params)
        zone = params.get("zone") or None
        found = [a for a in self.console.backend.open_alarms()
                 if (types is None or EventType(a["type"]) in types) and (zone is None or a["zone"] == zone)]
        self._json({"alarms": found})

    def alarm_history(self, match: re.Match[str], params: dict[str, str]) -> None:
        """GET /api/alarms/history: cleared alarms."""
        self._session()
        limit = _int_param(params, "limit", 200, 1, 2000)
        self._json({"alarms": self.console.backend.alarm_history(limit)})

    def ack(self, match: re.Match[str], params: dict[str, str]) -> None:
        """POST /api/alarms/{id}/ack: an operator acknowledges an alarm with a note."""
        self._check_origin()
        session = self._session()
        body = self._body()
        note = body.get("note", "")
        if not isinstance(note, str) or len(note) > 2000 or set(body) - {"note"}:
            raise HttpError(HTTPStatus.BAD_REQUEST, "send {\"note\": string of at most 2000 characters}")
        if session.role is not Role.OPERATOR:
            raise HttpError(HTTPStatus.FORBIDDEN, "only an operator may acknowledge alarms")
        event_id = unquote(match.group(1))
        try:
            obj = self.console.backend.acknowledge(event_id, session.name, note.strip())
        except AckError as exc:
            status = HTTPStatus.NOT_FOUND if exc.reason is AckRefused.UNKNOWN_EVENT else HTTPStatus.CONFLICT
            raise HttpError(status, str(exc)) from None
        log.info("console: %s acknowledged %s", session.name, event_id)
        self._json(obj)

    def events(self, match: re.Match[str], params: dict[str, str]) -> None:
        """GET /api/events: stored events by time, type, zone, terminal."""
        self._session()
        since = parse_time_param("since", params["since"]) if params.get("since") else None
        until = parse_time_param("until", params["until"]) if params.get("until") else None
        try:
            query = EventQuery(since, until, _types_param(params), params.get("zone") or None,
                               params.get("terminal") or None, _int_param(params, "limit", 500, 1, 10_000))
        except ValueError as exc:
            raise HttpError(HTTPStatus.BAD_REQUEST, str(exc)) from None
        self._json({"events": self.console.backend.query_events(query)})

    def terminal(self, match: re.Match[str], params: dict[str, str]) -> None:
        """GET /api/terminals/{id}: one terminal's details."""
        self._session()
        doc = self.console.backend.terminal_document(unquote(match.group(1)))
        if doc is None:
            raise HttpError(HTTPStatus.NOT_FOUND, "no such terminal")
        self._json(doc)

    def zone(self, match: re.Match[str], params: dict[str, str]) -> None:
        """GET /api/zones/{id}: one zone's details."""
        self._session()
        doc = self.console.backend.zone_document(unquote(match.group(1)))
        if doc is None:
            raise HttpError(HTTPStatus.NOT_FOUND, "no such zone")
        self._json(doc)

    def history(self, match: re.Match[str], params: dict[str, str]) -> None:
        """GET /api/history: recorded tracks and events of a time range."""
        self._session()
        if "from" not in params or "to" not in params:
            raise HttpError(HTTPStatus.BAD_REQUEST, "parameters from and to are required")
        from_ms = parse_time_param("from", params["from"])
        to_ms = parse_time_param("to", params["to"])
        try:
            doc = self.console.backend.history(from_ms, to_ms, params.get("terminal") or None)
        except ValueError as exc:
            raise HttpError(HTTPStatus.BAD_REQUEST, str(exc)) from None
        self._json(doc)

    def stream(self, match: re.Match[str], params: dict[str, str]) -> None:
        """GET /api/stream: Server-Sent Events, a snapshot then batched updates."""
        session = self._session()
        backend = self.console.backend
        sub = backend.subscribe()
        try:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Accel-Buffering", "no")
            self.end_headers()
            self.wfile.write(b"retry: 2000\n\n")
            self.wfile.flush()
            while not self.console.stopping.is_set():
                if self.console.live_session(session.token) is None:
                    self.wfile.write(b"event: logout\ndata: {}\n\n")
                    self.wfile.flush()
                    return
                message = sub.next(KEEPALIVE_S)
                if message == END:
                    return
                self.wfile.write(b": keepalive\n\n" if message is None else b"data: " + message + b"\n\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            return
        finally:
            backend.unsubscribe(sub)
            self.close_connection = True


_ROUTES: list[tuple[str, re.Pattern[str], set[str], _Route]] = [
    ("GET", re.compile(r"/(?:static/)?(|index\.html|app\.js|app\.css)"), set(), _Handler.static),
    ("POST", re.compile(r"/api/login"), set(), _Handler.login),
    ("POST", re.compile(r"/api/logout"), set(), _Handler.logout),
    ("GET", re.compile(r"/api/me"), set(), _Handler.me),
    ("GET", re.compile(r"/api/site"), set(), _Handler.site),
    ("GET", re.compile(r"/api/state"), set(), _Handler.state),
    ("GET", re.compile(r"/api/stream"), set(), _Handler.stream),
    ("GET", re.compile(r"/api/alarms"), {"type", "zone"}, _Handler.alarms),
    ("GET", re.compile(r"/api/alarms/history"), {"limit"}, _Handler.alarm_history),
    ("POST", re.compile(r"/api/alarms/([^/]{1,200})/ack"), set(), _Handler.ack),
    ("GET", re.compile(r"/api/events"), {"since", "until", "type", "zone", "terminal", "limit"},
     _Handler.events),
    ("GET", re.compile(r"/api/terminals/([^/]{1,200})"), set(), _Handler.terminal),
    ("GET", re.compile(r"/api/zones/([^/]{1,200})"), set(), _Handler.zone),
    ("GET", re.compile(r"/api/history"), {"from", "to", "terminal"}, _Handler.history),
]
