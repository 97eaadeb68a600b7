"""``fence users``: manage console users (add, remove, list).

Passwords are stored as scrypt hashes with a random salt in the users file named by
``[console] users`` of fence.toml (default ``var/console-users.json`` beside it).
"""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
import tomllib
from pathlib import Path

from fence.console.auth import Role, UserFile, UsersError, make_user
from fence.console.config import ConsoleConfig, ConsoleConfigError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``users`` subcommand."""
    parser = subparsers.add_parser("users", help="manage console users")
    _file_options(parser, "fence.toml", None)
    # the same options after the action too (fence users add NAME --role R --config X)
    common = argparse.ArgumentParser(add_help=False)
    _file_options(common, argparse.SUPPRESS, argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", parents=[common], help="add a user or replace their password and role")
    add.add_argument("name")
    add.add_argument("--role", choices=[r.value for r in Role], required=True)
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of stdin")
    add.add_argument("--generate", action="store_true",
                     help="generate a random password and print it")
    remove = sub.add_parser("remove", parents=[common], help="remove a user")
    remove.add_argument("name")
    sub.add_parser("list", parents=[common], help="list users and roles")
    parser.set_defaults(func=run)


def _file_options(parser: argparse.ArgumentParser, config: object, users_file: object) -> None:
    parser.add_argument("--config", default=config, help="site config (default fence.toml)")
    parser.add_argument("--users-file", default=users_file,
                        help="users file (overrides [console] users)")


def users_path(config: str, override: str | None) -> Path:
    """The users file: ``override`` when given, else from the config's ``[console]``."""
    if override:
        return Path(override)
    path = Path(config)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConsoleConfigError(f"{path}: no such config file (use --config or --users-file)") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConsoleConfigError(f"{path}: {exc}") from None
    section = doc.get("console", {})
    if not isinstance(section, dict):
        raise ConsoleConfigError(f"{path}: [console] must be a table")
    return ConsoleConfig.from_section(section, path.parent, str(path)).users_path


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """The new password and whether it was generated (then it is printed)."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    if args.generate or not sys.stdin.isatty():
        return secrets.token_urlsafe(12), True
    first = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != first:
        raise UsersError("the two passwords differ")
    return first, False


def run(args: argparse.Namespace) -> int:
    """Carry out ``fence users add|remove|list``; 0 on success, 2 on a refused request."""
    try:
        users = UserFile(users_path(args.config, args.users_file))
        if args.action == "add":
            password, generated = _password(args)
            user = make_user(args.name, Role(args.role), password)
            users.put(user)
            print(f"{user.name}: {user.role.value} saved in {users.path}")
            if generated:
                print(f"password: {password}")
        elif args.action == "remove":
            if not users.remove(args.name):
                print(f"fence users: no user {args.name!r} in {users.path}", file=sys.stderr)
                return 2
            print(f"{args.name}: removed from {users.path}")
        else:
            for user in sorted(users.users().values(), key=lambda u: u.name):
                print(f"{user.name}\t{user.role.value}")
    except (UsersError, ConsoleConfigError) as exc:
        print(f"fence users: {exc}", file=sys.stderr)
        return 2
    return 0
