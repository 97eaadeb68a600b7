"""The NMEA the simulator writes decodes back to the fixes it intended."""

from __future__ import annotations

from collections import defaultdict

from fence.simulate.simulator import Message, Simulator
from fence.simulate.wire import NO_FAULTS, Damage, Faults
from gnss.decoder import NmeaDecoder
from gnss.errors import DecodeError, DecodeErrorKind
from gnss.fix import Fix
from tests.simulate.sites import T0_MS, site

DURATION_MS = 300_000


def _by_terminal(messages: list[Message]) -> dict[str, list[Message]]:
    out: dict[str, list[Message]] = defaultdict(list)
    for m in messages:
        out[m.terminal].append(m)
    return out


def _decode(terminal: str, messages: list[Message]) -> list[Fix | DecodeError]:
    decoder = NmeaDecoder(terminal)
    out: list[Fix | DecodeError] = []
    for m in messages:
        out += decoder.feed(m.payload)
    return out + decoder.flush()


def _assert_same_fix(got: Fix, want: Fix, *, acc: bool = True) -> None:
    assert (got.terminal, got.t_ms, got.quality) == (want.terminal, want.t_ms, want.quality)
    if want.lat is None or want.lon is None:
        assert got.lat is None and got.lon is None
        return
    assert got.lat is not None and got.lon is not None
    assert abs(got.lat - want.lat) < 1e-7
    assert abs(got.lon - want.lon) < 1e-7
    if acc:  # acc from GST, as the decoder computes it
        assert want.acc_m is not None and got.acc_m is not None
        assert abs(got.acc_m - want.acc_m) < 1e-9


def test_clean_nmea_decodes_to_the_intended_fixes() -> None:
    sim = Simulator(site(), seed=21, start_ms=T0_MS, n_terminals=30, faults=NO_FAULTS)
    streams = _by_terminal(list(sim.messages(T0_MS + DURATION_MS)))
    qualities = set()
    for terminal, messages in streams.items():
        decoded = _decode(terminal, messages)
        errors = [d for d in decoded if isinstance(d, DecodeError)]
        assert errors == []
        fixes = [d for d in decoded if isinstance(d, Fix)]
        assert len(fixes) == len(messages)
        for got, m in zip(fixes, messages, strict=True):
            _assert_same_fix(got, m.fix)
            qualities.add(got.quality)
    assert {1, 4, 5} <= qualities


def test_payloads_are_gga_rmc_gst_with_beidou_talkers() -> None:
    sim = Simulator(site(), seed=21, start_ms=T0_MS, faults=NO_FAULTS)
    talkers = set()
    for m in sim.messages(T0_MS + 10_000):
        lines = m.payload.decode("ascii").split("\r\n")
        assert lines[-1] == ""
        kinds = [line[3:6] for line in lines[:-1]]
        assert kinds == (["GGA", "RMC", "GST"] if m.fix.lat is not None else ["GGA", "RMC"])
        talkers.add(lines[0][1:3])
        assert len({line[1:3] for line in lines[:-1]}) == 1
    assert talkers <= {"GN", "BD", "GB"} and len(talkers) >= 2


def test_damaged_epochs_are_reported_and_clean_ones_still_decode() -> None:
    faults = Faults(bad_checksum_p=0.05, garbage_p=0.03)
    sim = Simulator(site(), seed=22, start_ms=T0_MS, n_terminals=12, faults=faults)
    streams = _by_terminal(list(sim.messages(T0_MS + DURATION_MS)))
    kinds: set[DecodeErrorKind] = set()
    damaged = 0
    for terminal, messages in streams.items():
        decoded = _decode(terminal, messages)
        kinds |= {d.kind for d in decoded if isinstance(d, DecodeError)}
        fixes = {f.t_ms: f for f in decoded if isinstance(f, Fix)}
        for m in messages:
            if m.damage is Damage.NONE:
                # after lost GSTs the decoder may close epochs at RMC, without acc
                _assert_same_fix(fixes[m.t_ms], m.fix, acc=False)
            else:
                damaged += 1
    assert damaged > 50
    assert DecodeErrorKind.BAD_CHECKSUM in kinds
    assert kinds - {DecodeErrorKind.BAD_CHECKSUM}, "garbage lines went unreported"


def test_five_hertz_staggered_receivers_decode_to_centisecond_times() -> None:
    sim = Simulator(site(), seed=23, start_ms=T0_MS, n_terminals=7, step_ms=200,
                    stagger=True, faults=NO_FAULTS)
    streams = _by_terminal(list(sim.messages(T0_MS + 20_000)))
    offsets = set()
    for terminal, messages in streams.items():
        fixes = [d for d in _decode(terminal, messages) if isinstance(d, Fix)]
        assert [f.t_ms for f in fixes] == [m.t_ms for m in messages]
        for got, m in zip(fixes, messages, strict=True):
            _assert_same_fix(got, m.fix)
        offsets.add(messages[0].t_ms - T0_MS)
        gaps = {b.t_ms - a.t_ms for a, b in zip(messages, messages[1:], strict=False)}
        assert all(g > 0 and g % 200 == 0 for g in gaps)  # a dropout leaves a longer gap
    assert offsets == {0, 20, 50, 80, 110, 140, 170}
