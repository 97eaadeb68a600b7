"""Golden tests: the contract's three example scenarios give exactly their events."""

from __future__ import annotations

import pytest

from tests.events.golden import expected, got, run_example
from tests.support.paths import SPEC_EXAMPLES


@pytest.mark.parametrize("name", ["s11", "s12", "s13"])
def test_example_gives_expected_events(name: str) -> None:
    folder = SPEC_EXAMPLES / name
    site, events = run_example(folder)
    ours, theirs = got(site, events), expected(folder)
    missing = theirs - ours
    extra = ours - theirs
    assert not missing and not extra, f"missing {sorted(missing)}\nextra {sorted(extra)}"


@pytest.mark.parametrize("name", ["s11", "s13"])
def test_example_is_deterministic(name: str) -> None:
    folder = SPEC_EXAMPLES / name
    site, first = run_example(folder)
    _, second = run_example(folder)
    assert first == second
