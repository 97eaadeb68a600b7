"""Golden replays through ``fence replay``: the contract examples and simulated recordings.

The contract examples (s11-s13) must give their expected events as a multiset, read as
.gz directly, through a pipe (process substitution) and from standard input. The
simulated recordings (tests/replay/golden_data.py) must give their stored events, and
two runs must give byte-identical output.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.replay.golden_data import GOLDEN_SITE, expected_path, golden_inputs
from tests.replay.support import fence_replay, fence_replay_shell, keys_of_file, keys_of_lines
from tests.support.paths import SPEC_EXAMPLES

EXAMPLES = ("s11", "s12", "s13")


def _example(name: str) -> tuple[Path, Path, Counter[tuple[object, ...]]]:
    folder = SPEC_EXAMPLES / name
    return folder / "fence.toml", folder / "fixes.jsonl.gz", keys_of_file(folder / "expected-events.jsonl")


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_read_as_gzip_file(name: str) -> None:
    config, fixes, expected = _example(name)
    done = fence_replay("--config", config, fixes)
    assert done.returncode == 0, done.stderr
    assert Counter(keys_of_lines(done.stdout.splitlines())) == expected
    assert "skipped" not in done.stderr


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_read_through_process_substitution(name: str) -> None:
    config, fixes, expected = _example(name)
    done = fence_replay_shell('fence replay --config "$1" <(gunzip -c "$2")', config, fixes)
    assert done.returncode == 0, done.stderr
    assert Counter(keys_of_lines(done.stdout.splitlines())) == expected


def test_example_read_from_standard_input() -> None:
    config, fixes, expected = _example("s13")
    done = fence_replay_shell('gunzip -c "$2" | fence replay --config "$1" -', config, fixes)
    assert done.returncode == 0, done.stderr
    assert Counter(keys_of_lines(done.stdout.splitlines())) == expected


@pytest.mark.parametrize("name", sorted(golden_inputs()))
def test_simulated_recording_gives_its_stored_events_byte_identically_twice(name: str) -> None:
    inputs = golden_inputs()[name]
    assert inputs, f"no input files for {name}"
    first = fence_replay("--config", GOLDEN_SITE, *inputs)
    second = fence_replay("--config", GOLDEN_SITE, *inputs)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert first.stdout.count("\n") > 10
    assert Counter(keys_of_lines(first.stdout.splitlines())) == keys_of_file(expected_path(name))


def test_nmea_and_fix_log_of_one_run_give_the_same_events() -> None:
    """The simulator sent the same run as NMEA and as fix JSON: the events agree."""
    assert keys_of_file(expected_path("sim-nmea")) == keys_of_file(expected_path("sim-fixes"))


def test_recording_arrival_times_move_events_to_arrival_steps() -> None:
    """The recording of the same fixes replays with its ticks: other step times."""
    by_track = keys_of_file(expected_path("sim-track"))
    by_fix_time = keys_of_file(expected_path("sim-fixes"))
    assert by_track != by_fix_time
    assert sorted(k[1:] for k in by_track.elements()) == sorted(k[1:] for k in by_fix_time.elements())
