"""Fast path of the decoder: whole receiver epochs in the steady state, straight to a fix.

Most of a terminal's stream is the same cycle again and again (``GNGGA, GNRMC, GNGST``
at 1 Hz) once the epoch assembler has learned the sentence that closes it. For such a
cycle the reference path (sentence readers -> records -> ``EpochAssembler.add`` ->
``_Epoch.merge`` -> ``to_fix``) does bookkeeping whose outcome is known in advance.
``CycleReader`` recognises that case and computes each epoch's fix directly.

It gives up (returns without consuming) on anything unusual: a sentence out of the
cycle, a field the strict patterns below do not match, a value the reference would
refuse (minutes >= 60, hour 24, 31 February...), another time of day within the epoch,
the previous epoch's time again, no date. The reference path then decodes those
sentences, errors included: the fast path never decides an error itself.

The patterns accept a subset of what the reference readers accept (``sentences.py``) and
the values come out of the same conversions, so a fast fix equals the reference's;
``tests/gnss/test_fastpath.py`` checks it on the corpus and on generated and mutated input.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from operator import itemgetter

from gnss import native
from gnss.civil import MS_PER_DAY, days_from_civil, nearest_instant, valid_date
from gnss.epoch import EpochAssembler, Output
from gnss.fix import Fix, Quality
from gnss.sentences import MODE_QUALITY, MPS_PER_KNOT, FieldError, rmc_date, time_of_day

SUPPORTED: frozenset[bytes] = frozenset((b"GGA", b"RMC", b"GST", b"ZDA"))
"""Sentence types a steady cycle may be made of (each at most once per cycle)."""

# Field patterns, matched against an epoch's *shape* (its text with every digit made a 9):
# each accepts only text the reference reader accepts. Coordinates: ``ddmm`` / ``dddmm``
# and at most 10 decimals (float() then cannot round the minutes up to 60; minutes and
# degree limits are checked on the value); numbers: at most 15 digits before and after
# the point (always finite).
_TIME = rb"\d{6}(?:\.\d*)?"
_LAT = rb"(?:\d{4}(?:\.\d{0,10})?,[NS]|,)"
_LON = rb"(?:\d{5}(?:\.\d{0,10})?,[EW]|,)"
_NUM = rb"(?:-?\d{1,15}(?:\.\d{0,15})?)?"
_ANY = rb",[^,\n]*"
_REST = rb"(?:,[^\n]*)?"
_MODES = "".join(MODE_QUALITY).encode("ascii")
_FIELDS: dict[bytes, bytes] = {
    b"GGA": b"," + _LAT + b"," + _LON + rb",\d?,(?:\d{1,3})?," + _NUM + b"," + _NUM + _REST,
    b"RMC": rb",[AV]," + _LAT + b"," + _LON + b"," + _NUM + b"," + _NUM + rb",(?:\d{6})?"
    + _ANY + _ANY + rb"(?:,[" + _MODES + rb"]?" + _REST + b")?",
    b"GST": _ANY * 4 + b"," + _NUM + b"," + _NUM + _REST,
    b"ZDA": rb",\d\d,\d\d,\d{4}" + _REST,
}
"""After the address and the time: the fields of each sentence type."""
_WANTED: dict[bytes, tuple[int, ...]] = {
    b"GGA": (2, 3, 4, 5, 6, 7, 8, 9),  # lat, N/S, lon, E/W, quality, sats, HDOP, altitude
    b"RMC": (2, 3, 4, 5, 6, 7, 8, 9, 12),  # status, lat, N/S, lon, E/W, knots, course, date, mode
    b"GST": (6, 7),  # latitude and longitude 1-sigma errors
    b"ZDA": (2, 3, 4),  # day, month, year
}
"""Field numbers (0 = address) each type gives to the canonical tuple, in its order."""
_SEPARATOR = b",\n,"
"""Joins an epoch's bodies: no field runs into the next sentence's address."""
_SHAPE = bytes.maketrans(b"0123456789", b"9999999999")
_MODE = {letter.encode("ascii"): quality for letter, quality in MODE_QUALITY.items()}
_SINGLE = int(Quality.SINGLE)
_DAYS: dict[bytes, int] = {}
"""Date text (RMC ``ddmmyy``, or ZDA ``dd,mm,yyyy``) -> day number, for valid dates."""
_DAYS_MAX = 4096
_PLANS_MAX = 1024
"""Shapes remembered per cycle (number widths vary: altitude, speed, course, HDOP...)."""
_UNKNOWN = object()
"""A shape not seen yet (``None`` in the plans: seen, not readable)."""
_NATIVE_TYPES = {b"GGA": 1, b"RMC": 2, b"GST": 3, b"ZDA": 4}
"""Sentence types the C extension's ``run_cycle`` reads (its codes)."""
_NATIVE_TABLE: tuple[object, ...] = (
    *(_MODE.get(bytes((code,))) for code in range(256)), _SINGLE, MPS_PER_KNOT, None
)
"""``run_cycle``'s constants: the quality of each mode letter, SINGLE, m/s per knot."""
_TODS: dict[bytes, int] = {}
"""Time text -> ms of day, for valid times (the reference conversion, remembered)."""


