"""``fence demo`` as a user runs it: every event type happens, alerts are printed, the
store equals a replay of the recording, and SIGTERM stops it quickly and cleanly."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from fence.store import EventStore
from tests.live.support import (
    event_key,
    example_site,
    final_clock,
    load,
    multiset,
    replay_recording,
)
from tests.support.paths import DEMO_CONFIG, REPO

ALL_TYPES = {"trespass", "overcrowding", "undermanning", "loitering", "stillness", "offline"}


def _demo(toml: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "fence.cli", "demo", "--config", str(toml), "--no-console", *args],
        cwd=toml.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def test_demo_scripted_scenario_raises_every_type(tmp_path: Path) -> None:
    toml = example_site(tmp_path)
    proc = _demo(toml, "--speed", "40")
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-3000:]
    site, cfg = load(toml)
    stored = [e.record.obj() for e in EventStore(cfg.store_path).query(limit=100_000)]
    assert {o["type"] for o in stored if o["state"] == "raised"} == ALL_TYPES
    printed = [line for line in out.splitlines() if not line.startswith("fence demo:")]
    assert len(printed) == len(stored)
    assert "fence demo: done:" in out
    assert multiset([event_key(o) for o in stored]) == multiset(replay_recording(site, cfg.tracks.dir, final_clock(cfg)))
    demo_file = cfg.store_path.parent / "demo-events.jsonl"  # s11 has no JSONL output
    deadline = time.monotonic() + 5
    while len(demo_file.read_text().splitlines()) < len(stored) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(demo_file.read_text().splitlines()) >= len(stored)


def test_demo_stops_quickly_on_sigterm(tmp_path: Path) -> None:
    toml = example_site(tmp_path)
    proc = _demo(toml, "--free", "--duration-s", "3600", "--terminals", "30")
    time.sleep(4.0)
    assert proc.poll() is None
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    took = time.monotonic() - sent
    assert proc.returncode == 0, err[-3000:]
    assert took < 5.0, f"SIGTERM took {took:.1f} s"
    _site, cfg = load(toml)
    assert (cfg.runtime.state_dir / "snapshot.json").exists()


def test_demo_on_the_bundled_site_with_console(tmp_path: Path) -> None:
    (tmp_path / "fence" / "demo").mkdir(parents=True)
    for name in ("zones.geojson", "terminals.csv"):
        shutil.copy(DEMO_CONFIG.parent / "fence" / "demo" / name, tmp_path / "fence" / "demo" / name)
    text = DEMO_CONFIG.read_text()
    text = text.replace('listen = "127.0.0.1:8080"', 'listen = "127.0.0.1:0"')
    text = text.replace('listen = "127.0.0.1:9108"', 'listen = "127.0.0.1:0"')
    toml = tmp_path / "fence.toml"
    toml.write_text(text)
    proc = subprocess.Popen(
        [sys.executable, "-m", "fence.cli", "demo", "--config", str(toml), "--speed", "20",
         "--duration-s", "400"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None
    url = ""
    for line in proc.stdout:
        if "operator console on" in line:
            url = line.split("operator console on ")[1].split()[0]
            break
    assert url.startswith("http://127.0.0.1:"), "the console did not start"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
    out = proc.stdout.read()
    proc.wait(timeout=240)
    assert proc.returncode == 0, proc.stderr.read()[-3000:] if proc.stderr else ""
    assert "log in as" in out or (tmp_path / "var" / "console-users.json").exists()
    site, cfg = load(toml)
    stored = [e.record.obj() for e in EventStore(cfg.store_path).query(limit=100_000)]
    assert stored, "the demo raised nothing"
    assert multiset([event_key(o) for o in stored]) == \
        multiset(replay_recording(site, cfg.tracks.dir, final_clock(cfg)))
