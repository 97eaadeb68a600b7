"""The movement model: deterministic, time-ordered, physically plausible."""

from __future__ import annotations

import math
from collections import defaultdict

from fence.simulate.model import Behaviour
from fence.simulate.simulator import Simulator, fix_log_lines
from fence.simulate.wire import Damage
from gnss.fix import Quality
from gnss.fixjson import parse_fix_line
from tests.simulate.sites import T0_MS, site
from zones.index import ZoneIndex
from zones.model import TerminalKind

MINUTES_10_MS = 600_000


def _bytes(seed: int, **kwargs: object) -> bytes:
    sim = Simulator(site(), seed=seed, start_ms=T0_MS, **kwargs)  # type: ignore[arg-type]
    return b"".join(m.payload for m in sim.messages(T0_MS + 120_000))


def test_same_seed_gives_the_same_bytes() -> None:
    assert _bytes(3) == _bytes(3)
    assert _bytes(3, n_terminals=40, stagger=True) == _bytes(3, n_terminals=40, stagger=True)


def test_different_seeds_give_different_bytes() -> None:
    assert _bytes(3) != _bytes(4)


def test_each_call_starts_again_at_the_start_instant() -> None:
    sim = Simulator(site(), seed=5, start_ms=T0_MS)
    first = [(m.terminal, m.t_ms, m.payload) for m in sim.messages(T0_MS + 30_000)]
    again = [(m.terminal, m.t_ms, m.payload) for m in sim.messages(T0_MS + 30_000)]
    assert first == again
    assert first[0][1] == T0_MS


def test_messages_come_in_time_order_within_the_window() -> None:
    sim = Simulator(site(), seed=1, start_ms=T0_MS, n_terminals=57, stagger=True)
    times = [m.t_ms for m in sim.messages(T0_MS + 20_000)]
    assert times == sorted(times)
    assert times[0] >= T0_MS and times[-1] < T0_MS + 20_000
    assert len(set(times)) > 20  # staggered: epochs spread over each second
    assert all(t % 10 == 0 for t in times)  # NMEA carries centiseconds


def test_extra_terminals_are_unregistered_persons() -> None:
    sim = Simulator(site(), seed=1, start_ms=T0_MS, n_terminals=25)
    ids = [r.terminal.id for r in sim.roles]
    assert ids[:20] == list(site().terminals)
    assert ids[20:] == [f"SIM-{i:05d}" for i in range(1, 6)]
    assert all(r.terminal.kind is TerminalKind.PERSON for r in sim.roles[20:])


def _speeds(sim: Simulator, duration_ms: int) -> dict[str, list[float]]:
    """Implied speeds between consecutive RTK fixed fixes, per terminal."""
    index = ZoneIndex.build(sim.site)
    last: dict[str, tuple[int, float, float]] = {}
    out: dict[str, list[float]] = defaultdict(list)
    for s in sim.samples(T0_MS + duration_ms):
        if s.quality is not Quality.RTK_FIXED or s.lat is None or s.lon is None:
            last.pop(s.terminal, None)
            continue
        x, y = index.project(s.lon, s.lat)
        prev = last.get(s.terminal)
        if prev is not None and s.t_ms - prev[0] == 1000:
            out[s.terminal].append(math.hypot(x - prev[1], y - prev[2]))
        last[s.terminal] = (s.t_ms, x, y)
    return out


