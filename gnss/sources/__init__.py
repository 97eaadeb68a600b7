"""Sources move bytes (or contract fix lines) into decoders and deliver what comes out.

A ``Source`` starts its own thread(s) in ``start(deliver)`` and calls ``deliver(item)``
for every ``Fix`` or ``DecodeError`` in stream order; ``deliver`` returns once the item
is durably accepted (the MQTT source acknowledges a message only after that). ``stop``
ends the threads and flushes nothing that was not delivered. A ``BatchSource`` can
also hand over everything one read produced at once (``start_many``): one call, one
recording write and one acknowledgement per read instead of per item. Sources use the clock only
for reconnect backoff, never for fix times.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from gnss.errors import DecodeError
from gnss.fix import Fix

SourceItem = Fix | DecodeError
Deliver = Callable[[SourceItem], None]
DeliverMany = Callable[[Sequence[SourceItem]], None]


@runtime_checkable
class Source(Protocol):
    """Something that produces fixes and decode errors on its own thread(s)."""

    name: str

    def start(self, deliver: Deliver) -> None:
        """Start reading; every item goes to ``deliver`` in stream order."""

    def stop(self) -> None:
        """Stop reading and join the threads (idempotent)."""


@runtime_checkable
class BatchSource(Protocol):
    """A source that can deliver the items of one read in one call."""

    name: str

    def start_many(self, deliver_many: DeliverMany) -> None:
        """Start reading; the items of each read go to ``deliver_many`` in stream order."""

    def stop(self) -> None:
        """Stop reading and join the threads (idempotent)."""


def one_by_one(deliver: Deliver) -> DeliverMany:
    """``deliver_many`` made of a per-item ``deliver``."""

    def deliver_many(items: Sequence[SourceItem]) -> None:
        for item in items:
            deliver(item)

    return deliver_many


__all__ = ["BatchSource", "Deliver", "DeliverMany", "Source", "SourceItem", "one_by_one"]