def _time_of_day(raw: bytes) -> int:
    """The reference ``time_of_day`` of a time text; remembered; ``_GiveUp`` if refused."""
    try:
        tod = time_of_day(raw)
    except FieldError:
        raise _GiveUp from None
    assert tod is not None
    return _remember(_TODS, raw, tod)


def _remember(cache: dict[bytes, int], raw: bytes, value: int) -> int:
    """Keep ``value`` for the text ``raw`` (the cache starts again when full); ``value``."""
    if len(cache) >= _DAYS_MAX:
        cache.clear()
    cache[raw] = value
    return value


class _GiveUp(Exception):
    """Internal: the reference path must decode this epoch."""


def _day(raw: bytes, zda: bool) -> int:
    """Day number of an RMC or ZDA date text (the reference conversion, remembered)."""
    day = _DAYS.get(raw)
    if day is not None:
        return day
    if zda:
        d, m, y = raw.split(b",")
        year, month, dom = int(y), int(m), int(d)
        if not valid_date(year, month, dom):
            raise _GiveUp
        day = days_from_civil(year, month, dom)
    else:
        try:
            day = rmc_date(raw)
        except FieldError:
            raise _GiveUp from None
        assert day is not None
    return _remember(_DAYS, raw, day)


_READERS: dict[tuple[bytes, ...], CycleReader | None] = {}
_READERS_MAX = 64


def reader_for(cycle: tuple[bytes, ...]) -> CycleReader | None:
    """The (shared) reader of a steady cycle, None when the fast path cannot read it.
    Readers hold no stream state, only what they learned about shapes, so all the
    decoders of a park share them."""
    try:
        return _READERS[cycle]
    except KeyError:
        reader = CycleReader(cycle) if readable_cycle(cycle) else None
        if len(_READERS) >= _READERS_MAX:  # receivers changing their cycles again and again
            _READERS.clear()
        _READERS[cycle] = reader
        return reader


def _untimed_apart(items: list[bytes | object], start: int, size: int) -> tuple[list[bytes], int, bool, bool] | None:
    """From ``items[start:]``: the next ``size`` bodies that are not VTG or GSA, the
    index after the last of them, and whether VTG and GSA bodies came in between."""
    timed: list[bytes] = []
    vtg = gsa = False
    j = start
    n = len(items)
    while len(timed) < size:
        if j == n:
            return None
        body = items[j]
        j += 1
        if type(body) is not bytes:
            return None
        kind = body[2:5]
        if kind == b"VTG":
            vtg = True
        elif kind == b"GSA":
            gsa = True
        else:
            timed.append(body)
    if not (vtg or gsa):
        return None
    return timed, j, vtg, gsa


def readable_cycle(cycle: tuple[bytes, ...]) -> bool:
    """True when the fast path can read this cycle: supported types, each once, and a
    position sentence (GGA or RMC) among them."""
    types = [address[2:5] for address in cycle]
    return (
        len(set(types)) == len(types)
        and all(kind in SUPPORTED for kind in types)
        and (b"GGA" in types or b"RMC" in types)
        and all(re.fullmatch(rb"[A-Z][A-Z0-9]{4}", address) for address in cycle)
    )


