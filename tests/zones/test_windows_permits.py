"""Daily windows and permits (contract 1.4): half-open edges, midnight, 24:00, from/until,
the site time zone (wall clock, daylight saving included), next-change instants."""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gnss.instant import format_instant, parse_instant
from tests.zones.geometries import SQUARE
from tests.zones.support import metric_zone
from zones.model import Access, DailyWindow, Permit, Terminal, TerminalKind, Zone
from zones.permits import is_permitted, next_permit_change_ms
from zones.windows import in_windows, next_window_edge_ms, parse_window

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def w(*texts: str) -> tuple[DailyWindow, ...]:
    return tuple(parse_window(t) for t in texts)


def ms(text: str) -> int:
    return parse_instant(text)


# Local Shanghai time = UTC + 8.
IN_WINDOW_CASES = [
    (("08:00-20:00",), "2026-11-28T08:00:00.000+08:00", True),  # start is inside
    (("08:00-20:00",), "2026-11-28T07:59:59.999+08:00", False),
    (("08:00-20:00",), "2026-11-28T19:59:59.999+08:00", True),
    (("08:00-20:00",), "2026-11-28T20:00:00.000+08:00", False),  # end is outside
    (("22:00-06:00",), "2026-11-28T23:30:00+08:00", True),  # across midnight
    (("22:00-06:00",), "2026-11-29T00:00:00+08:00", True),
    (("22:00-06:00",), "2026-11-29T05:59:59.999+08:00", True),
    (("22:00-06:00",), "2026-11-29T06:00:00+08:00", False),
    (("22:00-06:00",), "2026-11-28T21:59:59.999+08:00", False),
    (("22:00-06:00",), "2026-11-28T12:00:00+08:00", False),
    (("20:00-24:00",), "2026-11-28T23:59:59.999+08:00", True),  # 24:00 end
    (("20:00-24:00",), "2026-11-29T00:00:00+08:00", False),
    (("00:00-00:01",), "2026-11-29T00:00:59.999+08:00", True),
    (("00:00-00:01",), "2026-11-29T00:01:00+08:00", False),
    (("08:00-12:00", "13:00-17:00"), "2026-11-28T12:30:00+08:00", False),
    (("08:00-12:00", "13:00-17:00"), "2026-11-28T13:00:00+08:00", True),
    (("08:00-12:00", "12:00-17:00"), "2026-11-28T12:00:00+08:00", True),  # touching windows
    (("23:00-01:00",), "2026-11-28T16:30:00Z", True),  # 00:30 local, given in UTC
]


@pytest.mark.parametrize(("windows", "instant", "expected"), IN_WINDOW_CASES)
def test_in_windows(windows: tuple[str, ...], instant: str, expected: bool) -> None:
    assert in_windows(w(*windows), ms(instant), SHANGHAI) is expected


NEXT_EDGE_CASES = [
    (("08:00-20:00",), "2026-11-28T07:00:00+08:00", "2026-11-28T00:00:00.000Z"),
    (("08:00-20:00",), "2026-11-28T08:00:00+08:00", "2026-11-28T12:00:00.000Z"),  # strictly later
    (("08:00-20:00",), "2026-11-28T20:00:00+08:00", "2026-11-29T00:00:00.000Z"),
    (("22:00-06:00",), "2026-11-28T23:00:00+08:00", "2026-11-28T22:00:00.000Z"),
    (("22:00-06:00",), "2026-11-29T06:00:00+08:00", "2026-11-29T14:00:00.000Z"),
    (("20:00-24:00",), "2026-11-28T21:00:00+08:00", "2026-11-28T16:00:00.000Z"),
    (("08:00-12:00", "10:00-14:00"), "2026-11-28T09:00:00+08:00", "2026-11-28T02:00:00.000Z"),
]


@pytest.mark.parametrize(("windows", "instant", "expected"), NEXT_EDGE_CASES)
def test_next_window_edge(windows: tuple[str, ...], instant: str, expected: str) -> None:
    edge = next_window_edge_ms(w(*windows), ms(instant), SHANGHAI)
    assert edge is not None and format_instant(edge) == expected


def test_no_windows_no_edge() -> None:
    assert next_window_edge_ms((), 0, SHANGHAI) is None


