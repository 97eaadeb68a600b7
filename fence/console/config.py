"""The ``[console]`` section of fence.toml, checked when read."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_USERS = "var/console-users.json"


class ConsoleConfigError(ValueError):
    """A bad ``[console]`` value; the message names the file, the key and the reason."""


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    """Where and how the console serves (``[console]``: ``listen = "HOST:PORT"``, ``users``,
    ``session_ttl_s``, ``update_ms``, ``track_minutes``; all optional).

    ``port`` 0 asks the system for a free port (tests). ``update_ms`` is the period of
    live updates pushed to browsers (changes are batched per period). ``track_minutes``
    is how much recent track the terminal panel shows.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    users_path: Path = Path(DEFAULT_USERS)
    session_ttl_s: float = 8 * 3600.0
    update_ms: int = 500
    track_minutes: float = 10.0

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConsoleConfigError(f"port {self.port} outside 0-65535")
        if self.session_ttl_s <= 0:
            raise ConsoleConfigError("session_ttl_s must be > 0")
        if not 50 <= self.update_ms <= 10_000:
            raise ConsoleConfigError(f"update_ms {self.update_ms} outside 50-10000")
        if not 0 < self.track_minutes <= 24 * 60:
            raise ConsoleConfigError(f"track_minutes {self.track_minutes} outside (0, 1440]")

    @property
    def loopback(self) -> bool:
        """True when the console listens on a loopback address only."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @staticmethod
    def from_section(section: Mapping[str, Any], base_dir: Path, where: str) -> ConsoleConfig:
        """Build from a ``[console]`` table; paths are relative to ``base_dir``.

        ``where`` names the file for messages. Unknown keys and wrong types are refused.
        """
        known = {"listen", "users", "session_ttl_s", "update_ms", "track_minutes"}
        unknown = sorted(set(section) - known)
        if unknown:
            raise ConsoleConfigError(f"{where}: [console] unknown key(s): {', '.join(unknown)}")
        host, port = _listen(_str(section, "listen", f"{DEFAULT_HOST}:{DEFAULT_PORT}", where), where)
        try:
            return ConsoleConfig(
                host=host,
                port=port,
                users_path=base_dir / _str(section, "users", DEFAULT_USERS, where),
                session_ttl_s=_number(section, "session_ttl_s", 8 * 3600.0, where),
                update_ms=_int(section, "update_ms", 500, where),
                track_minutes=_number(section, "track_minutes", 10.0, where),
            )
        except ConsoleConfigError as exc:
            if str(exc).startswith(where):
                raise
            raise ConsoleConfigError(f"{where}: [console] {exc}") from None

    @staticmethod
    def from_site(site: Any) -> ConsoleConfig:
        """The console config of a loaded site (``site.sections['console']``, else defaults).

        Relative paths are resolved against the directory of the site's TOML file.
        """
        source = str(getattr(site, "source", "") or "")
        base_dir = Path(source).parent if source else Path.cwd()
        section = site.sections.get("console", {})
        if not isinstance(section, Mapping):
            raise ConsoleConfigError(f"{source or 'config'}: [console] must be a table")
        return ConsoleConfig.from_section(section, base_dir, source or "config")


def _listen(text: str, where: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConsoleConfigError(f"{where}: [console] listen must be HOST:PORT, got {text!r}")
    return host, int(port)


def _str(section: Mapping[str, Any], key: str, default: str, where: str) -> str:
    value = section.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConsoleConfigError(f"{where}: [console] {key} must be a non-empty string")
    return value


def _int(section: Mapping[str, Any], key: str, default: int, where: str) -> int:
    value = section.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConsoleConfigError(f"{where}: [console] {key} must be an integer, got {value!r}")
    return value


def _number(section: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = section.get(key, default)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ConsoleConfigError(f"{where}: [console] {key} must be a number, got {value!r}")
    return float(value)