class CycleReader:
    """Reads whole epochs of one steady cycle of timed sentences straight into fixes.

    An epoch's bodies are joined and turned into a shape (digits made 9s). The first time
    a shape is seen it is checked against the cycle's pattern and, when it matches, gives
    a plan: where each wanted field is. Epochs of a known shape are then read with one
    split and one ``itemgetter`` call; values are converted as the reference converts them.
    """

    __slots__ = ("cycle", "_size", "_pattern", "_types", "_plans", "_zda_last", "native_types")

    def __init__(self, cycle: tuple[bytes, ...]) -> None:
        """``cycle``: the sentence addresses of one epoch in order (``readable_cycle``)."""
        if not readable_cycle(cycle):
            raise ValueError(f"not a cycle the fast path reads: {cycle!r}")
        self.cycle = cycle
        self._size = len(cycle)
        self._types = tuple(address[2:5] for address in cycle)
        self._pattern = re.compile(
            _SEPARATOR.join(address + b"," + _TIME + _FIELDS[address[2:5]] for address in cycle)
        )
        self._plans: dict[bytes, Callable[[list[bytes]], tuple[bytes, ...]] | None] = {}
        self._zda_last = b"ZDA" in self._types and (
            b"RMC" not in self._types or self._types.index(b"ZDA") > self._types.index(b"RMC")
        )
        self.native_types = (
            bytes(_NATIVE_TYPES[kind] for kind in self._types)
            if all(kind in _NATIVE_TYPES for kind in self._types) and all(a.isalpha() for a in cycle)
            else None
        )
        """The cycle's type codes for ``run_cycle`` (None: a cycle it does not read;
        addresses with digits: the shapes above never match them, so neither does C)."""

    def _plan(self, shape: bytes) -> Callable[[list[bytes]], tuple[bytes, ...]] | None:
        """The getter of the canonical fields of an epoch of this shape (None: not readable)."""
        if self._pattern.fullmatch(shape) is None:
            return None
        lines = shape.split(_SEPARATOR)
        starts = []
        at = 0
        for line in lines:
            starts.append(at)
            at += line.count(b",") + 2  # the separator's "\n" is a field of its own
        sizes = [line.count(b",") + 1 for line in lines]
        times = [start + 1 for start in starts]
        picks: list[int] = times + [times[0]] * (4 - len(times))
        for kind in (b"GGA", b"RMC", b"GST", b"ZDA"):
            if kind in self._types:
                j = self._types.index(kind)
                picks += [starts[j] + k if k < sizes[j] else -1 for k in _WANTED[kind]]
            else:
                picks += [-1] * len(_WANTED[kind])
        return itemgetter(*picks)

    def run(
        self,
        items: list[bytes | object],
        start: int,
        assembler: EpochAssembler,
        out: list[Output],
        native_ok: bool = True,
    ) -> tuple[int, int]:
        """Decode as many whole epochs as possible from ``items[start:]`` (the assembler
        being in this cycle's steady state); returns the index of the first item not
        consumed and the number of epochs decoded. The assembler's state is brought up
        to date at the end.

        VTG and GSA sentences may come anywhere before the closer (the reference defers
        them to the epoch and reads them only when the epoch lacks speed and course, or
        HDOP): when the epoch lacks what one of them gives, the reference decodes it."""
        prev_tod, ref_ms = assembler.steady_position()
        terminal = assembler.terminal
        i = start
        epochs = 0
        run_cycle = native.run_cycle if native_ok and self.native_types is not None else None
        while True:
            if run_cycle is not None:
                i, decoded, prev_tod, ref_ms = run_cycle(
                    items, i, self.cycle, self.native_types, prev_tod, ref_ms, terminal,
                    native.make_fix, math.hypot, _NATIVE_TABLE, out,
                )
                epochs += decoded
                if i + self._size > len(items):
                    break
            got = self.epoch(items, i, prev_tod, ref_ms, terminal, True)
            if got is None:
                break
            fix, prev_tod, ref_ms, i = got
            out.append(fix)
            epochs += 1
        if epochs:
            assembler.resume_steady(prev_tod, ref_ms)  # type: ignore[arg-type]
        return i, epochs

    def epoch(
        self,
        items: list[bytes | object],
        i: int,
        prev_tod: int | None,
        ref_ms: int | None,
        terminal: str,
        untimed: bool,
    ) -> tuple[Fix, int, int, int] | None:
        """The epoch of this cycle at ``items[i]``: its fix, time of day, instant and the
        index after it; None when the reference must decode it. ``prev_tod``: the previous
        epoch's time of day (this one must differ), ``ref_ms``: the last dated instant,
        ``untimed``: VTG and GSA may come in between."""
        size = self._size
        if i + size > len(items):
            return None
        try:
            joined = _SEPARATOR.join(items[i : i + size])  # type: ignore[arg-type]
            getter = self._plans.get(joined.translate(_SHAPE), _UNKNOWN)
            if getter is _UNKNOWN:
                getter = self._getter(joined)
            after = i + size
            vtg = gsa = False
            if getter is None:  # VTG or GSA among the sentences?
                found = _untimed_apart(items, i, size) if untimed else None
                if found is None:
                    return None
                timed, after, vtg, gsa = found
                joined = _SEPARATOR.join(timed)
                getter = self._getter(joined)
                if getter is None:
                    return None
            fields = joined.split(b",")
            fields.append(b"")
            g = getter(fields)  # type: ignore[operator]
            if not (g[0] == g[1] == g[2] == g[3]):
                return None
            tod = _TODS.get(g[0])
            if tod is None:
                tod = _time_of_day(g[0])
            if tod == prev_tod:
                return None
            fix, t_ms = self._fix(g, tod, ref_ms, terminal, vtg, gsa)
        except (TypeError, _GiveUp):  # TypeError: an error among the items
            return None
        return fix, tod, t_ms, after

    def _getter(self, joined: bytes) -> Callable[[list[bytes]], tuple[bytes, ...]] | None:
        """The plan of the joined bodies' shape (made and remembered the first time)."""
        shape = joined.translate(_SHAPE)
        plans = self._plans
        try:
            return plans[shape]
        except KeyError:
            getter = self._plan(shape)
            if len(plans) >= _PLANS_MAX:
                plans.clear()
            plans[shape] = getter
            return getter

    def _fix(
        self, g: tuple[bytes, ...], tod: int, ref_ms: int | None, terminal: str, vtg: bool, gsa: bool
    ) -> tuple[Fix, int]:
        """The fix of one epoch and its instant, by the merge rules of ``gnss.epoch._Epoch``
        (a GGA position beats an RMC one; GGA quality beats RMC's; the later of RMC and
        ZDA gives the date); ``_GiveUp`` when the reference must decode the epoch (a VTG
        or GSA it would read, no date). ``g``: the canonical fields (empty where absent)."""
        (_t0, _t1, _t2, _t3, g_lat, g_ns, g_lon, g_ew, g_q, g_sats, g_hdop, g_alt,
         r_status, r_lat, r_ns, r_lon, r_ew, r_knots, r_course, r_date, r_mode,
         s_lat, s_lon, z_d, z_m, z_y) = g
        # Coordinates the reference would refuse (minutes >= 60) or that reach 90 / 180
        # degrees: leave them to the reference. The shape fixed ddmm / dddmm digits.
        if g_lat and not (g_lat[0] < 57 and g_lat[2] < 54):
            raise _GiveUp
        if g_lon and not ((g_lon[0] == 48 or g_lon[0] == 49 and g_lon[1] < 56) and g_lon[3] < 54):
            raise _GiveUp
        if r_lat and not (r_lat[0] < 57 and r_lat[2] < 54):
            raise _GiveUp
        if r_lon and not ((r_lon[0] == 48 or r_lon[0] == 49 and r_lon[1] < 56) and r_lon[3] < 54):
            raise _GiveUp
        quality = 0
        lat_raw = lon_raw = b""
        if r_status == b"A":
            quality = _MODE[r_mode] if r_mode else _SINGLE
            lat_raw, lon_raw, ns, ew = r_lat, r_lon, r_ns, r_ew
        if g_q:
            quality = g_q[0] - 48
        if g_lat and g_lon and g_q != b"0":
            lat_raw, lon_raw, ns, ew = g_lat, g_lon, g_ns, g_ew
        lat = lon = acc = None
        if quality != 0 and lat_raw and lon_raw:
            value = float(lat_raw)
            degrees = int(value) // 100
            lat = degrees + (value - degrees * 100) / 60.0
            if ns == b"S":
                lat = -lat
            value = float(lon_raw)
            degrees = int(value) // 100
            lon = degrees + (value - degrees * 100) / 60.0
            if ew == b"W":
                lon = -lon
        if (vtg and not (r_knots and r_course)) or (gsa and not g_hdop):
            raise _GiveUp  # the reference reads the VTG or GSA then
        day = (_DAYS.get(r_date) or _day(r_date, False)) if r_date else None
        if z_d and (day is None or self._zda_last):
            day = _day(b",".join((z_d, z_m, z_y)), True)
        if day is not None:
            t_ms = day * MS_PER_DAY + tod
        elif ref_ms is not None:
            t_ms = nearest_instant(tod, ref_ms)
        else:
            raise _GiveUp
        if s_lat and s_lon:
            acc = math.hypot(float(s_lat), float(s_lon))
            if acc <= 0:
                acc = None
        fix = Fix.of_checked(
            t_ms,
            terminal,
            lat,
            lon,
            quality,
            acc,
            float(g_alt) if g_alt else None,
            float(g_hdop) if g_hdop else None,
            int(g_sats) if g_sats else None,
            float(r_knots) * MPS_PER_KNOT if r_knots else None,
            float(r_course) if r_course else None,
        )
        return fix, t_ms


