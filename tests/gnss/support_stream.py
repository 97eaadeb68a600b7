"""Helpers for source tests: epochs to send and a thread-safe collector of items."""

from __future__ import annotations

import threading
import time

from gnss import encode
from gnss.errors import DecodeError
from gnss.fix import Fix
from gnss.instant import parse_instant
from gnss.sources import SourceItem

T0 = parse_instant("2026-11-28T08:00:00.000Z")
LAT, LON = 40.6512345, 111.5123456


def epoch_bytes(k: int, talker: str = "GN") -> bytes:
    """Epoch ``k`` (1 Hz from T0) as RMC, GGA (RTK fixed), GST, ZDA."""
    t_ms = T0 + 1000 * k
    lat = LAT + 1e-6 * k
    return (
        encode.rmc(talker, t_ms, lat, LON, mode="R")
        + encode.gga(talker, t_ms, lat, LON, 4, sats=20, hdop=0.6, alt_m=1040.0)
        + encode.gst(talker, t_ms, lat_sd_m=0.01, lon_sd_m=0.012)
        + encode.zda(talker, t_ms)
    ).encode()


class Collector:
    """``deliver`` for tests: keeps items, lets the test wait for a number of fixes."""

    def __init__(self) -> None:
        self.items: list[SourceItem] = []
        self._cond = threading.Condition()

    def __call__(self, item: SourceItem) -> None:
        with self._cond:
            self.items.append(item)
            self._cond.notify_all()

    @property
    def fixes(self) -> list[Fix]:
        with self._cond:
            return [i for i in self.items if isinstance(i, Fix)]

    @property
    def errors(self) -> list[DecodeError]:
        with self._cond:
            return [i for i in self.items if isinstance(i, DecodeError)]

    def wait_fixes(self, count: int, timeout_s: float = 20.0) -> list[Fix]:
        """Wait until at least ``count`` fixes arrived; returns them (fails on timeout)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while sum(isinstance(i, Fix) for i in self.items) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    got = sum(isinstance(i, Fix) for i in self.items)
                    raise AssertionError(f"waited {timeout_s} s for {count} fixes, got {got}")
                self._cond.wait(left)
        return self.fixes