WINDOW_TEXTS = st.builds(
    lambda s, e: f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}",
    st.integers(0, 1439),
    st.integers(1, 1440),
).filter(lambda t: t[:5] != t[6:])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(WINDOW_TEXTS, min_size=1, max_size=3),
    st.integers(ms("2026-01-01T00:00:00Z"), ms("2027-01-01T00:00:00Z")),
    st.sampled_from([SHANGHAI, BERLIN, ZoneInfo("America/New_York")]),
)
def test_answer_constant_until_next_edge(texts: list[str], t_ms: int, tz: ZoneInfo) -> None:
    """Between t and the next edge the answer does not change, and at a changing edge it does."""
    windows = w(*texts)
    edge = next_window_edge_ms(windows, t_ms, tz)
    assert edge is not None and t_ms < edge <= t_ms + 25 * 3_600_000
    before = in_windows(windows, t_ms, tz)
    for probe in (t_ms + 1, (t_ms + edge) // 2, edge - 1):
        if t_ms < probe < edge:
            assert in_windows(windows, probe, tz) is before


def test_daylight_saving_wall_clock() -> None:
    """Berlin: 02:00-03:00 local does not exist on 2026-03-29; the window follows the wall clock."""
    windows = w("01:30-02:30")
    t = ms("2026-03-29T00:45:00Z")  # 01:45 CET, inside
    assert in_windows(windows, t, BERLIN)
    edge = next_window_edge_ms(windows, t, BERLIN)
    assert edge is not None and edge <= ms("2026-03-29T01:00:00Z")  # the clock jumps to 03:00
    assert not in_windows(windows, ms("2026-03-29T01:00:00Z"), BERLIN)
    assert in_windows(windows, ms("2026-03-29T00:59:59.999Z"), BERLIN)


OPERATOR = Terminal("W-001", TerminalKind.PERSON, frozenset({"operator"}), "Operator 1")
CONTRACTOR = Terminal("C-007", TerminalKind.PERSON, frozenset({"contractor"}), "Contractor 7")
STRANGER = Terminal("X-1", TerminalKind.PERSON, frozenset(), "X-1")


def restricted(*permits: Permit) -> Zone:
    return replace(metric_zone("R", SQUARE), access=Access.RESTRICTED, permits=permits)


T0 = ms("2026-11-28T10:00:00+08:00")
WORK = Permit(roles=frozenset({"contractor"}), from_ms=ms("2026-11-28T09:00:00+08:00"), until_ms=ms("2026-11-28T17:00:00+08:00"))
NIGHT = Permit(terminals=frozenset({"W-001"}), daily=w("22:00-06:00"))
EVERYONE_DAYTIME = Permit(daily=w("08:00-18:00"))
NOBODY_BY_ROLES = Permit(roles=frozenset())

PERMIT_CASES = [
    # zone permits, terminal, registered, instant, permitted, next change
    ((), OPERATOR, True, T0, False, None),  # permits [] lets nobody in
    ((WORK,), CONTRACTOR, True, T0, True, "2026-11-28T09:00:00.000Z"),
    ((WORK,), CONTRACTOR, True, ms("2026-11-28T09:00:00+08:00"), True, "2026-11-28T09:00:00.000Z"),  # from is inside
    ((WORK,), CONTRACTOR, True, ms("2026-11-28T08:59:59.999+08:00"), False, "2026-11-28T01:00:00.000Z"),
    ((WORK,), CONTRACTOR, True, ms("2026-11-28T17:00:00+08:00"), False, None),  # until is outside; expired
    ((WORK,), OPERATOR, True, T0, False, None),  # role does not match
    ((NIGHT,), OPERATOR, True, ms("2026-11-28T23:00:00+08:00"), True, "2026-11-28T22:00:00.000Z"),
    ((NIGHT,), OPERATOR, True, T0, False, "2026-11-28T14:00:00.000Z"),
    ((EVERYONE_DAYTIME,), STRANGER, True, T0, True, "2026-11-28T10:00:00.000Z"),  # no roles/terminals: all registered
    ((EVERYONE_DAYTIME,), STRANGER, False, T0, False, None),  # ... but not unregistered ones
    ((NOBODY_BY_ROLES,), OPERATOR, True, T0, False, None),  # an empty list matches nothing
    ((Permit(roles=frozenset({"operator"})),), OPERATOR, True, T0, True, None),  # permitted for good
    ((WORK, Permit(roles=frozenset({"contractor"}))), CONTRACTOR, True, T0, True, None),
]


@pytest.mark.parametrize(("permits", "terminal", "registered", "t_ms", "permitted", "change"), PERMIT_CASES)
def test_permits(permits: tuple[Permit, ...], terminal: Terminal, registered: bool, t_ms: int, permitted: bool, change: str | None) -> None:
    zone = restricted(*permits)
    assert is_permitted(zone, terminal, registered, t_ms, SHANGHAI) is permitted
    nxt = next_permit_change_ms(zone, terminal, registered, t_ms, SHANGHAI)
    assert (None if nxt is None else format_instant(nxt)) == change


def test_open_zone_permits_everyone_forever() -> None:
    zone = metric_zone("O", SQUARE)
    assert is_permitted(zone, STRANGER, False, T0, SHANGHAI)
    assert next_permit_change_ms(zone, STRANGER, False, T0, SHANGHAI) is None


@settings(max_examples=200, deadline=None)
@given(st.integers(ms("2026-11-27T00:00:00Z"), ms("2026-11-30T00:00:00Z")), st.sampled_from([OPERATOR, CONTRACTOR, STRANGER]))
def test_permitted_constant_until_next_change(t_ms: int, terminal: Terminal) -> None:
    zone = restricted(WORK, NIGHT, Permit(roles=frozenset({"operator"}), daily=w("12:00-13:00")))
    nxt = next_permit_change_ms(zone, terminal, True, t_ms, SHANGHAI)
    now = is_permitted(zone, terminal, True, t_ms, SHANGHAI)
    end = nxt if nxt is not None else t_ms + 10 * 86_400_000
    for probe in (t_ms + 1, (t_ms + end) // 2, end - 1):
        if t_ms < probe < end:
            assert is_permitted(zone, terminal, True, probe, SHANGHAI) is now
