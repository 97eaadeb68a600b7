"""Users file, password hashing, sessions and the login throttle (real files, real scrypt)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from fence.console.auth import (
    DEMO_OPERATOR,
    LoginThrottle,
    Role,
    Sessions,
    UserFile,
    UsersError,
    check_name,
    ensure_demo_operator,
    make_user,
)


class FakeClock:
    """A settable clock for expiry (the code under test takes the clock as a parameter)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_passwords_are_salted_scrypt_hashes_in_a_private_file(tmp_path: Path) -> None:
    users = UserFile(tmp_path / "users.json")
    users.put(make_user("duty-operator", Role.OPERATOR, "secret-pass-1"))
    users.put(make_user("second-operator", Role.OPERATOR, "secret-pass-1"))
    raw = users.path.read_text()
    assert "secret-pass-1" not in raw
    doc = json.loads(raw)
    a, b = doc["users"]
    assert a["scrypt"]["salt"] != b["scrypt"]["salt"] and a["scrypt"]["hash"] != b["scrypt"]["hash"]
    assert a["scrypt"]["n"] >= 2**14
    assert stat.S_IMODE(os.stat(users.path).st_mode) == 0o600
    assert users.authenticate("duty-operator", "secret-pass-1") is not None
    assert users.authenticate("duty-operator", "secret-pass-2") is None
    assert users.authenticate("nobody", "secret-pass-1") is None


def test_file_changes_are_picked_up_and_users_removed(tmp_path: Path) -> None:
    users = UserFile(tmp_path / "users.json")
    assert users.users() == {}
    other = UserFile(tmp_path / "users.json")  # e.g. `fence users add` while running
    other.put(make_user("watch-viewer", Role.VIEWER, "viewer-pass-1"))
    assert users.users()["watch-viewer"].role is Role.VIEWER
    assert other.remove("watch-viewer") and not other.remove("watch-viewer")
    assert users.users() == {}


@pytest.mark.parametrize("name", ["", "has space", "a/b", "x" * 65, "semi;colon"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(UsersError, match="user name"):
        check_name(name)


def test_short_password_is_refused() -> None:
    with pytest.raises(UsersError, match="shorter than 8"):
        make_user("duty-operator", Role.OPERATOR, "short")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "cannot read"),
        ('{"version": 2, "users": []}', "expected"),
        ('{"version": 1, "users": [{"name": "a", "role": "admin", "scrypt": {}}]}', "not viewer or operator"),
        ('{"version": 1, "users": [{"name": "a", "role": "viewer", "scrypt": {"n": 1}}]}', "bad scrypt"),
        ('{"version": 1, "users": [7]}', "not an object"),
    ],
)
def test_a_broken_users_file_is_reported_with_file_and_reason(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "users.json"
    path.write_text(content)
    with pytest.raises(UsersError, match=reason) as info:
        UserFile(path).users()
    assert str(path) in str(info.value)


def test_duplicate_user_in_file_is_refused(tmp_path: Path) -> None:
    users = UserFile(tmp_path / "users.json")
    users.put(make_user("duty-operator", Role.OPERATOR, "secret-pass-1"))
    doc = json.loads(users.path.read_text())
    doc["users"].append(doc["users"][0])
    users.path.write_text(json.dumps(doc))
    with pytest.raises(UsersError, match="duplicate user duty-operator"):
        UserFile(users.path).users()


def test_sessions_expire_after_their_ttl() -> None:
    clock = FakeClock()
    sessions = Sessions(60.0, clock)
    user = make_user("duty-operator", Role.OPERATOR, "secret-pass-1")
    session = sessions.open(user)
    assert sessions.get(session.token) == session
    clock.now += 59.9
    assert sessions.get(session.token) is not None
    clock.now += 0.1
    assert sessions.get(session.token) is None
    other = sessions.open(user)
    sessions.close(other.token)
    assert sessions.get(other.token) is None
    assert sessions.get("made-up-token") is None


def test_throttle_after_five_failures_per_client_and_name() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(max_failures=5, window_s=60.0, clock=clock)
    for _ in range(5):
        assert throttle.wait_s("127.0.0.1", "duty-operator") == 0
        throttle.failed("127.0.0.1", "duty-operator")
        clock.now += 1
    assert throttle.wait_s("127.0.0.1", "duty-operator") == pytest.approx(55.0)
    assert throttle.wait_s("127.0.0.1", "watch-viewer") == 0
    clock.now += 56
    assert throttle.wait_s("127.0.0.1", "duty-operator") == 0
    throttle.failed("127.0.0.1", "duty-operator")
    throttle.succeeded("127.0.0.1", "duty-operator")
    assert throttle.wait_s("127.0.0.1", "duty-operator") == 0


def test_demo_operator_is_created_once(tmp_path: Path) -> None:
    path = tmp_path / "var" / "users.json"
    created = ensure_demo_operator(path)
    assert created is not None and created[0] == DEMO_OPERATOR
    assert UserFile(path).authenticate(*created) is not None
    assert UserFile(path).users()[DEMO_OPERATOR].role is Role.OPERATOR
    assert ensure_demo_operator(path) is None
