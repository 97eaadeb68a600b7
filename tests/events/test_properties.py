"""Hypothesis properties of the evaluator.

Determinism; snapshot at any point and restore (through JSON) in a fresh evaluator gives
the same remaining events with the same ids; pieces with snapshots between equal one run;
event times never go back; every cleared event has an earlier raised one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.evaluator import Evaluator
from events.model import Event, EventState
from tests.events.golden import fixes
from tests.events.scenario import T0_MS, Fx, Input, Scenario, Tick, run, write_site
from tests.support.paths import SPEC_EXAMPLES
from zones.model import Site

ZONES: list[dict[str, Any]] = [
    {"id": "R", "rect": (0, 0, 40, 40), "access": "restricted", "max_dwell_s": 20,
     "permits": [{"roles": ["operator"]}, {"roles": ["contractor"], "daily": ["08:00-08:01"]}]},
    {"id": "C", "rect": (30, 30, 70, 70), "min_occupancy": 2, "max_occupancy": 3, "hold_s": 5,
     "max_still_s": 15, "staffed": ["08:00-08:02"]},
    {"id": "P", "rect": (-60, -10, -20, 30), "max_occupancy": 1, "max_dwell_s": 30,
     "count_kinds": ["person", "vehicle"]},
]
TERMINALS = [
    {"id": "OP", "kind": "person", "roles": ["operator"], "name": "Operator"},
    {"id": "CT", "kind": "person", "roles": ["contractor"], "name": "Contractor"},
    {"id": "TR", "kind": "vehicle", "roles": [], "name": "Truck"},
]
IDS = ["OP", "CT", "TR", "XX"]
SPOTS = [(20.0, 20.0), (50.0, 50.0), (35.0, 35.0), (-40.0, 10.0), (0.5, 20.0), (100.0, 0.0),
         (21.0, 20.0), (-40.0, 12.0)]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    scenario = Scenario("props", ZONES, [], [], TERMINALS,
                        {"still_s": 40, "offline_after_s": 10})
    return write_site(tmp_path_factory.mktemp("site"), scenario)


@st.composite
def streams(draw: st.DrawFn) -> list[Input]:
    """Random fixes and ticks, mostly in time order, some late, some without position."""
    items: list[Input] = []
    t_s = 0.0
    for _ in range(draw(st.integers(1, 60))):
        t_s += draw(st.sampled_from([0.0, 0.001, 0.5, 1.0, 3.0, 7.0, 12.0, 40.0]))
        if draw(st.integers(0, 9)) == 0:
            items.append(Tick(t_s))
            continue
        late_s = draw(st.sampled_from([0.0, 0.0, 0.0, 2.0, 15.0]))
        spot = draw(st.sampled_from([*SPOTS, None]))
        quality = draw(st.sampled_from([4, 4, 5, 1, 0, 6]))
        x, y = spot if spot is not None else (None, None)
        items.append(Fx(t_s - late_s, draw(st.sampled_from(IDS)), x, y, quality))
    return items


def feed(ev: Evaluator, items: list[Input]) -> Iterator[Event]:
    for item in items:
        if isinstance(item, Tick):
            yield from ev.advance_to(ev_ms(item.t_s))
        else:
            yield from ev.feed(item.fix())


def ev_ms(t_s: float) -> int:
    return T0_MS + round(t_s * 1000)


def roundtrip(ev: Evaluator, site: Site) -> Evaluator:
    snap = json.loads(json.dumps(ev.snapshot()))
    return Evaluator.restore(site, snap, ev.index)


SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(items=streams())
def test_deterministic(site: Site, items: list[Input]) -> None:
    assert run(site, items) == run(site, items)


@SETTINGS
@given(items=streams(), data=st.data())
def test_snapshot_restore_mid_stream_gives_the_same_events(
    site: Site, items: list[Input], data: st.DataObject
) -> None:
    whole = run(site, items, until_s=400)
    cut = data.draw(st.integers(0, len(items)))
    ev = Evaluator(site)
    first = list(feed(ev, items[:cut]))
    rest = run(site, items[cut:], until_s=400, ev=roundtrip(ev, site))
    assert first + rest == whole


@SETTINGS
@given(items=streams(), data=st.data())
def test_pieces_with_snapshots_between_equal_one_run(
    site: Site, items: list[Input], data: st.DataObject
) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(items)), max_size=4)))
    ev = Evaluator(site)
    out: list[Event] = []
    start = 0
    for cut in [*cuts, len(items)]:
        out += feed(ev, items[start:cut])
        ev = roundtrip(ev, site)
        start = cut
    assert out == run(site, items)


@SETTINGS
@given(items=streams())
def test_times_never_go_back_and_clears_follow_raises(site: Site, items: list[Input]) -> None:
    events = run(site, items, until_s=500)
    times = [e.t_ms for e in events]
    assert times == sorted(times)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    state: dict[tuple[str, str | None, str | None], EventState] = {}
    for e in events:
        previous = state.get(e.key, EventState.CLEARED)
        assert previous is not e.state, f"{e} repeats its state"
        state[e.key] = e.state


@pytest.mark.parametrize("cut", [1, 2500, 9000])
def test_snapshot_on_a_real_scenario(cut: int, tmp_path: Path) -> None:
    from zones.site import load_site

    folder = SPEC_EXAMPLES / "s13"
    site = load_site(folder / "fence.toml")
    stream = list(fixes(folder / "fixes.jsonl.gz"))[:12000]
    whole_ev = Evaluator(site)
    whole = [e for f in stream for e in whole_ev.feed(f)]
    ev = Evaluator(site, whole_ev.index)
    head = [e for f in stream[:cut] for e in ev.feed(f)]
    snap_file = tmp_path / "snap.json"
    snap_file.write_text(json.dumps(ev.snapshot()))
    restored = Evaluator.restore(site, json.loads(snap_file.read_text()), whole_ev.index)
    tail = [e for f in stream[cut:] for e in restored.feed(f)]
    assert head + tail == whole
