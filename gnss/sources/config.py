"""Build a source from one ``[[inputs]]`` table of fence.toml.

```toml
[[inputs]]
type = "serial"          # serial | tcp | mqtt | file
port = "/dev/ttyUSB0"
baud = 115200
terminal = "W-017"
reconnect_max_s = 5.0

[[inputs]]
type = "tcp"
host = "10.0.3.20"
port = 4001
terminal = "GATE-2"

[[inputs]]
type = "mqtt"
host = "broker.park.local"
port = 8883              # default 1883, or 8883 with tls
client_id = "fence-engine"   # default "fence-<site>"
username = "fence"
password = "..."
tls = { ca_certs = "ca.pem", certfile = "c.pem", keyfile = "c.key", insecure = false }

[[inputs]]
type = "file"
path = "logs/w017.nmea"  # "-" for stdin
terminal = "W-017"
comments = true          # skip gpsd-style '#' lines
```

Every error is a ``ConfigError`` naming the place (``where``), the key and the reason.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gnss.sources import Source
from gnss.sources.mqtt import MqttSettings, MqttSource, TlsOptions
from gnss.sources.serialport import DEFAULT_BAUD, SerialSource
from gnss.sources.stream import Backoff, FileSource
from gnss.sources.tcp import TcpSource


class ConfigError(ValueError):
    """An ``[[inputs]]`` table that cannot become a source."""


class _Table:
    """Typed reads of one table; every message names ``where`` and the key."""

    def __init__(self, table: Mapping[str, Any], where: str, allowed: frozenset[str]) -> None:
        self.table = table
        self.where = where
        unknown = sorted(set(table) - allowed - {"type"})
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")

    def fail(self, key: str, reason: str) -> ConfigError:
        """The error for ``key``."""
        return ConfigError(f"{self.where}: key {key!r} {reason}")

    def text(self, key: str, default: str | None = None) -> str:
        """A non-empty string (required unless ``default``)."""
        value = self.table.get(key, default)
        if value is None:
            raise self.fail(key, "is required")
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"must be a non-empty string, got {value!r}")
        return value

    def optional_text(self, key: str) -> str | None:
        """A non-empty string, or None when absent."""
        return self.text(key) if key in self.table else None

    def integer(self, key: str, default: int | None = None, low: int = 1, high: int = 2**31) -> int:
        """An integer in [low, high] (required unless ``default``)."""
        value = self.table.get(key, default)
        if value is None:
            raise self.fail(key, "is required")
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be an integer, got {value!r}")
        if not low <= value <= high:
            raise self.fail(key, f"must be between {low} and {high}, got {value}")
        return value

    def number(self, key: str, default: float) -> float:
        """A positive number."""
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise self.fail(key, f"must be a positive number, got {value!r}")
        return float(value)

    def flag(self, key: str, default: bool) -> bool:
        """true or false."""
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {value!r}")
        return value

    def subtable(self, key: str) -> Mapping[str, Any] | None:
        """A nested table, or None when absent."""
        value = self.table.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.fail(key, f"must be a table, got {value!r}")
        return value


def _backoff(t: _Table) -> Backoff:
    max_s = t.number("reconnect_max_s", 5.0)
    return Backoff(min(0.1, max_s), max_s)


def _serial(t: _Table) -> Source:
    return SerialSource(
        t.text("port"), t.text("terminal"), baud=t.integer("baud", DEFAULT_BAUD), backoff=_backoff(t)
    )


def _tcp(t: _Table) -> Source:
    return TcpSource(t.text("host"), t.integer("port", high=65535), t.text("terminal"), backoff=_backoff(t))


def _file(t: _Table) -> Source:
    return FileSource(t.text("path"), t.text("terminal"), comments=t.flag("comments", True))


def _tls(t: _Table) -> TlsOptions | None:
    raw = t.subtable("tls")
    if raw is None:
        return None
    sub = _Table(raw, f"{t.where} tls", frozenset({"ca_certs", "certfile", "keyfile", "insecure"}))
    files = {key: sub.optional_text(key) for key in ("ca_certs", "certfile", "keyfile")}
    for key, path in files.items():
        if path is not None and not Path(path).is_file():
            raise sub.fail(key, f"names a file that does not exist: {path}")
    certfile, keyfile = files["certfile"], files["keyfile"]
    if (certfile is None) != (keyfile is None):
        raise sub.fail("keyfile" if keyfile is None else "certfile", "must be given with the other of certfile/keyfile")
    return TlsOptions(files["ca_certs"], certfile, keyfile, sub.flag("insecure", False))


def _mqtt(t: _Table, site_name: str) -> Source:
    tls = _tls(t)
    username, password = t.optional_text("username"), t.optional_text("password")
    if password is not None and username is None:
        raise t.fail("password", "needs 'username'")
    if any(c in site_name for c in "+#/") or not site_name:
        raise ConfigError(f"{t.where}: site name {site_name!r} cannot be used in an MQTT topic")
    settings = MqttSettings(
        host=t.text("host", "127.0.0.1"),
        port=t.integer("port", 8883 if tls else 1883, high=65535),
        site=site_name,
        client_id=t.text("client_id", f"fence-{site_name}"),
        username=username,
        password=password,
        tls=tls,
        keepalive_s=t.integer("keepalive_s", 30, low=5, high=3600),
        reconnect_max_s=t.integer("reconnect_max_s", 10, low=1, high=3600),
    )
    try:
        return MqttSource(settings)
    except (OSError, ssl.SSLError) as exc:
        raise t.fail("tls", f"cannot be used: {exc}") from None


_KEYS: dict[str, frozenset[str]] = {
    "serial": frozenset({"port", "baud", "terminal", "reconnect_max_s"}),
    "tcp": frozenset({"host", "port", "terminal", "reconnect_max_s"}),
    "file": frozenset({"path", "terminal", "comments"}),
    "mqtt": frozenset(
        {"host", "port", "client_id", "username", "password", "tls", "keepalive_s", "reconnect_max_s"}
    ),
}


def source_from_config(table: Mapping[str, Any], site_name: str, where: str) -> Source:
    """The source described by one ``[[inputs]]`` table; ``ConfigError`` names key and reason."""
    kind = table.get("type")
    if kind not in _KEYS:
        raise ConfigError(f"{where}: key 'type' must be one of {', '.join(sorted(_KEYS))}, got {kind!r}")
    t = _Table(table, where, _KEYS[kind])
    try:
        if kind == "serial":
            return _serial(t)
        if kind == "tcp":
            return _tcp(t)
        if kind == "file":
            return _file(t)
        return _mqtt(t, site_name)
    except ValueError as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{where}: {exc}") from None
