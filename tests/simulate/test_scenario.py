"""The all-events scenario, run through the evaluator, raises every event type."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from events.evaluator import Evaluator
from events.model import Event, EventState, EventType
from fence.simulate.model import Behaviour
from fence.simulate.scenario import Scenario
from fence.simulate.simulator import Simulator
from gnss.decoder import NmeaDecoder
from gnss.fix import Fix
from gnss.instant import parse_instant
from tests.simulate.sites import S11, S12, T0_MS, demo_site, site
from tests.support.paths import SPEC_EXAMPLES
from zones.site import load_site

S13 = SPEC_EXAMPLES / "s13" / "fence.toml"


def _events_from_fixes(sim: Simulator) -> list[Event]:
    assert sim.duration_s is not None
    end_ms = sim.start_ms + round(sim.duration_s * 1000)
    evaluator = Evaluator(sim.site)
    events: list[Event] = []
    for sample in sim.samples(end_ms):
        events += evaluator.feed(sample.fix())
    return events + evaluator.advance_to(end_ms)


def _raised(events: list[Event]) -> set[EventType]:
    return {e.type for e in events if e.state is EventState.RAISED}


@pytest.mark.parametrize(
    ("config", "start", "seed"),
    [
        (S11, "2026-11-28T01:00:00Z", 0),
        (S11, "2026-11-28T14:37:00Z", 5),  # 22:37 local: CONTROL unstaffed, LAB always
        (S12, "2026-11-28T01:00:00Z", 3),
        (S13, "2026-11-29T06:10:00Z", 7),
    ],
)
def test_every_event_type_is_raised(config: Path, start: str, seed: int) -> None:
    sim = Simulator(site(config), seed=seed, start_ms=parse_instant(start),
                    scenario=Scenario.ALL_EVENTS)
    assert sim.missing == ()
    assert sim.duration_s is not None and sim.duration_s < 15 * 60  # a few minutes
    events = _events_from_fixes(sim)
    assert _raised(events) == set(EventType)


def test_too_few_terminals_are_topped_up_with_unregistered_persons() -> None:
    sim = Simulator(site(S11), seed=0, start_ms=T0_MS, n_terminals=1,
                    scenario=Scenario.ALL_EVENTS)
    assert any(r.terminal.id.startswith("SIM-") for r in sim.roles)
    assert _raised(_events_from_fixes(sim)) == set(EventType)


@pytest.mark.parametrize("hour_utc", [2, 15, 20])  # 10:00, 23:00 and 04:00 local
def test_every_event_type_is_raised_on_the_demo_site(hour_utc: int) -> None:
    """The bundled demo site has nested zones (a reactor bay in its unit, tanks in their
    farm); staging points may lie in a zone's holders, and permits cover them too."""
    start = parse_instant(f"2026-11-28T{hour_utc:02d}:00:00Z")
    sim = Simulator(demo_site(), seed=hour_utc, start_ms=start, scenario=Scenario.ALL_EVENTS)
    assert sim.missing == ()
    events = _events_from_fixes(sim)
    assert _raised(events) == set(EventType)
    raised = Counter(e.type for e in events if e.state is EventState.RAISED)
    # only the scripted alarms: nobody strays, waits stock-still or drops out for long
    for kind in set(EventType) - {EventType.UNDERMANNING}:  # other staffed zones stay empty
        assert raised[kind] == 1, (kind, raised)
    trespassers = {e.terminal for e in events
                   if e.type is EventType.TRESPASS and e.state is EventState.RAISED}
    note = {r.terminal.id: r.note for r in sim.roles}
    assert any(note[t].startswith("trespass") for t in trespassers if t is not None)


