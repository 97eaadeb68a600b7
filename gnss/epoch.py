"""Epoch assembly: the sentences of one receiver epoch become one ``Fix``.

Rules (docs/gnss.md explains the choices):

* An epoch is identified by its UTC time of day. A timed sentence (GGA, RMC, GNS, GLL,
  GST, ZDA) with another time of day starts a new epoch; untimed sentences (VTG, GSA,
  GSV) belong to the epoch in progress (GSV gives satellites in view per constellation). A sentence repeating the time of an epoch
  (a repeated GGA time) merges into it and never makes a new fix.
* An epoch becomes a fix when it holds a position report (GGA, RMC, GNS or GLL).
* Emission: as soon as the epoch is known complete. Like gpsd, the assembler learns
  which sentence closes the receiver's cycle: the last timed sentence (GGA, RMC, GNS,
  GLL, GST, ZDA) before a new time of day, when it occurred once in the cycle, for two
  cycles in a row (VTG, GSA, GSV take no part). After that the fix
  is emitted when that sentence arrives (lowest latency); otherwise when the next epoch
  starts, or at ``flush``. A sentence of an already emitted epoch is dropped and the
  learned closer is forgotten (the cycle changed).
* Quality: GGA quality when present, else the best GNS mode letter, else RMC, else GLL
  (FAA mode letters map like gpsd: R -> 4 RTK fixed, F -> 5 RTK float, D -> 2, E -> 6).
  A quality of 0 (or RMC/GLL status V) means no position.
* Position: from GGA, else GNS, else RMC, else GLL (the last of the best kind wins).
* Date: from RMC or ZDA of the same epoch, else carried from the previous dated epoch
  (the nearest instant with this time of day: midnight rollover). Epochs before any date
  is known are held (up to ``MAX_UNDATED_EPOCHS``) and dated back from the first date;
  epochs that can never be dated are dropped with a ``NO_DATE`` error.
* acc_m = sqrt(lat_sd^2 + lon_sd^2) from GST of the same epoch (the 1-sigma horizontal
  error radius); None without GST.
"""

from __future__ import annotations

import math

from gnss.civil import MS_PER_DAY, nearest_instant
from gnss.errors import DecodeError, DecodeErrorKind
from gnss.fix import Constellation, Fix, FixValueError
from gnss.sentences import (
    FieldError,
    Gga,
    Gll,
    Gns,
    Gsa,
    Gst,
    Record,
    Rmc,
    Vtg,
    Zda,
    read_gsa,
    read_vtg,
)

MAX_UNDATED_EPOCHS = 30
TALKER_CONSTELLATION: dict[bytes, Constellation] = {
    b"GP": Constellation.GPS,
    b"GL": Constellation.GLONASS,
    b"GA": Constellation.GALILEO,
    b"BD": Constellation.BEIDOU,
    b"GB": Constellation.BEIDOU,
    b"GQ": Constellation.QZSS,
    b"QZ": Constellation.QZSS,
    b"GI": Constellation.NAVIC,
}

# Position source ranks: a higher rank replaces a lower one within the epoch.
_RANK_GLL = 1
_RANK_RMC = 2
_RANK_GNS = 3
_RANK_GGA = 4

Output = Fix | DecodeError