LEARNING_EPOCHS = 3
"""Epochs the assembler needs from a fresh start to learn a cycle's closer."""


def warm_up(
    items: list[bytes | object], start: int, assembler: EpochAssembler, out: list[Output], native_ok: bool = True
) -> tuple[int, int]:
    """From a fresh assembler (``EpochAssembler.is_fresh``): when ``items[start:]`` opens
    with ``LEARNING_EPOCHS`` whole epochs of one readable cycle (nothing in between),
    decode them and put the assembler in the steady state the reference reaches after
    them; returns the index after them and the number of epochs (0: nothing done).

    The reference emits the first two when the next epoch starts and the third on its
    closer (learned by then): within one call the same fixes in the same order. The
    cycle is guessed as the sentences up to the first address that comes again.
    ``native_ok``: the C extension may read the epochs (``CycleReader.run``)."""
    n = len(items)
    cycle: list[bytes] = []
    j = start
    while j < n and len(cycle) <= len(SUPPORTED):
        body = items[j]
        if type(body) is not bytes:
            return start, 0
        address = body[:5]
        if address in cycle:
            break
        cycle.append(address)
        j += 1
    reader = reader_for(tuple(cycle)) if j < n else None
    if reader is None or start + LEARNING_EPOCHS * len(cycle) > n:
        return start, 0
    prev_tod, ref_ms = assembler.steady_position()
    fixes: list[Output] = []
    if native_ok and native.run_cycle is not None and reader.native_types is not None:
        i, decoded, tod, t_ms = native.run_cycle(
            items, start, reader.cycle, reader.native_types, prev_tod, ref_ms, assembler.terminal,
            native.make_fix, math.hypot, _NATIVE_TABLE, fixes, LEARNING_EPOCHS, False,
        )
        if decoded == LEARNING_EPOCHS:
            assembler.start_steady(reader.cycle, tod, t_ms)  # type: ignore[arg-type]
            out += fixes
            return i, LEARNING_EPOCHS
        fixes.clear()  # the Python reader decides (and gives up the same way or reads more)
    i = start
    for _ in range(LEARNING_EPOCHS):
        got = reader.epoch(items, i, prev_tod, ref_ms, assembler.terminal, False)
        if got is None:
            return start, 0
        fix, prev_tod, ref_ms, i = got
        fixes.append(fix)
    assembler.start_steady(reader.cycle, prev_tod, ref_ms)  # type: ignore[arg-type]
    out += fixes
    return i, LEARNING_EPOCHS
