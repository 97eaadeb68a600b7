"""The engine's own sections of fence.toml: inputs, store, tracks, runtime, outputs, http, console.

The site sections ([site], [defaults], [[terminals]]) belong to ``zones.site``; every
other top-level section reaches the engine through ``Site.sections`` and is read here.
Paths are relative to the TOML file. A bad value is refused with a ``ConfigError``
naming the file, the section and the key; unknown keys are refused too.

```toml
[[inputs]]            # one table per input, handed to gnss.sources.config
type = "mqtt"
[store]
path = "var/events.db"
[tracks]
dir = "var/tracks"
rotate_mb = 64
rotate_s = 3600
fsync = "interval"    # always | interval | never
fsync_interval_s = 1.0
[runtime]
state_dir = "var/state"
tick_s = 1.0
snapshot_s = 10.0
[[outputs]]
type = "mqtt"         # mqtt | webhook | jsonl
[http]
listen = "127.0.0.1:9108"
[console]             # read by fence.console (docs/console.md)
listen = "127.0.0.1:8080"
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fence.runtime.tracks import FsyncPolicy


class ConfigError(ValueError):
    """A bad engine section in fence.toml (the message names file, section, key, reason)."""


def site_slug(name: str) -> str:
    """The site's name as an MQTT topic level: lower case, runs of other characters as '-'."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "site"


