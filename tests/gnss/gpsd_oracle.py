"""Compare the decoder with gpsd's regression output (the corpus oracle).

Follows the corpus README's "Suggested comparison recipe":

* accept set: the sentences the framer accepts equal the ``$`` lines gpsd echoed, except
  echoed lines that are not in the log at all (gpsd writes pseudo-NMEA for fixes it
  decoded from binary UBX packets: nothing to accept there);
* epochs: per gpsd fix time (TPVs with ``time`` and ``lat``), the last TPV triggered by a
  standard sentence present in the log (a TPV triggered by a proprietary ``$P...``
  sentence counts only when no standard one gave that time: we do not read proprietary
  sentences) is compared with our fix of that instant: lat/lon within 1e-7 degree and
  the same gpsd status (RTK fixed, RTK float, DGPS, ...);
* extras: our fixes with a position at an instant where gpsd has no fix. Legitimate
  ones: before gpsd knew the date (we date those epochs back from the first date) and
  the stream's last epoch (we emit it at end of stream).

Run as a script to print the agreement table for docs/gnss.md.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from gnss.decoder import NmeaDecoder
from gnss.errors import DecodeError
from gnss.fix import Fix
from gnss.framing import Framer
from gnss.instant import format_instant, parse_instant
from gnss.sources.comments import CommentStripper
from tests.support.paths import CORPUS_NMEA

TOLERANCE_DEG = 1e-7
# GGA quality -> gpsd TPV status (gpsd leaves status out for 0 and 1).
GPSD_STATUS = {0: 1, 1: 1, 2: 2, 3: 9, 4: 3, 5: 4, 6: 5, 7: 7, 8: 8}


def log_names() -> list[str]:
    """Every corpus log (without ``.log``)."""
    return sorted(p.name[: -len(".log")] for p in CORPUS_NMEA.glob("*.log"))


def log_bytes(name: str) -> bytes:
    """The receiver bytes of a log, ``#`` lines removed (as the file source does)."""
    return CommentStripper().feed((CORPUS_NMEA / f"{name}.log").read_bytes())


def raw_log(name: str) -> bytes:
    """The log file as stored."""
    return (CORPUS_NMEA / f"{name}.log").read_bytes()


def echoed(name: str) -> list[bytes]:
    """gpsd's echoed sentences that occur in the log itself, in order."""
    raw = raw_log(name)
    lines = (CORPUS_NMEA / f"{name}.log.chk").read_bytes().split(b"\n")
    out = []
    for line in lines:
        line = line.rstrip(b"\r")
        if line.startswith(b"$") and line in raw:
            out.append(line)
    return out


def accepted(name: str) -> list[bytes]:
    """Our accepted sentences, as ``$body*HH`` (upper-case hex)."""
    framer = Framer("corpus")
    data = log_bytes(name)
    items = framer.feed(data) + framer.flush()
    out = []
    for item in items:
        if isinstance(item, bytes):
            value = 0
            for byte in item:
                value ^= byte
            out.append(b"$" + item + b"*%02X" % value)
    return out


def decode(name: str) -> list[Fix | DecodeError]:
    """Decode a whole log (one terminal)."""
    decoder = NmeaDecoder("corpus")
    return decoder.feed(log_bytes(name)) + decoder.flush()


@dataclass(frozen=True, slots=True)
class GpsdEpochs:
    """gpsd's fix per instant, and every instant where gpsd had a fix or a time."""

    fixes: dict[int, dict[str, object]]
    any_fix_times: frozenset[int]
    first_time_ms: int | None


def gpsd_epochs(name: str) -> GpsdEpochs:
    """The comparable gpsd fixes of a log (see module doc)."""
    raw = raw_log(name)
    fixes: dict[int, dict[str, object]] = {}
    standard: set[int] = set()
    any_fix: set[int] = set()
    first: int | None = None
    path = CORPUS_NMEA / "tpv" / f"{name}.tpv.jsonl"
    for line in path.read_text().splitlines():
        record = json.loads(line)
        tpv = record["tpv"]
        if "time" not in tpv:
            continue
        t_ms = parse_instant(tpv["time"])
        if first is None:
            first = t_ms
        if "lat" not in tpv:
            continue
        any_fix.add(t_ms)
        trigger = record["trigger"]
        if trigger is None or trigger.encode() not in raw:
            continue  # decoded by gpsd from a binary packet
        proprietary = trigger.startswith("$P")
        if proprietary and t_ms in standard:
            continue
        if not proprietary:
            standard.add(t_ms)
        fixes[t_ms] = tpv
    return GpsdEpochs(fixes, frozenset(any_fix), first)


@dataclass(frozen=True, slots=True)
class Agreement:
    """The outcome of one log's comparison."""

    name: str
    accept_equal: bool
    accepted: int
    gpsd_epochs: int
    agreed: int
    rtk_epochs: int
    mismatches: tuple[str, ...]
    extras: tuple[str, ...]


def compare(name: str) -> Agreement:
    """Compare one log with gpsd."""
    ours = accepted(name)
    theirs = echoed(name)
    fixes = [item for item in decode(name) if isinstance(item, Fix)]
    by_time: dict[int, Fix] = {}
    for each in fixes:
        by_time[each.t_ms] = each
    gpsd = gpsd_epochs(name)
    mismatches = []
    agreed = rtk = 0
    for t_ms, tpv in sorted(gpsd.fixes.items()):
        when = format_instant(t_ms)
        fix = by_time.get(t_ms)
        status = tpv.get("status", 1)
        if status in (3, 4):
            rtk += 1
        if fix is None or fix.lat is None or fix.lon is None:
            mismatches.append(f"{when}: gpsd has a fix, we have {'none' if fix is None else 'no position'}")
            continue
        dlat = abs(fix.lat - float(tpv["lat"]))  # type: ignore[arg-type]
        dlon = abs(fix.lon - float(tpv["lon"]))  # type: ignore[arg-type]
        if not (dlat <= TOLERANCE_DEG and dlon <= TOLERANCE_DEG) or math.isnan(dlat + dlon):
            mismatches.append(f"{when}: position differs by {dlat:.1e}, {dlon:.1e} degree")
        elif GPSD_STATUS.get(fix.quality, fix.quality) != status:
            mismatches.append(f"{when}: quality {fix.quality}, gpsd status {status}")
        else:
            agreed += 1
    last_t = fixes[-1].t_ms if fixes else None
    extras = []
    for fix in fixes:
        if fix.lat is None or fix.t_ms in gpsd.any_fix_times:
            continue
        if gpsd.first_time_ms is not None and fix.t_ms < gpsd.first_time_ms:
            continue  # gpsd did not know the date yet; we dated the epoch back
        if fix.t_ms == last_t:
            continue  # the last epoch: emitted by our flush, gpsd's log just ended
        extras.append(format_instant(fix.t_ms))
    return Agreement(
        name, ours == theirs, len(ours), len(gpsd.fixes), agreed, rtk, tuple(mismatches), tuple(extras)
    )


def table() -> str:
    """Markdown table of agreement per log."""
    rows = [
        "| log | accepted sentences (= gpsd) | gpsd fix epochs | agreed | RTK epochs | extra fixes |",
        "|---|---|---|---|---|---|",
    ]
    for name in log_names():
        a = compare(name)
        same = "yes" if a.accept_equal else "NO"
        rows.append(
            f"| {name} | {a.accepted} ({same}) | {a.gpsd_epochs} | {a.agreed} | {a.rtk_epochs} | {len(a.extras)} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
