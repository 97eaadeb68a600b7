"""JSON Lines file sink: one event per line, flushed and fsynced per batch."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from fence.sinks.worker import Delivery
from fence.store import OutboxItem


class JsonlDeliverer:
    """Appends event lines to a file (created with its folder when missing)."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path

    def deliver(self, items: Sequence[OutboxItem]) -> Delivery:
        """Append the batch; all or nothing as far as the outbox is concerned."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write("".join(item.line + "\n" for item in items))
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            return Delivery(0, f"{self.path}: {exc}")
        return Delivery(len(items))

    def idle(self) -> None:
        """Nothing to do between batches."""

    def close(self) -> None:
        """Files are opened per batch; nothing to release."""
