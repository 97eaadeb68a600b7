"""The evaluator's fast path (``feed`` on uneventful fixes, ``feed_many``) against the reference.

``Evaluator(site, reference=True)`` sends every fix through the general path. On the
same inputs the fast path must give the same events (same order, same ids), the same
view, the same snapshot and the same verdict counts, on generated streams (random
walks that stay in zones, cross edges, stand still, jump, go quiet and come back, arrive
late) and on the contract's examples. Snapshots move between the two paths freely.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.evaluator import Evaluator
from events.model import Event
from gnss.fix import Fix
from tests.events import test_properties as properties
from tests.events.golden import fixes as example_fixes
from tests.events.scenario import T0_MS, Fx, Input, Scenario, Tick, write_site
from tests.events.test_properties import IDS, TERMINALS, streams
from tests.support.paths import SPEC_EXAMPLES
from zones.model import Site

ZONES: list[dict[str, Any]] = [
    *properties.ZONES,  # R, C, P of the property tests, and a zone with a hole
    {"id": "H", "rect": (-40, 40, 0, 80), "hole": (-30, 50, -10, 70), "max_still_s": 25,
     "margin_m": 2.5},
]
STARTS = [(20.0, 20.0), (50.0, 50.0), (35.0, 35.0), (-40.0, 10.0), (-35.0, 60.0), (0.5, 20.0)]
SETTINGS = settings(max_examples=80, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


DEFAULTS = [
    {"still_s": 40, "offline_after_s": 10},
    # no site-wide stillness limit: a new anchor outside H cancels its timer
    {"still_s": 0, "offline_after_s": 10, "still_kinds": ["person", "vehicle"], "margin_m": 0.5},
]


@pytest.fixture(scope="module", params=DEFAULTS, ids=["still_s=40", "still_s=0"])
def site(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Site:
    scenario = Scenario("fast", ZONES, [], [], TERMINALS, request.param)
    return write_site(tmp_path_factory.mktemp("site"), scenario)


@st.composite
def walks(draw: st.DrawFn) -> list[Input]:
    """Terminals walking in small steps (most fixes uneventful), with the unusual mixed in:
    still spells, jumps, gaps long enough to go offline, late fixes, bad quality, ticks."""
    where = {tid: draw(st.sampled_from(STARTS)) for tid in IDS}
    items: list[Input] = []
    t_s = 0.0
    for _ in range(draw(st.integers(1, 120))):
        t_s += draw(st.sampled_from([0.0, 0.2, 0.5, 1.0, 1.0, 2.0, 5.0, 15.0]))
        if draw(st.integers(0, 19)) == 0:
            items.append(Tick(t_s))
            continue
        tid = draw(st.sampled_from(IDS))
        x, y = where[tid]
        step = draw(st.sampled_from([0.0, 0.5, 1.5, 2.5, 4.0, 60.0]))
        direction = draw(st.sampled_from([(1, 0), (0, 1), (-1, 0), (0, -1), (0.6, 0.8)]))
        x, y = x + step * direction[0], y + step * direction[1]
        where[tid] = (x, y)
        late_s = draw(st.sampled_from([0.0] * 8 + [0.3, 20.0]))
        quality = draw(st.sampled_from([4] * 8 + [5, 0]))
        acc = draw(st.sampled_from([None] * 6 + [0.02, 3.0, 6.0]))
        if draw(st.integers(0, 14)) == 0:
            items.append(Fx(t_s - late_s, tid, None, None, quality))
        else:
            items.append(Fx(t_s - late_s, tid, x, y, quality, acc))
    return items


def one_by_one(ev: Evaluator, items: list[Input]) -> Iterator[Event]:
    for item in items:
        if isinstance(item, Tick):
            yield from ev.advance_to(T0_MS + round(item.t_s * 1000))
        else:
            yield from ev.feed(item.fix())


def one_by_one_projected(ev: Evaluator, items: list[Input]) -> Iterator[Event]:
    """``feed(fix, position_m)`` with positions from ``project_many``, as the replay driver does."""
    for item in items:
        if isinstance(item, Tick):
            yield from ev.advance_to(T0_MS + round(item.t_s * 1000))
            continue
        fix = item.fix()
        if fix.lat is None or fix.lon is None:
            yield from ev.feed(fix)
            continue
        xs, ys = ev.index.project_many([fix.lon], [fix.lat])
        yield from ev.feed(fix, (float(xs[0]), float(ys[0])))


def ticked(ev: Evaluator, items: list[Input]) -> Iterator[Event]:
    """A tick at each fix's own time before it, as the live runtime ticks at arrival."""
    for item in items:
        if isinstance(item, Tick):
            yield from ev.advance_to(T0_MS + round(item.t_s * 1000))
        else:
            fix = item.fix()
            yield from ev.advance_to(fix.t_ms)
            yield from ev.feed(fix)


def batched(ev: Evaluator, items: list[Input], projected: bool) -> Iterator[Event]:
    """``feed_many`` over the runs of fixes between ticks (projected here or by the evaluator)."""
    run: list[Fix] = []
    for item in [*items, None]:
        if isinstance(item, Fx):
            run.append(item.fix())
            continue
        if run and projected:
            lons = [np.nan if f.lon is None else f.lon for f in run]
            lats = [np.nan if f.lat is None else f.lat for f in run]
            xs, ys = ev.index.project_many(lons, lats)
            yield from ev.feed_many(run, xs, ys)
        elif run:
            yield from ev.feed_many(run)
        run = []
        if isinstance(item, Tick):
            yield from ev.advance_to(T0_MS + round(item.t_s * 1000))


