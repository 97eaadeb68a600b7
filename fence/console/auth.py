"""Console users (scrypt-hashed passwords in a JSON file) and expiring sessions.

The users file is written atomically (temp file + rename) and re-read when it changes,
so ``fence users add`` takes effect on a running engine without a restart.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

_NAME = re.compile(r"^[\w.@-]{1,64}$")
MIN_PASSWORD_LEN = 8
_SCRYPT_N = 2**14
_SCRYPT_R = 8
_SCRYPT_P = 1


class Role(Enum):
    """What a console user may do: viewers watch, operators also acknowledge alarms."""

    VIEWER = "viewer"
    OPERATOR = "operator"


class UsersError(ValueError):
    """A bad users file, user name, role or password; the message says which and why."""


@dataclass(frozen=True, slots=True)
class User:
    """One console user with the scrypt parameters and hash of the password."""

    name: str
    role: Role
    salt: bytes
    digest: bytes
    n: int = _SCRYPT_N
    r: int = _SCRYPT_R
    p: int = _SCRYPT_P

    def __post_init__(self) -> None:
        check_name(self.name)
        if len(self.salt) < 16 or len(self.digest) < 32:
            raise UsersError(f"user {self.name}: salt or hash too short")

    def verify(self, password: str) -> bool:
        """Whether ``password`` is this user's password (constant-time compare)."""
        candidate = _scrypt(password, self.salt, self.n, self.r, self.p, len(self.digest))
        return hmac.compare_digest(candidate, self.digest)


def check_name(name: str) -> str:
    """Return ``name`` when it is a valid user name (1-64 letters, digits, ``._@-``)."""
    if not _NAME.match(name):
        raise UsersError(f"user name {name!r}: use 1-64 letters, digits, '.', '_', '@' or '-'")
    return name


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=2**26, dklen=dklen
    )


def make_user(name: str, role: Role, password: str) -> User:
    """A new user with a fresh random salt; refuses passwords shorter than 8 characters."""
    if len(password) < MIN_PASSWORD_LEN:
        raise UsersError(f"user {name}: password shorter than {MIN_PASSWORD_LEN} characters")
    salt = secrets.token_bytes(16)
    return User(check_name(name), role, salt, _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P, 32))


def _user_to_obj(user: User) -> dict[str, object]:
    return {
        "name": user.name,
        "role": user.role.value,
        "scrypt": {"n": user.n, "r": user.r, "p": user.p,
                   "salt": user.salt.hex(), "hash": user.digest.hex()},
    }


