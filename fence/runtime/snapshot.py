"""Evaluator snapshots saved atomically together with the recording position.

A snapshot file holds the run id, the evaluator's own snapshot (``Evaluator.snapshot()``)
and the track position of the last fix applied to it. It is written to a temporary file,
fsynced and renamed over the old one, so a crash leaves either the old or the new
snapshot, never half of one. Recovery restores it and replays the recording after the
position.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fence.runtime.tracks import TrackError, TrackPosition, fsync_path

SNAPSHOT_VERSION = 1


class SnapshotError(ValueError):
    """A snapshot file that cannot be used (names the file and the reason)."""


@dataclass(frozen=True, slots=True)
class EngineSnapshot:
    """What recovery needs: the run, the evaluator state and where the recording stood."""

    run: str
    position: TrackPosition | None
    last_rx_ms: int | None
    evaluator: dict[str, Any]

    def __post_init__(self) -> None:
        if not self.run:
            raise SnapshotError("empty run id")


def save_snapshot(path: Path, snap: EngineSnapshot) -> None:
    """Write the snapshot atomically (temporary file, fsync, rename, fsync directory)."""
    tmp = path.with_name(path.name + ".tmp")
    write_snapshot_file(tmp, snap)
    install_snapshot(tmp, path)


def write_snapshot_file(tmp: Path, snap: EngineSnapshot, *, fsync: bool = True) -> None:
    """The first half of ``save_snapshot``: the snapshot written (and fsynced) to ``tmp``."""
    obj = {
        "version": SNAPSHOT_VERSION,
        "run": snap.run,
        "position": None if snap.position is None else [snap.position.file, snap.position.offset],
        "last_rx_ms": snap.last_rx_ms,
        "evaluator": snap.evaluator,
    }
    tmp.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, separators=(",", ":"))  # the C encoder: json.dump is pure Python
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        if fsync:
            os.fsync(handle.fileno())


def install_snapshot(tmp: Path, path: Path) -> None:
    """The second half: ``tmp`` renamed over ``path``, the directory fsynced."""
    os.replace(tmp, path)
    fsync_path(path.parent)


def load_snapshot(path: Path) -> EngineSnapshot | None:
    """The saved snapshot, or None when there is none yet."""
    if not path.exists():
        return None
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"{path}: unreadable snapshot: {exc}") from None
    if not isinstance(obj, dict) or obj.get("version") != SNAPSHOT_VERSION:
        raise SnapshotError(f"{path}: not a version {SNAPSHOT_VERSION} engine snapshot")
    run, position, last_rx, evaluator = (
        obj.get("run"), obj.get("position"), obj.get("last_rx_ms"), obj.get("evaluator")
    )
    if not isinstance(run, str) or not isinstance(evaluator, dict):
        raise SnapshotError(f"{path}: 'run' or 'evaluator' missing")
    if last_rx is not None and not isinstance(last_rx, int):
        raise SnapshotError(f"{path}: 'last_rx_ms' is not an integer")
    pos: TrackPosition | None = None
    if position is not None:
        if not (isinstance(position, list) and len(position) == 2
                and isinstance(position[0], str) and isinstance(position[1], int)):
            raise SnapshotError(f"{path}: 'position' is not [file, offset]")
        try:
            pos = TrackPosition(position[0], position[1])
        except TrackError as exc:
            raise SnapshotError(f"{path}: {exc}") from None
    return EngineSnapshot(run, pos, last_rx, evaluator)
