"""A child process for the crash tests: an engine fed fix lines, one acknowledgement each.

``python -m tests.live.crashdriver CONFIG FIXES START ACKFILE`` delivers the fix lines of
FIXES from line START on (0-based) to an engine, like a QoS 1 source: after ``deliver()``
returns it writes the number of acknowledged lines into ACKFILE. The arrival clock is
driven by the data (fix time + 150 ms), so every run, interrupted or not, sees the same
arrival times. The parent kills it with SIGKILL at random moments and restarts it from
the acknowledged count, as a broker re-delivers unacknowledged messages.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from fence.runtime.engine import Engine
from gnss.fixjson import parse_fix_line
from tests.live.support import DrivenClock, load

ARRIVAL_DELAY_MS = 150


def main(argv: list[str]) -> int:
    """Run the engine over the fix lines; returns 0 when all were delivered and it stopped."""
    config, fixes_path, start_text, ack_path = argv
    start = int(start_text)
    site, cfg = load(Path(config))
    fixes = [parse_fix_line(line) for line in Path(fixes_path).read_text().splitlines()]
    clock = DrivenClock(fixes[min(start, len(fixes) - 1)].t_ms + ARRIVAL_DELAY_MS)
    engine = Engine(site, cfg, clock_ms=clock)
    engine.start()
    fd = os.open(ack_path, os.O_WRONLY | os.O_CREAT, 0o644)
    for i in range(start, len(fixes)):
        clock.set(fixes[i].t_ms + ARRIVAL_DELAY_MS)
        engine.deliver(fixes[i], "driver")
        os.pwrite(fd, f"{i + 1:012d}".encode(), 0)
    engine.stop()
    os.pwrite(fd, f"{len(fixes):012d}\n".encode(), 0)
    os.close(fd)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