def _user_from_obj(obj: object, where: str) -> User:
    if not isinstance(obj, dict):
        raise UsersError(f"{where}: not an object")
    name, role, params = obj.get("name"), obj.get("role"), obj.get("scrypt")
    if not isinstance(name, str):
        raise UsersError(f"{where}: 'name' must be a string")
    try:
        role_value = Role(role)
    except ValueError:
        raise UsersError(f"{where} ({name}): role {role!r} is not viewer or operator") from None
    if not isinstance(params, dict):
        raise UsersError(f"{where} ({name}): 'scrypt' must be an object")
    try:
        return User(name, role_value, bytes.fromhex(params["salt"]), bytes.fromhex(params["hash"]),
                    int(params["n"]), int(params["r"]), int(params["p"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise UsersError(f"{where} ({name}): bad scrypt parameters: {exc}") from None


class UserFile:
    """The users file: ``{"version": 1, "users": [...]}``; re-read when its mtime changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int, int] | None = None
        self._users: dict[str, User] = {}

    def users(self) -> dict[str, User]:
        """All users by name (empty when the file does not exist yet)."""
        with self._lock:
            try:
                st = self.path.stat()
            except FileNotFoundError:
                self._stamp, self._users = None, {}
                return {}
            stamp = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)  # rewrites are renames
            if stamp != self._stamp:
                self._users = self._read()
                self._stamp = stamp
            return dict(self._users)

    def _read(self) -> dict[str, User]:
        where = str(self.path)
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsersError(f"{where}: cannot read users file: {exc}") from None
        if not isinstance(doc, dict) or doc.get("version") != 1 or not isinstance(doc.get("users"), list):
            raise UsersError(f"{where}: expected {{\"version\": 1, \"users\": [...]}}")
        found: dict[str, User] = {}
        for i, obj in enumerate(doc["users"]):
            user = _user_from_obj(obj, f"{where}: users[{i}]")
            if user.name in found:
                raise UsersError(f"{where}: users[{i}]: duplicate user {user.name}")
            found[user.name] = user
        return found

    def save(self, users: dict[str, User]) -> None:
        """Write all users atomically (mode 0600)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"version": 1, "users": [_user_to_obj(u) for u in sorted(users.values(), key=lambda u: u.name)]}
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def put(self, user: User) -> None:
        """Add or replace one user."""
        users = self.users()
        users[user.name] = user
        self.save(users)

    def remove(self, name: str) -> bool:
        """Remove a user; False when there was none of that name."""
        users = self.users()
        if users.pop(name, None) is None:
            return False
        self.save(users)
        return True

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when the name exists and the password is right, else None."""
        user = self.users().get(name)
        if user is None:
            # Spend the same time as a real check so names cannot be probed by timing.
            _scrypt(password, b"\0" * 16, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P, 32)
            return None
        return user if user.verify(password) else None


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in user until ``expires_s`` (monotonic-independent wall seconds)."""

    token: str
    name: str
    role: Role
    expires_s: float


class Sessions:
    """Session tokens in memory; each expires ``ttl_s`` after login (absolute)."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._by_token: dict[str, Session] = {}

    def open(self, user: User) -> Session:
        """A new session for a user who just logged in."""
        session = Session(secrets.token_urlsafe(32), user.name, user.role, self._clock() + self.ttl_s)
        with self._lock:
            self._purge()
            self._by_token[session.token] = session
        return session

    def get(self, token: str) -> Session | None:
        """The live session of a token, None when unknown or expired."""
        with self._lock:
            session = self._by_token.get(token)
            if session is None:
                return None
            if session.expires_s <= self._clock():
                del self._by_token[token]
                return None
            return session

    def close(self, token: str) -> None:
        """Log out (no error when the token is unknown)."""
        with self._lock:
            self._by_token.pop(token, None)

    def _purge(self) -> None:
        now = self._clock()
        for token in [t for t, s in self._by_token.items() if s.expires_s <= now]:
            del self._by_token[token]


DEMO_OPERATOR = "demo-operator"


def ensure_demo_operator(path: Path) -> tuple[str, str] | None:
    """For the demo: when the users file has no users, create an operator with a random
    password and return (name, password) to print; None when users already exist."""
    users = UserFile(path)
    if users.users():
        return None
    password = secrets.token_urlsafe(9)
    users.put(make_user(DEMO_OPERATOR, Role.OPERATOR, password))
    return DEMO_OPERATOR, password


class LoginThrottle:
    """Refuses logins for a (client, name) after ``max_failures`` wrong passwords within
    ``window_s``, until the oldest of them is ``window_s`` old (slows password guessing)."""

    def __init__(self, max_failures: int = 5, window_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[tuple[str, str], list[float]] = {}

    def wait_s(self, client: str, name: str) -> float:
        """Seconds until this client may try this name again (0: now)."""
        now = self._clock()
        with self._lock:
            recent = [t for t in self._failures.get((client, name), []) if t > now - self.window_s]
            self._failures[(client, name)] = recent
            if len(recent) < self.max_failures:
                return 0.0
            return recent[0] + self.window_s - now

    def failed(self, client: str, name: str) -> None:
        """Count one wrong password."""
        with self._lock:
            self._failures.setdefault((client, name), []).append(self._clock())
            if len(self._failures) > 10_000:  # bound memory under a flood of names
                self._failures.clear()

    def succeeded(self, client: str, name: str) -> None:
        """Forget the failures after a right password."""
        with self._lock:
            self._failures.pop((client, name), None)
