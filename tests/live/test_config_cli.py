"""The engine's TOML sections and the `fence run` / `fence events` command lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fence.config import ConfigError, JsonlOutput, MqttOutput, WebhookOutput
from fence.runtime.tracks import FsyncPolicy
from tests.live.support import example_fixes, example_site, load, run_engine
from tests.support.paths import REPO


def _fence(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fence.cli", *args], cwd=cwd, capture_output=True, text=True,
        timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def test_sections_are_read_with_defaults_and_relative_paths(tmp_path: Path) -> None:
    toml = example_site(tmp_path, extra="""
[[outputs]]
type = "mqtt"
tls = true
ca_file = "certs/ca.pem"

[[outputs]]
type = "webhook"
url = "https://platform.example/hook"
headers = { Authorization = "Bearer x" }

[[outputs]]
type = "jsonl"
path = "out/events.jsonl"
""")
    _site, cfg = load(toml)
    mqtt_out, hook, file_out = cfg.outputs
    assert isinstance(mqtt_out, MqttOutput) and mqtt_out.port == 8883
    assert mqtt_out.ca_file == tmp_path / "certs" / "ca.pem"
    assert mqtt_out.topic_prefix == "fence/synthetic-chemical-park-seed-11"
    assert isinstance(hook, WebhookOutput) and hook.headers == {"Authorization": "Bearer x"}
    assert isinstance(file_out, JsonlOutput) and file_out.path == tmp_path / "out" / "events.jsonl"
    assert cfg.store_path == tmp_path / "var" / "events.db"
    assert cfg.tracks.fsync is FsyncPolicy.INTERVAL
    assert cfg.http is None and cfg.console is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[store]\npath = "x.db"\ncolour = 1\n', "[store]: unknown key(s) 'colour'"),
        ('[tracks]\nfsync = "sometimes"\n', "[tracks]: 'fsync' must be always, interval or never"),
        ('[runtime]\ntick_s = 0\n', "[runtime]: 'tick_s' must be > 0"),
        ('[[outputs]]\ntype = "webhook"\nurl = "ftp://x"\n', "[[outputs]] #1: 'url' must start with"),
        ('[[outputs]]\ntype = "kafka"\n', "[[outputs]] #1: 'type' must be mqtt, webhook or jsonl"),
        ('[[outputs]]\ntype = "jsonl"\npath = "a"\n[[outputs]]\ntype = "jsonl"\npath = "b"\n',
         "duplicate name(s) ['jsonl']"),
        ('[http]\nlisten = "localhost"\n', "[http]: 'listen' must be HOST:PORT"),
        ('[[outputs]]\ntype = "mqtt"\nport = "1883"\n', "'port' must be a positive integer"),
    ],
)
def test_bad_sections_are_refused_with_file_section_and_key(tmp_path: Path, extra: str,
                                                            message: str) -> None:
    toml = example_site(tmp_path, extra="\n" + extra, engine_sections=False)
    with pytest.raises(ConfigError) as info:
        load(toml)
    assert str(toml) in str(info.value) and message in str(info.value)


def test_fence_run_refuses_a_bad_config_and_no_inputs(tmp_path: Path) -> None:
    toml = example_site(tmp_path, extra='\n[[inputs]]\ntype = "mqtt"\nhots = "x"\n')
    result = _fence("run", "--config", str(toml), cwd=tmp_path)
    assert result.returncode == 2 and "'hots'" in result.stderr
    toml = example_site(tmp_path)
    result = _fence("run", "--config", str(toml), cwd=tmp_path)
    assert result.returncode == 2 and "no [[inputs]]" in result.stderr


def test_fence_events_queries_the_store(tmp_path: Path) -> None:
    toml = example_site(tmp_path)
    site, cfg = load(toml)
    fixes = example_fixes(limit=6000)
    run_engine(site, cfg, fixes)

    everything = _fence("events", "--config", str(toml), cwd=tmp_path)
    assert everything.returncode == 0, everything.stderr
    objs = [json.loads(line) for line in everything.stdout.splitlines()]
    assert len(objs) > 5 and all({"t", "type", "state", "zone", "terminal", "id"} <= set(o) for o in objs)

    trespass = _fence("events", "--db", str(cfg.store_path), "--type", "trespass", cwd=tmp_path)
    got = [json.loads(line) for line in trespass.stdout.splitlines()]
    assert got and {o["type"] for o in got} == {"trespass"}
    zone = got[0]["zone"]
    by_zone = [json.loads(x) for x in _fence("events", "--zone", zone, cwd=tmp_path).stdout.splitlines()]
    assert by_zone and {o["zone"] for o in by_zone} == {zone}
    since = objs[len(objs) // 2]["t"]
    later = [json.loads(x) for x in _fence("events", "--since", since, cwd=tmp_path).stdout.splitlines()]
    assert later and all(o["t"] >= since for o in later) and len(later) < len(objs)
    open_now = [json.loads(x) for x in _fence("events", "--open", cwd=tmp_path).stdout.splitlines()]
    assert all(o["state"] == "raised" and o["open"] for o in open_now)
    table = _fence("events", "--format", "table", "--limit", "3", cwd=tmp_path)
    assert len(table.stdout.splitlines()) == 3
    bad = _fence("events", "--since", "yesterday", cwd=tmp_path)
    assert bad.returncode == 2 and "--since" in bad.stderr
    missing = _fence("events", "--db", str(tmp_path / "nope.db"), cwd=tmp_path)
    assert missing.returncode == 1 and "no event store" in missing.stderr
