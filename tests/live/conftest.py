"""Fixtures of the live-engine tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.live.hook import HookHandler
from tests.support.broker import free_port


@pytest.fixture
def hook_port() -> Iterator[int]:
    """A free port for a web hook receiver, with the receiver's record cleared."""
    HookHandler.received = []
    HookHandler.fail_first = 0
    HookHandler.delay_s = 0.0
    yield free_port()
