"""UTC instants: the fast path for the contract's own form equals the full parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gnss.instant import InstantError, _parse_full, format_instant, parse_instant

EPOCH_2100_MS = 4_102_444_800_000


@given(st.integers(0, EPOCH_2100_MS))
def test_format_parse_round_trip_and_fast_path_equals_full(t_ms: int) -> None:
    text = format_instant(t_ms)
    assert parse_instant(text) == t_ms  # first call fills the minute cache
    assert parse_instant(text) == t_ms  # second call takes the fast path
    assert _parse_full(text) == t_ms


@pytest.mark.parametrize(
    ("text", "t_ms"),
    [
        ("2026-11-28T08:00:01.000Z", 1_795_852_801_000),
        ("2026-11-28T08:00:01.999999Z", 1_795_852_801_999),  # truncated, never rounded
        ("2026-11-28T16:00:01.5+08:00", 1_795_852_801_500),
        ("2026-11-28T08:00:01Z", 1_795_852_801_000),
        ("2026-11-28T03:00:01-0500", 1_795_852_801_000),
    ],
)
def test_forms(text: str, t_ms: int) -> None:
    assert parse_instant(text) == t_ms


@pytest.mark.parametrize(
    "text",
    ["2026-11-28T08:00:60.000Z", "2026-11-28T08:00:0a.000Z", "2026-13-28T08:00:01.000Z",
     "2026-11-28T08:00:01.00aZ", "2026-11-28T08:00:01.000", "2026-11-28T08:00:01.000+25:00",
     "2026-11-28T08:00:٠١.000Z", ""],
)
def test_rejects(text: str) -> None:
    parse_instant("2026-11-28T08:00:01.000Z")  # the minute is cached: the fast path must still refuse
    with pytest.raises(InstantError):
        parse_instant(text)
