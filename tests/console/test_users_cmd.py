"""``fence users``: add, list, remove against a real users file named by fence.toml."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from fence import cmd_users
from fence.console.auth import Role, UserFile


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="fence")
    cmd_users.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    status = args.func(args)
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.fixture
def toml(tmp_path: Path) -> Path:
    path = tmp_path / "fence.toml"
    path.write_text('[site]\nname = "x"\nzones = "z.geojson"\n[console]\nusers = "secrets/users.json"\n')
    return path


def test_add_list_remove(toml: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("operator-pass-1\n"))
    status, out, _ = run(["users", "--config", str(toml), "add", "duty-operator", "--role", "operator",
                          "--password-stdin"], capsys)
    users_file = toml.parent / "secrets" / "users.json"
    assert status == 0 and f"duty-operator: operator saved in {users_file}" in out
    assert UserFile(users_file).authenticate("duty-operator", "operator-pass-1") is not None

    status, out, _ = run(["users", "--config", str(toml), "add", "watch-viewer", "--role", "viewer",
                          "--generate"], capsys)
    assert status == 0
    password = out.split("password: ")[1].strip()
    user = UserFile(users_file).authenticate("watch-viewer", password)
    assert user is not None and user.role is Role.VIEWER

    assert run(["users", "--config", str(toml), "list"], capsys)[1] == \
        "duty-operator\toperator\nwatch-viewer\tviewer\n"
    assert run(["users", "--config", str(toml), "remove", "watch-viewer"], capsys)[0] == 0
    status, _, err = run(["users", "--config", str(toml), "remove", "watch-viewer"], capsys)
    assert status == 2 and "no user 'watch-viewer'" in err


def test_refusals_name_the_reason(toml: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    status, _, err = run(["users", "--config", str(toml), "add", "duty-operator", "--role", "operator",
                          "--password-stdin"], capsys)
    assert status == 2 and "shorter than 8" in err
    status, _, err = run(["users", "--users-file", str(tmp_path / "u.json"), "add", "bad name",
                          "--role", "viewer", "--generate"], capsys)
    assert status == 2 and "user name 'bad name'" in err
    status, _, err = run(["users", "--config", str(tmp_path / "missing.toml"), "list"], capsys)
    assert status == 2 and "no such config file" in err
    bad = tmp_path / "bad.toml"
    bad.write_text("[console]\nusers = 5\n")
    status, _, err = run(["users", "--config", str(bad), "list"], capsys)
    assert status == 2 and "users must be a non-empty string" in err
    with pytest.raises(SystemExit):
        run(["users", "--config", str(toml), "add", "x-user", "--role", "admin"], capsys)


def test_file_options_also_after_the_action(toml: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["users", "add", "duty-operator", "--role", "operator", "--generate",
                          "--config", str(toml)], capsys)
    assert status == 0 and str(toml.parent / "secrets" / "users.json") in out
    assert run(["users", "list", "--config", str(toml)], capsys)[1] == "duty-operator\toperator\n"