def test_persons_walk_and_vehicles_drive_at_plausible_speeds() -> None:
    sim = Simulator(site(), seed=2, start_ms=T0_MS)
    speeds = _speeds(sim, MINUTES_10_MS)
    kinds = {r.terminal.id: r.terminal.kind for r in sim.roles}
    person = [v for t, vs in speeds.items() if kinds[t] is TerminalKind.PERSON for v in vs]
    vehicle = [v for t, vs in speeds.items() if kinds[t] is TerminalKind.VEHICLE for v in vs]
    moving_person = [v for v in person if v > 0.5]
    moving_vehicle = [v for v in vehicle if v > 2.0]
    assert max(person) < 2.0
    assert 1.1 < sorted(moving_person)[len(moving_person) // 2] < 1.7
    assert max(vehicle) < 10.5
    assert 5.0 <= sorted(moving_vehicle)[len(moving_vehicle) // 2] <= 10.0
    assert any(v < 0.1 for v in person)  # pauses


def test_noise_follows_the_quality() -> None:
    """Standing terminals scatter by about 2 cm in RTK fixed, metres in single point."""
    sim = Simulator(site(), seed=11, start_ms=T0_MS, n_terminals=60)
    index = ZoneIndex.build(sim.site)
    spread: dict[Quality, list[float]] = defaultdict(list)
    previous: dict[str, tuple[Quality, float, float]] = {}
    for s in sim.samples(T0_MS + 2 * MINUTES_10_MS):
        if s.lat is None or s.lon is None or s.speed_mps > 0:
            previous.pop(s.terminal, None)
            continue
        x, y = index.project(s.lon, s.lat)
        prev = previous.get(s.terminal)
        if prev is not None and prev[0] is s.quality:
            spread[s.quality].append(math.hypot(x - prev[1], y - prev[2]))
        previous[s.terminal] = (s.quality, x, y)
    fixed = sorted(spread[Quality.RTK_FIXED])
    assert 0.01 < fixed[len(fixed) // 2] < 0.05
    assert max(fixed) < 0.2
    assert spread[Quality.SINGLE], "no single-point epochs in 20 minutes of 60 terminals"
    assert max(spread[Quality.SINGLE]) > max(fixed)


def test_field_receivers_change_quality_drop_out_and_damage_bytes() -> None:
    sim = Simulator(site(), seed=4, start_ms=T0_MS, n_terminals=60)
    seen: dict[str, set[int]] = defaultdict(set)
    qualities: set[Quality] = set()
    damages: set[Damage] = set()
    for m in sim.messages(T0_MS + 2 * MINUTES_10_MS):
        seen[m.terminal].add(m.t_ms)
        qualities.add(Quality(m.fix.quality))
        damages.add(m.damage)
    expected = set(range(T0_MS, T0_MS + 2 * MINUTES_10_MS, 1000))
    gaps = [len(expected - times) for times in seen.values()]
    assert any(g > 0 for g in gaps), "no dropout at all"
    assert {Quality.RTK_FIXED, Quality.RTK_FLOAT, Quality.SINGLE} <= qualities
    assert {Damage.NONE, Damage.BAD_CHECKSUM, Damage.GARBAGE} <= damages


def test_behaviours_match_kinds_and_roles() -> None:
    sim = Simulator(site(), seed=0, start_ms=T0_MS)
    for role in sim.roles:
        if role.terminal.kind is TerminalKind.VEHICLE:
            assert role.behaviour is Behaviour.DRIVE
        elif "security" in role.terminal.roles:
            assert role.behaviour is Behaviour.PATROL
        else:
            assert role.behaviour in (Behaviour.WANDER, Behaviour.PATROL)
        assert role.talker in ("GN", "BD", "GB")


def test_fix_log_lines_are_contract_fixes_of_the_samples() -> None:
    sim = Simulator(site(), seed=9, start_ms=T0_MS)
    lines = list(fix_log_lines(sim, 60))
    samples = list(sim.samples(T0_MS + 60_000))
    assert len(lines) == len(samples) > 0
    for line, sample in zip(lines, samples, strict=True):
        fix = parse_fix_line(line)
        assert (fix.terminal, fix.t_ms, fix.quality) == (sample.terminal, sample.t_ms, sample.quality)
        assert fix.lat == sample.lat and fix.lon == sample.lon


def test_only_some_terminals_are_computed_without_changing_them() -> None:
    sim = Simulator(site(), seed=8, start_ms=T0_MS, n_terminals=30, stagger=True)
    chosen = {"W-003", "V-002", "SIM-00007"}
    everything = [(m.terminal, m.t_ms, m.payload) for m in sim.messages(T0_MS + 60_000)]
    some = [(m.terminal, m.t_ms, m.payload) for m in sim.messages(T0_MS + 60_000, chosen)]
    assert some == [x for x in everything if x[0] in chosen]
    assert {x[0] for x in some} == chosen
