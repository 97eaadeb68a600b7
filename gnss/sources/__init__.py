"""Sources move bytes (or contract fix lines) into decoders and deliver what comes out.

A ``Source`` starts its own thread(s) in ``start(deliver)`` and calls ``deliver(item)``
for every ``Fix`` or ``DecodeError`` in stream order; ``deliver`` returns once the item
is durably accepted (the MQTT source acknowledges a message only after that). ``stop``
ends the threads and flushes nothing that was not delivered. Sources use the clock only
for reconnect backoff, never for fix times.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from gnss.errors import DecodeError
from gnss.fix import Fix

SourceItem = Fix | DecodeError
Deliver = Callable[[SourceItem], None]


@runtime_checkable
class Source(Protocol):
    """Something that produces fixes and decode errors on its own thread(s)."""

    name: str

    def start(self, deliver: Deliver) -> None:
        """Start reading; every item goes to ``deliver`` in stream order."""

    def stop(self) -> None:
        """Stop reading and join the threads (idempotent)."""


__all__ = ["Deliver", "Source", "SourceItem"]