def state(ev: Evaluator) -> tuple[Any, ...]:
    """Everything observable of an evaluator: snapshot (through JSON), view, verdicts;
    checks on the way that the zone counts without a view are the view's."""
    view = ev.view()
    assert ev.zone_counts() == {zone.id: zone.count for zone in view.zones}
    return json.loads(json.dumps(ev.snapshot())), view, dict(ev.verdicts)


def assert_same(site: Site, items: list[Input]) -> None:
    ref = Evaluator(site, reference=True)
    want = list(one_by_one(ref, items))
    fast = Evaluator(site, ref.index)
    assert list(one_by_one(fast, items)) == want
    assert state(fast) == state(ref)
    ticks_ref = Evaluator(site, ref.index, reference=True)
    ticks_fast = Evaluator(site, ref.index)
    assert list(ticked(ticks_fast, items)) == list(ticked(ticks_ref, items))
    assert state(ticks_fast) == state(ticks_ref)
    placed = Evaluator(site, ref.index)
    assert list(one_by_one_projected(placed, items)) == want
    assert state(placed) == state(ref)
    for projected in (True, False):
        many = Evaluator(site, ref.index)
        assert list(batched(many, items, projected)) == want
        assert state(many) == state(ref)


@SETTINGS
@given(items=walks())
def test_fast_path_equals_reference_on_walks(site: Site, items: list[Input]) -> None:
    assert_same(site, items)


@SETTINGS
@given(items=streams())
def test_fast_path_equals_reference_on_scattered_streams(site: Site, items: list[Input]) -> None:
    assert_same(site, items)


@SETTINGS
@given(items=walks(), data=st.data())
def test_feed_many_with_arrival_ticks_equals_ticking_one_by_one(
    site: Site, items: list[Input], data: st.DataObject
) -> None:
    """``feed_many(..., ticks_ms=...)`` equals ``advance_to(tick)`` then ``feed`` per fix."""
    fixes = [item.fix() for item in items if isinstance(item, Fx)]
    lags = data.draw(st.lists(st.sampled_from([None, 0, 5, 300, 12_000]), min_size=len(fixes), max_size=len(fixes)))
    ticks = [None if lag is None else f.t_ms + lag for f, lag in zip(fixes, lags, strict=True)]
    ref = Evaluator(site, reference=True)
    want: list[Event] = []
    for fix, tick_ms in zip(fixes, ticks, strict=True):
        if tick_ms is not None:
            want += ref.advance_to(tick_ms)
        want += ref.feed(fix)
    many = Evaluator(site, ref.index)
    got: list[Event] = []
    for i in range(0, len(fixes), 7):
        got += many.feed_many(fixes[i : i + 7], ticks_ms=ticks[i : i + 7])
    assert got == want
    assert state(many) == state(ref)


@SETTINGS
@given(items=walks(), data=st.data())
def test_snapshots_cross_between_the_paths(site: Site, items: list[Input], data: st.DataObject) -> None:
    """A snapshot of the fast path restored into the reference (and back) continues the same."""
    ref = Evaluator(site, reference=True)
    whole = list(one_by_one(ref, items)) + ref.advance_to(T0_MS + 400_000)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(items)), max_size=3)))
    ev = Evaluator(site, ref.index)
    out: list[Event] = []
    start = 0
    for n, cut in enumerate([*cuts, len(items)]):
        out += one_by_one(ev, items[start:cut])
        snap = json.loads(json.dumps(ev.snapshot()))
        ev = Evaluator.restore(site, snap, ref.index, reference=n % 2 == 0)
        start = cut
    out += ev.advance_to(T0_MS + 400_000)
    assert out == whole


def test_walks_mostly_take_the_fast_path(site: Site) -> None:
    """Guards the tests above: a plain walk must exercise the fast path, not only fall back."""
    items: list[Input] = [Fx(t, "OP", 10.0 + 0.5 * t, 20.0) for t in range(1, 41)]
    ev = Evaluator(site)
    events = list(one_by_one(ev, items))
    assert ev._fast_accepted >= 30, ev._fast_accepted
    ref = Evaluator(site, reference=True)
    assert list(one_by_one(ref, items)) == events
    assert ref._fast_accepted == 0


@pytest.mark.parametrize("name", ["s11", "s12", "s13"])
def test_examples_through_both_paths(name: str) -> None:
    from zones.site import load_site

    folder = SPEC_EXAMPLES / name
    site = load_site(folder / "fence.toml")
    stream = list(example_fixes(folder / "fixes.jsonl.gz"))
    ref = Evaluator(site, reference=True)
    want = [e for f in stream for e in ref.feed(f)]
    fast = Evaluator(site, ref.index)
    assert [e for f in stream for e in fast.feed(f)] == want
    assert state(fast) == state(ref)
    many = Evaluator(site, ref.index)
    got: list[Event] = []
    for i in range(0, len(stream), 1000):
        got += many.feed_many(stream[i : i + 1000])
    assert got == want
    assert state(many) == state(ref)
    assert fast._fast_accepted > len(stream) // 2


def test_feed_many_refuses_positions_or_ticks_of_another_length(site: Site) -> None:
    fixes = [Fx(1.0, "OP", 1.0, 1.0).fix(), Fx(2.0, "OP", 2.0, 1.0).fix()]
    with pytest.raises(ValueError, match="2 fixes but 1 x and 1 y positions"):
        Evaluator(site).feed_many(fixes, [0.0], [0.0])
    with pytest.raises(ValueError, match="2 fixes but 3 ticks"):
        Evaluator(site).feed_many(fixes, ticks_ms=[1, 2, 3])
