"""A simulated BeiDou receiver: fix quality over time, position noise, dropouts.

Quality follows a Markov chain (RTK fixed most of the time, episodes of float and
single-point, rarely no fix). Noise is a first-order Gauss-Markov process per axis with
the quality's standard deviation (RTK fixed 2 cm, float 0.3 m, single 2 m) and
correlation time, so a single-point fix wanders slowly as a real one does instead of
jumping metres every second.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from gnss.fix import Quality


class Profile(Enum):
    """How a terminal's receiver behaves."""

    FIELD = "field"  # quality changes, random dropouts (some long enough to go offline)
    QUIET = "quiet"  # quality changes, only short dropouts (scenario background)
    STEADY = "steady"  # RTK fixed throughout, no random dropouts (scripted terminals)


@dataclass(frozen=True, slots=True)
class NoiseSpec:
    """Receiver figures for one fix quality."""

    sigma_m: float  # 1-sigma horizontal error per axis
    tau_s: float  # correlation time of the error
    sats: tuple[int, int]
    hdop: tuple[float, float]


NOISE: Mapping[Quality, NoiseSpec] = {
    Quality.RTK_FIXED: NoiseSpec(0.02, 1.0, (24, 34), (0.5, 0.8)),
    Quality.RTK_FLOAT: NoiseSpec(0.3, 10.0, (18, 28), (0.7, 1.1)),
    Quality.DGPS: NoiseSpec(0.7, 20.0, (12, 20), (0.9, 1.5)),
    Quality.SINGLE: NoiseSpec(2.0, 30.0, (8, 16), (1.0, 2.5)),
}

# Transition rates per second of the quality chain in the FIELD profile.
TRANSITIONS_PER_S: Mapping[Quality, tuple[tuple[Quality, float], ...]] = {
    Quality.RTK_FIXED: ((Quality.RTK_FLOAT, 1 / 600), (Quality.SINGLE, 1 / 3000)),
    Quality.RTK_FLOAT: ((Quality.RTK_FIXED, 1 / 20), (Quality.SINGLE, 1 / 300)),
    Quality.SINGLE: ((Quality.RTK_FLOAT, 1 / 40), (Quality.INVALID, 1 / 900)),
    Quality.INVALID: ((Quality.SINGLE, 1 / 8),),
}

DROPOUTS_PER_S = 1 / 1500
SHORT_DROPOUT_S = (3.0, 20.0)
LONG_DROPOUT_S = (35.0, 120.0)
P_LONG_DROPOUT = 0.4


@dataclass(frozen=True, slots=True)
class Reading:
    """What the receiver reports in one epoch, besides the true position."""

    quality: Quality
    dx_m: float  # error east
    dy_m: float  # error north
    sigma_m: float  # the receiver's own 1-sigma estimate per axis (0 with no fix)
    sats: int
    hdop: float | None


class Receiver:
    """Per-terminal receiver state, advanced one epoch at a time (seeded, no clock)."""

    def __init__(self, rng: random.Random, profile: Profile, step_ms: int) -> None:
        if step_ms <= 0:
            raise ValueError(f"step must be > 0 ms, got {step_ms}")
        self._rng = rng
        self._profile = profile
        self._step_s = step_ms / 1000.0
        self._quality = Quality.RTK_FIXED
        self._nx = 0.0
        self._ny = 0.0
        self._silent_epochs = 0

    def _next_quality(self) -> Quality:
        if self._profile is Profile.STEADY:
            return Quality.RTK_FIXED
        u = self._rng.random()
        for target, rate in TRANSITIONS_PER_S[self._quality]:
            p = 1.0 - math.exp(-rate * self._step_s)
            if u < p:
                return target
            u -= p
        return self._quality

    def _random_dropout(self) -> bool:
        if self._silent_epochs > 0:
            self._silent_epochs -= 1
            return True
        if self._profile is Profile.STEADY:
            return False
        if self._rng.random() < 1.0 - math.exp(-DROPOUTS_PER_S * self._step_s):
            long = self._rng.random() < P_LONG_DROPOUT and self._profile is Profile.FIELD
            span = LONG_DROPOUT_S if long else SHORT_DROPOUT_S
            self._silent_epochs = max(1, round(self._rng.uniform(*span) / self._step_s)) - 1
            return True
        return False

    def _noise(self, spec: NoiseSpec) -> None:
        a = math.exp(-self._step_s / spec.tau_s)
        b = spec.sigma_m * math.sqrt(1.0 - a * a)
        self._nx = a * self._nx + b * self._rng.gauss(0.0, 1.0)
        self._ny = a * self._ny + b * self._rng.gauss(0.0, 1.0)

    def step(self, silenced: bool) -> Reading | None:
        """Advance one epoch; None when nothing is sent (scripted or random dropout)."""
        dropped = self._random_dropout()
        if silenced or dropped:
            return None
        quality = self._next_quality()
        if quality is Quality.INVALID:
            self._quality = quality
            return Reading(quality, 0.0, 0.0, 0.0, self._rng.randint(0, 4), None)
        spec = NOISE[quality]
        if quality is not self._quality and self._quality in NOISE:
            scale = spec.sigma_m / NOISE[self._quality].sigma_m
            self._nx *= scale
            self._ny *= scale
        self._quality = quality
        self._noise(spec)
        sats = self._rng.randint(*spec.sats)
        hdop = round(self._rng.uniform(*spec.hdop), 2)
        return Reading(quality, self._nx, self._ny, spec.sigma_m, sats, hdop)
