"""An in-process input for the demo and tests: the terminal simulator, paced, through the
NMEA decoder, straight into the runtime (no broker, no sockets).

It is a ``Source`` like the others: its own thread, ``deliver`` per decoded item.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from fence.runtime.engine import Deliver
from fence.simulate.pacing import RunStats, publish
from fence.simulate.simulator import Message, Simulator
from fence.simulate.wire import Format
from gnss.decoder import NmeaDecoder
from gnss.errors import DecodeError, DecodeErrorKind
from gnss.fixjson import FixLineError, parse_fix_line

log = logging.getLogger("fence.runtime.simsource")


class SimulatorSource:
    """Plays a simulator's messages at ``speed`` times real time until ``until_ms``."""

    def __init__(
        self,
        sim: Simulator,
        *,
        until_ms: int | None,
        speed: float | None = 1.0,
        name: str = "simulator",
        on_done: Callable[[RunStats], None] | None = None,
    ) -> None:
        self.name = name
        self.sim = sim
        self.until_ms = until_ms
        self.speed = speed
        self.on_done = on_done
        self._decoders: dict[str, NmeaDecoder] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stats: RunStats | None = None

    def _send(self, deliver: Deliver, message: Message) -> None:
        if self.sim.fmt is Format.NMEA:
            decoder = self._decoders.get(message.terminal)
            if decoder is None:
                decoder = self._decoders[message.terminal] = NmeaDecoder(message.terminal)
            for item in decoder.feed(message.payload):
                deliver(item)
            return
        for line in message.payload.splitlines():
            try:
                deliver(parse_fix_line(line))
            except FixLineError as exc:
                deliver(DecodeError(DecodeErrorKind.BAD_FIX_JSON, str(exc), message.terminal))

    def _run(self, deliver: Deliver) -> None:
        try:
            self.stats = publish(
                self.sim.messages(self.until_ms),
                lambda message: self._send(deliver, message),
                start_ms=self.sim.start_ms,
                speed=self.speed,
                stop=self._stop,
            )
            if not self._stop.is_set():
                for decoder in self._decoders.values():
                    for item in decoder.flush():
                        deliver(item)
        except Exception:
            log.exception("simulator input failed")
        if self.on_done is not None and self.stats is not None:
            self.on_done(self.stats)

    def start(self, deliver: Deliver) -> None:
        """Start playing in a thread."""
        self._thread = threading.Thread(target=self._run, args=(deliver,), name=self.name,
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop playing (the current message is finished first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for the end of the play; True when it ended."""
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()
