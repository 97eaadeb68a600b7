"""Helpers for the replay tests: run ``fence replay`` as a real process, read its events."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.support.paths import REPO

EventKey = tuple[Any, ...]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def fence_replay(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m fence.cli replay ARGS`` and return the finished process."""
    cmd = [sys.executable, "-m", "fence.cli", "replay", *map(str, args)]
    return subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, timeout=300,
                          input=None if stdin is None else stdin.decode(), text=True, check=False)


def fence_replay_shell(script: str, *params: str | Path) -> subprocess.CompletedProcess[str]:
    """Run a bash script where ``fence`` is the CLI (for pipes and process substitution).

    ``params`` are ``$1``, ``$2``... of the script.
    """
    prelude = f'fence() {{ "{sys.executable}" -m fence.cli "$@"; }}\n'
    return subprocess.run(["bash", "-c", prelude + script, "bash", *map(str, params)], cwd=REPO,
                          env=_env(), capture_output=True, text=True, timeout=300, check=False)


def event_key(obj: dict[str, Any]) -> EventKey:
    """The contract's keys of one event object (what golden comparisons use)."""
    return (obj["t"], obj["type"], obj["state"], obj["zone"], obj["terminal"],
            obj.get("count"), obj.get("limit"))


def keys_of_lines(lines: Iterable[str]) -> list[EventKey]:
    """Contract keys of JSON event lines (blank lines ignored)."""
    return [event_key(json.loads(line)) for line in lines if line.strip()]


def keys_of_file(path: Path) -> Counter[EventKey]:
    """The events of a JSON Lines file as a multiset of contract keys."""
    return Counter(keys_of_lines(path.read_text(encoding="utf-8").splitlines()))


def key_line(key: EventKey) -> str:
    """One expected-events line for a key (the contract's JSON form)."""
    t, etype, state, zone, terminal, count, limit = key
    obj: dict[str, Any] = {"t": t, "type": etype, "state": state, "zone": zone,
                           "terminal": terminal}
    if count is not None:
        obj["count"], obj["limit"] = count, limit
    return json.dumps(obj)