class _Epoch:
    """The values gathered so far for one epoch (private accumulator)."""

    __slots__ = (
        "tod_ms",
        "day",
        "emitted",
        "reported",
        "pos_rank",
        "lat",
        "lon",
        "gga_quality",
        "gns_quality",
        "rmc_quality",
        "gll_quality",
        "alt_m",
        "alt_rank",
        "hdop",
        "hdop_rank",
        "sats",
        "sats_rank",
        "speed_mps",
        "speed_rank",
        "course_deg",
        "course_rank",
        "acc_m",
        "deferred",
        "in_view",
    )

    def __init__(self, tod_ms: int | None) -> None:
        self.tod_ms = tod_ms
        self.day: int | None = None
        self.emitted = False
        self.reported = False
        self.pos_rank = 0
        self.lat: float | None = None
        self.lon: float | None = None
        self.gga_quality: int | None = None
        self.gns_quality: int | None = None
        self.rmc_quality: int | None = None
        self.gll_quality: int | None = None
        self.alt_m: float | None = None
        self.alt_rank = 0
        self.hdop: float | None = None
        self.hdop_rank = 0
        self.sats: int | None = None
        self.sats_rank = 0
        self.speed_mps: float | None = None
        self.speed_rank = 0
        self.course_deg: float | None = None
        self.course_rank = 0
        self.acc_m: float | None = None
        self.deferred: list[bytes] = []
        self.in_view: dict[Constellation, int] = {}

    def quality(self) -> int:
        """The epoch's quality by source preference."""
        for q in (self.gga_quality, self.gns_quality, self.rmc_quality, self.gll_quality):
            if q is not None:
                return q
        return 0

    def place(self, rank: int, lat: float | None, lon: float | None) -> None:
        """Take a position unless a better-ranked sentence already gave one."""
        if lat is not None and rank >= self.pos_rank:
            self.pos_rank = rank
            self.lat = lat
            self.lon = lon

    def merge(self, rec: Record) -> None:
        """Merge one sentence record into the epoch."""
        if type(rec) is Gga:
            self.reported = True
            if rec.quality is not None:
                self.gga_quality = rec.quality
            if rec.quality != 0:
                self.place(_RANK_GGA, rec.lat, rec.lon)
            self._extras(_RANK_GGA, rec.alt_m, rec.hdop, rec.sats)
        elif type(rec) is Rmc:
            self.reported = True
            self.rmc_quality = rec.quality
            if rec.day is not None:
                self.day = rec.day
            if rec.valid:
                self.place(_RANK_RMC, rec.lat, rec.lon)
            self._motion(2, rec.speed_mps, rec.course_deg)
        elif type(rec) is Gns:
            self.reported = True
            self.gns_quality = rec.quality
            if rec.quality != 0:
                self.place(_RANK_GNS, rec.lat, rec.lon)
            self._extras(_RANK_GNS, rec.alt_m, rec.hdop, rec.sats)
        elif type(rec) is Gll:
            self.reported = True
            self.gll_quality = rec.quality
            if rec.valid:
                self.place(_RANK_GLL, rec.lat, rec.lon)
        elif type(rec) is Vtg:
            self._motion(1, rec.speed_mps, rec.course_deg)
        elif type(rec) is Gst:
            if rec.lat_sd_m is not None and rec.lon_sd_m is not None:
                self.acc_m = math.hypot(rec.lat_sd_m, rec.lon_sd_m)
        elif type(rec) is Zda:
            if rec.day is not None:
                self.day = rec.day
        elif type(rec) is Gsa:
            self._extras(1, None, rec.hdop, None)

    def resolve_deferred(self, terminal: str, out: list[Output]) -> None:
        """Read the deferred VTG/GSA sentences whose values the epoch still lacks."""
        for body in self.deferred:
            is_vtg = body[2:5] == b"VTG"
            if is_vtg and self.speed_mps is not None and self.course_deg is not None:
                continue
            if not is_vtg and self.hdop is not None:
                continue
            try:
                fields = body[6:].split(b",")
                self.merge(read_vtg(fields) if is_vtg else read_gsa(fields))
            except FieldError as exc:
                text = body.decode("ascii", errors="backslashreplace")
                out.append(DecodeError(DecodeErrorKind.BAD_FIELD, f"{exc}: ${text}", terminal))
        self.deferred = []

    def _extras(self, rank: int, alt_m: float | None, hdop: float | None, sats: int | None) -> None:
        if alt_m is not None and rank >= self.alt_rank:
            self.alt_m, self.alt_rank = alt_m, rank
        if hdop is not None and rank >= self.hdop_rank:
            self.hdop, self.hdop_rank = hdop, rank
        if sats is not None and rank >= self.sats_rank:
            self.sats, self.sats_rank = sats, rank

    def _motion(self, rank: int, speed: float | None, course: float | None) -> None:
        if speed is not None and rank >= self.speed_rank:
            self.speed_mps, self.speed_rank = speed, rank
        if course is not None and rank >= self.course_rank:
            self.course_deg, self.course_rank = course, rank

    def _in_view_tuple(self) -> tuple[tuple[Constellation, int], ...]:
        return tuple((system, self.in_view[system]) for system in Constellation if system in self.in_view)

    def to_fix(self, terminal: str, t_ms: int) -> Fix:
        """The fix of this epoch at instant ``t_ms``."""
        quality = self.quality()
        has_pos = quality != 0 and self.lat is not None
        return Fix(
            t_ms,
            terminal,
            self.lat if has_pos else None,
            self.lon if has_pos else None,
            quality,
            self.acc_m if self.acc_m is not None and self.acc_m > 0 else None,
            self.alt_m,
            self.hdop,
            self.sats,
            self.speed_mps,
            self.course_deg,
            self._in_view_tuple() if self.in_view else (),
        )


