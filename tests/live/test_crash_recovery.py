"""SIGKILL at random moments, restart: no acknowledged fix lost, no event lost or doubled.

Each seed kills the engine process several times while it is fed the fix lines of a spec
example, restarts it from the last acknowledged line (a broker re-delivers what was not
acknowledged), and compares the event store with an uninterrupted run over the same data.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from fence.runtime.tracks import read_recording
from fence.store import EventStore
from gnss.fixjson import fix_to_line
from tests.live.support import (
    event_key,
    example_fixes,
    example_site,
    final_clock,
    load,
    multiset,
    replay_recording,
)
from tests.support.paths import REPO

N_FIXES = 9000


def _prepare(tmp: Path) -> tuple[Path, Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    toml = example_site(tmp, tick_s=0.1, snapshot_s=1.0, rotate_mb=0.2)
    fixes = tmp / "fixes.jsonl"
    fixes.write_text("".join(fix_to_line(f) + "\n" for f in example_fixes(limit=N_FIXES)))
    return toml, fixes


def _start(toml: Path, fixes: Path, start: int, ack: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.live.crashdriver", str(toml), str(fixes), str(start), str(ack)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def _acked(ack: Path) -> int:
    text = ack.read_text().strip() if ack.exists() else ""
    return int(text) if text else 0


def _stored_keys(toml: Path) -> tuple[list[tuple[object, ...]], list[str]]:
    _site, cfg = load(toml)
    stored = EventStore(cfg.store_path).query(limit=1_000_000)
    return [event_key(e.record.obj()) for e in stored], [e.record.id for e in stored]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Counter[tuple[object, ...]]:
    """The events of an uninterrupted run (also checked against a replay of its recording)."""
    toml, fixes = _prepare(tmp_path_factory.mktemp("reference"))
    proc = _start(toml, fixes, 0, toml.parent / "ack")
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err.decode()[-2000:]
    keys, _ = _stored_keys(toml)
    site, cfg = load(toml)
    assert multiset(keys) == multiset(replay_recording(site, cfg.tracks.dir, final_clock(cfg)))
    assert len(keys) > 20
    return multiset(keys)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_at_random_moments(tmp_path: Path, seed: int,
                                   reference: Counter[tuple[object, ...]]) -> None:
    rng = random.Random(seed)
    toml, fixes = _prepare(tmp_path)
    ack = tmp_path / "ack"
    kills = 0
    while True:
        start = _acked(ack)
        proc = _start(toml, fixes, start, ack)
        if kills < 4 and start < N_FIXES - 1:
            # a random moment: once a random number of lines is acknowledged, plus jitter
            target = rng.randint(start + 1, N_FIXES - 1)
            while proc.poll() is None and _acked(ack) < target:
                time.sleep(0.002)
            time.sleep(rng.uniform(0.0, 0.02))
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                kills += 1
                continue
        _out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err.decode()[-2000:]
        break
    assert kills >= 2, "the run ended before it could be killed twice"
    keys, ids = _stored_keys(toml)
    assert len(ids) == len(set(ids))
    assert multiset(keys) == reference
    # every fix line was recorded (acknowledged ones exactly; re-deliveries may repeat one)
    _site, cfg = load(toml)
    recorded = [(r.fix.t_ms, r.fix.terminal) for r in read_recording(cfg.tracks.dir)]
    dedup = [k for i, k in enumerate(recorded) if i == 0 or recorded[i - 1] != k]
    sent = [(f.t_ms, f.terminal) for f in example_fixes(limit=N_FIXES)]
    sent_dedup = [k for i, k in enumerate(sent) if i == 0 or sent[i - 1] != k]
    assert dedup == sent_dedup