class _Table:
    """Typed reads from one TOML table; ``done()`` refuses the keys nobody read."""

    def __init__(self, table: object, where: str) -> None:
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}: must be a table")
        self.table: Mapping[str, Any] = table
        self.where = where
        self.used: set[str] = set()

    def _raw(self, key: str) -> Any:
        self.used.add(key)
        return self.table.get(key)

    def str_(self, key: str, default: str | None = None) -> str:
        value = self._raw(key)
        if value is None:
            if default is None:
                raise ConfigError(f"{self.where}: '{key}' is required")
            return default
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{self.where}: '{key}' must be a non-empty string, got {value!r}")
        return value

    def opt_str(self, key: str) -> str | None:
        return None if self._raw(key) is None else self.str_(key)

    def num(self, key: str, default: float, *, positive: bool = True) -> float:
        value = self._raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{self.where}: '{key}' must be a number, got {value!r}")
        if positive and value <= 0:
            raise ConfigError(f"{self.where}: '{key}' must be > 0, got {value!r}")
        return float(value)

    def int_(self, key: str, default: int) -> int:
        value = self._raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{self.where}: '{key}' must be a positive integer, got {value!r}")
        return value

    def bool_(self, key: str, default: bool) -> bool:
        value = self._raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise ConfigError(f"{self.where}: '{key}' must be true or false, got {value!r}")
        return value

    def str_map(self, key: str) -> dict[str, str]:
        value = self._raw(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ConfigError(f"{self.where}: '{key}' must be a table of strings")
        return dict(value)

    def path(self, key: str, base: Path, default: str | None = None) -> Path:
        p = Path(self.str_(key, default))
        return p if p.is_absolute() else base / p

    def listen(self, key: str, default: str) -> tuple[str, int]:
        text = self.str_(key, default)
        host, sep, port = text.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ConfigError(f"{self.where}: '{key}' must be HOST:PORT, got {text!r}")
        return host, int(port)

    def done(self) -> None:
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            raise ConfigError(f"{self.where}: unknown key(s) {', '.join(map(repr, unknown))}")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Retry delays of a sink: doubling from ``min_s`` up to ``max_s``."""

    min_s: float = 0.5
    max_s: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.min_s <= self.max_s:
            raise ConfigError(f"backoff: need 0 < min_s <= max_s, got {self.min_s}, {self.max_s}")

    def delay_s(self, attempts: int) -> float:
        """The wait after ``attempts`` failed attempts (1 or more)."""
        return float(min(self.max_s, self.min_s * 2 ** min(max(attempts - 1, 0), 30)))


@dataclass(frozen=True, slots=True)
class MqttOutput:
    """Publish events (QoS 1) and retained state to an MQTT broker."""

    name: str
    host: str
    port: int
    topic_prefix: str
    client_id: str
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    retain_state: bool = True
    keepalive_s: int = 30
    backoff: Backoff = field(default_factory=Backoff)


@dataclass(frozen=True, slots=True)
class WebhookOutput:
    """POST each event as JSON to a URL, retrying with backoff."""

    name: str
    url: str
    headers: Mapping[str, str]
    timeout_s: float = 5.0
    backoff: Backoff = field(default_factory=Backoff)


@dataclass(frozen=True, slots=True)
class JsonlOutput:
    """Append each event as a JSON line to a file."""

    name: str
    path: Path
    backoff: Backoff = field(default_factory=Backoff)


Output = MqttOutput | WebhookOutput | JsonlOutput


@dataclass(frozen=True, slots=True)
class TracksConfig:
    """Where and how fixes are recorded."""

    dir: Path
    rotate_bytes: int
    rotate_s: float
    fsync: FsyncPolicy
    fsync_interval_s: float


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    """The runtime's own knobs."""

    state_dir: Path
    tick_s: float
    snapshot_s: float


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Everything ``fence run`` needs besides the site itself."""

    source: Path
    slug: str
    inputs: tuple[Mapping[str, Any], ...]
    store_path: Path
    tracks: TracksConfig
    runtime: RuntimeConfig
    outputs: tuple[Output, ...]
    http: tuple[str, int] | None
    console: Mapping[str, Any] | None
    """The raw ``[console]`` table, read by ``fence.console`` (None: no console)."""

    def input_where(self, index: int) -> str:
        """How to name the i-th input in messages."""
        return f"{self.source}: [[inputs]] #{index + 1}"


def _backoff(t: _Table) -> Backoff:
    try:
        return Backoff(t.num("backoff_min_s", 0.5), t.num("backoff_max_s", 30.0))
    except ConfigError as exc:
        raise ConfigError(f"{t.where}: {exc}") from None


def _output(table: object, where: str, base: Path, slug: str) -> Output:
    t = _Table(table, where)
    kind = t.str_("type")
    name = t.str_("name", kind)
    out: Output
    if kind == "mqtt":
        tls = t.bool_("tls", False)
        ca = t.opt_str("ca_file")
        cert = t.opt_str("cert_file")
        key = t.opt_str("key_file")
        out = MqttOutput(
            name=name,
            host=t.str_("host", "127.0.0.1"),
            port=t.int_("port", 8883 if tls else 1883),
            topic_prefix=t.str_("topic_prefix", f"fence/{slug}").rstrip("/"),
            client_id=t.str_("client_id", f"fence-engine-{slug}"),
            username=t.opt_str("username"),
            password=t.opt_str("password"),
            tls=tls,
            ca_file=None if ca is None else t.path("ca_file", base),
            cert_file=None if cert is None else t.path("cert_file", base),
            key_file=None if key is None else t.path("key_file", base),
            retain_state=t.bool_("retain_state", True),
            keepalive_s=t.int_("keepalive_s", 30),
            backoff=_backoff(t),
        )
    elif kind == "webhook":
        url = t.str_("url")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}: 'url' must start with http:// or https://, got {url!r}")
        out = WebhookOutput(name, url, t.str_map("headers"), t.num("timeout_s", 5.0), _backoff(t))
    elif kind == "jsonl":
        out = JsonlOutput(name, t.path("path", base), _backoff(t))
    else:
        raise ConfigError(f"{where}: 'type' must be mqtt, webhook or jsonl, got {kind!r}")
    t.done()
    return out


def _list_of_tables(value: object, where: str) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where}: must be an array of tables ([[...]])")
    return value


def engine_config(sections: Mapping[str, Any], source: Path, site_name: str) -> EngineConfig:
    """Read the engine sections (``Site.sections``) of the TOML file at ``source``."""
    base = source.parent
    slug = site_slug(site_name)
    inputs = _list_of_tables(sections.get("inputs"), f"{source}: [[inputs]]")
    for i, table in enumerate(inputs):
        if not isinstance(table, Mapping):
            raise ConfigError(f"{source}: [[inputs]] #{i + 1}: must be a table")

    store = _Table(sections.get("store", {}), f"{source}: [store]")
    store_path = store.path("path", base, "var/events.db")
    store.done()

    tr = _Table(sections.get("tracks", {}), f"{source}: [tracks]")
    fsync_text = tr.str_("fsync", "interval")
    try:
        fsync = FsyncPolicy(fsync_text)
    except ValueError:
        raise ConfigError(
            f"{tr.where}: 'fsync' must be always, interval or never, got {fsync_text!r}"
        ) from None
    tracks = TracksConfig(
        tr.path("dir", base, "var/tracks"),
        int(tr.num("rotate_mb", 64.0) * 1024 * 1024),
        tr.num("rotate_s", 3600.0),
        fsync,
        tr.num("fsync_interval_s", 1.0),
    )
    tr.done()

    rt = _Table(sections.get("runtime", {}), f"{source}: [runtime]")
    runtime = RuntimeConfig(
        rt.path("state_dir", base, "var/state"),
        rt.num("tick_s", 1.0),
        rt.num("snapshot_s", 10.0),
    )
    rt.done()

    outputs_raw = _list_of_tables(sections.get("outputs"), f"{source}: [[outputs]]")
    outputs = tuple(
        _output(table, f"{source}: [[outputs]] #{i + 1}", base, slug)
        for i, table in enumerate(outputs_raw)
    )
    names = [o.name for o in outputs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{source}: [[outputs]]: duplicate name(s) {dupes}; set 'name'")

    return EngineConfig(
        source=source,
        slug=slug,
        inputs=tuple(inputs),  # type: ignore[arg-type]
        store_path=store_path,
        tracks=tracks,
        runtime=runtime,
        outputs=outputs,
        http=_listen(sections, "http", source, "127.0.0.1:9108"),
        console=_console(sections, source),
    )


def _console(sections: Mapping[str, Any], source: Path) -> Mapping[str, Any] | None:
    table = sections.get("console")
    if table is None:
        return None
    if not isinstance(table, Mapping):
        raise ConfigError(f"{source}: [console]: must be a table")
    return table


def _listen(sections: Mapping[str, Any], name: str, source: Path, default: str) -> tuple[str, int] | None:
    if sections.get(name) is None:
        return None
    t = _Table(sections[name], f"{source}: [{name}]")
    address = t.listen("listen", default)
    t.done()
    return address