def test_scripted_conditions_are_also_cleared() -> None:
    sim = Simulator(site(S11), seed=1, start_ms=T0_MS, scenario=Scenario.ALL_EVENTS)
    events = _events_from_fixes(sim)
    cleared = {e.type for e in events if e.state is EventState.CLEARED}
    assert cleared == set(EventType)
    notes = {r.terminal.id: r.note for r in sim.roles if r.behaviour is Behaviour.SCRIPT}
    by_terminal = Counter(
        (e.terminal, e.type) for e in events if e.state is EventState.RAISED and e.terminal
    )
    for (terminal, kind), _count in by_terminal.items():
        if kind in (EventType.TRESPASS, EventType.LOITERING, EventType.STILLNESS):
            assert notes.get(terminal, "").startswith(kind.value), (terminal, kind, notes)


def test_the_scenario_through_nmea_and_the_decoder_raises_every_event_type() -> None:
    sim = Simulator(site(S12), seed=2, start_ms=T0_MS, scenario=Scenario.ALL_EVENTS)
    assert sim.duration_s is not None
    end_ms = sim.start_ms + round(sim.duration_s * 1000)
    decoders: dict[str, NmeaDecoder] = {}
    evaluator = Evaluator(sim.site)
    events: list[Event] = []
    for m in sim.messages(end_ms):
        decoder = decoders.setdefault(m.terminal, NmeaDecoder(m.terminal))
        for item in decoder.feed(m.payload):
            if isinstance(item, Fix):
                events += evaluator.advance_to(m.t_ms)
                events += evaluator.feed(item)
    events += evaluator.advance_to(end_ms)
    assert _raised(events) == set(EventType)


def test_the_scenario_is_deterministic() -> None:
    def run() -> list[bytes]:
        sim = Simulator(site(S11), seed=4, start_ms=T0_MS, scenario=Scenario.ALL_EVENTS)
        return [m.payload for m in sim.messages(T0_MS + 90_000)]

    assert run() == run()


def _square(lon: float, lat: float, half_deg: float) -> list[list[list[float]]]:
    return [[[lon - half_deg, lat - half_deg], [lon + half_deg, lat - half_deg],
             [lon + half_deg, lat + half_deg], [lon - half_deg, lat + half_deg],
             [lon - half_deg, lat - half_deg]]]


def _small_site(tmp_path: Path, staffed: str) -> Path:
    features = [
        {"id": "YARD", "access": "restricted"},
        {"id": "DOCK", "max_occupancy": 2, "hold_s": 10, "max_dwell_s": 120},
        {"id": "ROOM", "min_occupancy": 1, "staffed": [staffed], "hold_s": 20, "max_still_s": 60},
    ]
    geo = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props,
         "geometry": {"type": "Polygon", "coordinates": _square(111.50 + 0.002 * i, 40.65, 0.0003)}}
        for i, props in enumerate(features)
    ]}
    (tmp_path / "zones.geojson").write_text(json.dumps(geo))
    terminals = "".join(
        f'[[terminals]]\nid = "P-{i}"\nkind = "person"\nroles = []\nname = "Person {i}"\n'
        for i in range(1, 9)
    )
    config = tmp_path / "fence.toml"
    config.write_text(f'[site]\nname = "Small"\nzones = "zones.geojson"\n\n{terminals}')
    return config


def test_a_staffed_window_that_begins_soon_is_waited_for(tmp_path: Path) -> None:
    config = _small_site(tmp_path, "09:05-18:00")  # the start is 09:00 local
    sim = Simulator(load_site(config), seed=0, start_ms=T0_MS, scenario=Scenario.ALL_EVENTS)
    assert sim.missing == ()
    events = _events_from_fixes(sim)
    assert _raised(events) == set(EventType)
    under = [e for e in events if e.type is EventType.UNDERMANNING and e.state is EventState.RAISED]
    assert under[0].t_ms == T0_MS + (5 * 60 + 20) * 1000  # window start + hold_s


def test_a_staffed_window_hours_away_is_named_as_missing(tmp_path: Path) -> None:
    config = _small_site(tmp_path, "13:00-18:00")
    sim = Simulator(load_site(config), seed=0, start_ms=T0_MS, scenario=Scenario.ALL_EVENTS)
    assert [m.split(":")[0] for m in sim.missing] == ["undermanning"]
    assert _raised(_events_from_fixes(sim)) == set(EventType) - {EventType.UNDERMANNING}