class EpochAssembler:
    """Merges sentence records into epochs and emits one fix per epoch."""

    __slots__ = (
        "_terminal",
        "_cur",
        "_ref_ms",
        "_held",
        "_cycle_tod",
        "_cycle_counts",
        "_prev_address",
        "_candidate",
        "_closer",
        "_done_tod",
    )

    def __init__(self, terminal: str) -> None:
        self._terminal = terminal
        self._cur = _Epoch(None)
        self._ref_ms: int | None = None
        self._held: list[_Epoch] = []
        self._cycle_tod: int | None = None
        self._cycle_counts: dict[bytes, int] = {}
        self._prev_address = b""
        self._candidate: bytes | None = None
        self._closer: bytes | None = None
        self._done_tod: int | None = None

    @property
    def closer(self) -> bytes | None:
        """The learned address of the sentence that closes the receiver's cycle."""
        return self._closer

    @property
    def terminal(self) -> str:
        """The terminal whose epochs these are."""
        return self._terminal

    def steady_cycle(self) -> tuple[bytes, ...] | None:
        """The cycle (sentence addresses in order) when the assembler is in the steady
        state, else None. Steady: the learned closer closed the last epoch, which had
        each of its timed sentences once, and no epoch waits for a date. The next epoch
        made of the same sentences with a new time of day is then emitted when its
        closer arrives, with nothing else changing: ``gnss.fastpath`` relies on that."""
        closer = self._closer
        cur = self._cur
        if closer is None or closer != self._prev_address or closer != self._candidate:
            return None
        if not cur.emitted or cur.tod_ms != self._cycle_tod or self._held:
            return None
        counts = self._cycle_counts
        if any(seen != 1 for seen in counts.values()):
            return None
        return tuple(counts)

    def steady_position(self) -> tuple[int | None, int | None]:
        """In the steady state: the last epoch's time of day and the last dated instant."""
        return self._cycle_tod, self._ref_ms

    def is_fresh(self) -> bool:
        """True before the first timed sentence of a stream (or after ``flush``), with
        nothing gathered yet (the last dated instant may remain from before a flush)."""
        cur = self._cur
        return (
            self._cycle_tod is None
            and cur.tod_ms is None
            and not cur.emitted
            and not cur.deferred
            and not cur.in_view
            and not self._held
            and self._closer is None
            and self._candidate is None
            and self._done_tod is None
            and not self._cycle_counts
        )

    def start_steady(self, cycle: tuple[bytes, ...], tod_ms: int, t_ms: int) -> None:
        """State of a fresh assembler after the first epochs of ``cycle`` (each timed
        sentence once, the same ones in each epoch, all dated) were emitted outside
        ``add`` (the fast path): it has learned the closer, the last epoch ended at time
        of day ``tod_ms``, instant ``t_ms``; that is the steady state."""
        self._cycle_tod = tod_ms
        self._cycle_counts = dict.fromkeys(cycle, 1)
        self._prev_address = cycle[-1]
        self._candidate = self._closer = cycle[-1]
        self._cur.tod_ms = tod_ms
        self._cur.emitted = True
        self._done_tod = tod_ms
        self._ref_ms = t_ms

    def resume_steady(self, tod_ms: int, t_ms: int) -> None:
        """State after epochs of the steady cycle were emitted outside ``add`` (the fast
        path), the last one at time of day ``tod_ms``, instant ``t_ms``: the steady state
        again. The cycle's counts, closer and last address are those of every such epoch
        already; of the emitted epoch only its time of day is ever looked at again."""
        self._cycle_tod = tod_ms
        self._cur.tod_ms = tod_ms
        self._done_tod = tod_ms
        self._ref_ms = t_ms

    def add(self, address: bytes, tod_ms: int, rec: Record, out: list[Output]) -> None:
        """Add one timed sentence (its address, time of day and record); fixes go to ``out``."""
        cur = self._target(address, tod_ms, out)
        if cur is not None:
            cur.merge(rec)
            if address == self._closer:
                self._close_early(cur, out)

    def defer(self, body: bytes) -> None:
        """Add an untimed sentence (VTG, GSA) whose fields are read only if the epoch
        lacks what it gives (speed and course, HDOP) when the epoch is closed.

        Like GSV these are kept out of the cycle learning: they repeat (one GSA per
        constellation) or merely follow the position sentences, and the speed, course
        and HDOP they carry come from RMC and GGA in most epochs. After an emitted epoch
        they count for the next one."""
        cur = self._cur
        if cur.emitted:
            cur = self._cur = _Epoch(None)
        cur.deferred.append(body)

    def in_view(self, talker: bytes, raw_count: bytes, out: list[Output]) -> None:
        """Satellites in view of a talker's constellation (first GSV of a group; NMEA 4.11
        sends one group per signal: the largest count is kept). Kept out of the cycle
        learning: GSV repeats, it never closes a cycle. After an emitted epoch it counts
        for the next one."""
        system = TALKER_CONSTELLATION.get(talker)
        if system is None or not raw_count:
            return
        if not raw_count.isdigit():
            detail = f"GSV satellites in view {raw_count!r} is not a count"
            out.append(DecodeError(DecodeErrorKind.BAD_FIELD, detail, self._terminal))
            return
        cur = self._cur
        if cur.emitted:
            cur = self._cur = _Epoch(None)
        count = int(raw_count)
        if count > cur.in_view.get(system, -1):
            cur.in_view[system] = count

    def _close_early(self, cur: _Epoch, out: list[Output]) -> None:
        """The learned closer arrived: emit now, unless the epoch cannot be dated yet
        (then a later sentence of the epoch may still bring the date)."""
        if cur.emitted or cur.tod_ms is None:
            return
        if cur.day is None and self._ref_ms is None:
            return
        self._close(cur, out)

    def _target(self, address: bytes, tod_ms: int, out: list[Output]) -> _Epoch | None:
        """The epoch a timed sentence belongs to (closing the previous one), None to drop it."""
        if tod_ms != self._cycle_tod:
            self._learn()
            self._cycle_tod = tod_ms
        counts = self._cycle_counts
        seen = counts.get(address, 0) + 1
        counts[address] = seen
        self._prev_address = address
        if seen > 1 and address == self._closer:
            self._closer = None
        cur = self._cur
        if cur.tod_ms is None:
            if tod_ms == self._done_tod:
                self._closer = None
                return None
            cur.tod_ms = tod_ms
        elif cur.tod_ms != tod_ms:
            if not cur.emitted:
                self._close(cur, out)
            cur = self._cur = _Epoch(tod_ms)
        elif cur.emitted:
            self._closer = None
            return None
        return cur

    def _learn(self) -> None:
        """A new time of day: the previous sentence closed the cycle that just ended."""
        if self._cycle_tod is None:
            return
        last = self._prev_address
        candidate = last if self._cycle_counts.get(last, 0) == 1 else None
        if candidate != self._closer:
            self._closer = candidate if candidate is not None and candidate == self._candidate else None
        self._candidate = candidate
        self._cycle_counts = {}

    def flush(self, out: list[Output]) -> None:
        """End of stream: emit the epoch in progress; undatable epochs become errors."""
        cur = self._cur
        if not cur.emitted and cur.tod_ms is not None:
            self._close(cur, out)
        for epoch in self._held:
            out.append(self._no_date(epoch))
        self._held = []
        self._cur = _Epoch(None)
        self._cycle_tod = None
        self._cycle_counts = {}
        self._candidate = None
        self._closer = None
        self._done_tod = None

    def _close(self, epoch: _Epoch, out: list[Output]) -> None:
        epoch.emitted = True
        self._done_tod = epoch.tod_ms
        if not epoch.reported or epoch.tod_ms is None:
            return
        if epoch.deferred:
            epoch.resolve_deferred(self._terminal, out)
        if epoch.day is not None:
            t_ms = epoch.day * MS_PER_DAY + epoch.tod_ms
            if self._held:
                self._release_held(t_ms, out)
        elif self._ref_ms is not None:
            t_ms = nearest_instant(epoch.tod_ms, self._ref_ms)
        else:
            self._held.append(epoch)
            if len(self._held) > MAX_UNDATED_EPOCHS:
                out.append(self._no_date(self._held.pop(0)))
            return
        self._ref_ms = t_ms
        self._emit(epoch, t_ms, out)

    def _release_held(self, dated_ms: int, out: list[Output]) -> None:
        """Date the held epochs back from the first dated instant and emit them in order."""
        for epoch in self._held:
            assert epoch.tod_ms is not None
            self._emit(epoch, nearest_instant(epoch.tod_ms, dated_ms), out)
        self._held = []

    def _emit(self, epoch: _Epoch, t_ms: int, out: list[Output]) -> None:
        try:
            out.append(epoch.to_fix(self._terminal, t_ms))
        except FixValueError as exc:
            out.append(DecodeError(DecodeErrorKind.BAD_FIELD, f"epoch gives no valid fix: {exc}", self._terminal))

    def _no_date(self, epoch: _Epoch) -> DecodeError:
        tod = epoch.tod_ms or 0
        hh, rest = divmod(tod, 3_600_000)
        mm, rest = divmod(rest, 60_000)
        return DecodeError(
            DecodeErrorKind.NO_DATE,
            f"epoch {hh:02d}:{mm:02d}:{rest / 1000:06.3f} dropped: no RMC or ZDA gave its date",
            self._terminal,
        )
