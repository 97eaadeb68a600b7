"""What goes on the wire: receiver NMEA (GGA + RMC + GST per epoch) or contract fix JSON,
and the faults a real serial line adds (bad checksums, garbage bytes).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum

from fence.simulate.model import GEOID_SEP_M, Sample
from gnss import encode
from gnss.fix import Quality
from gnss.fixjson import fix_to_line

DIFF_AGE_S = 1.0
BASE_STATION = "0133"
DIFFERENTIAL = frozenset({Quality.DGPS, Quality.RTK_FIXED, Quality.RTK_FLOAT})


class Format(Enum):
    """Payload format."""

    NMEA = "nmea"
    FIX = "fix"


class Damage(Enum):
    """A fault added to one message."""

    NONE = "none"
    BAD_CHECKSUM = "bad-checksum"  # one sentence's checksum is wrong
    GARBAGE = "garbage"  # binary noise somewhere in the epoch (between or inside sentences)


@dataclass(frozen=True, slots=True)
class Faults:
    """Probabilities per NMEA epoch of each fault (fix JSON is never damaged)."""

    bad_checksum_p: float = 0.002
    garbage_p: float = 0.001

    def __post_init__(self) -> None:
        for name in ("bad_checksum_p", "garbage_p"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be within 0..1, got {p}")


NO_FAULTS = Faults(0.0, 0.0)
DEFAULT_FAULTS = Faults()


def nmea_epoch(sample: Sample) -> list[str]:
    """The sentences a receiver sends for one epoch: GGA, RMC and (with a fix) GST."""
    q = int(sample.quality)
    diff = sample.quality in DIFFERENTIAL
    has_fix = sample.lat is not None
    sentences = [
        encode.gga(
            sample.talker, sample.t_ms, sample.lat, sample.lon, q,
            sats=sample.sats, hdop=sample.hdop, alt_m=sample.alt_m,
            geoid_sep_m=GEOID_SEP_M if has_fix else None,
            age_s=DIFF_AGE_S if diff else None, station=BASE_STATION if diff else "",
            minute_decimals=8,
        ),
        encode.rmc(
            sample.talker, sample.t_ms, sample.lat, sample.lon, valid=has_fix,
            speed_mps=sample.speed_mps if has_fix else None,
            course_deg=sample.course_deg if has_fix else None,
            mode=encode.mode_letter(q), minute_decimals=8,
        ),
    ]
    if has_fix:
        lat_sd, lon_sd = sample.sd_m
        sentences.append(encode.gst(
            sample.talker, sample.t_ms, rms=round(sample.sigma_m * 1.6, 3),
            major_m=max(lat_sd, lon_sd), minor_m=min(lat_sd, lon_sd), orient_deg=0.0,
            lat_sd_m=lat_sd, lon_sd_m=lon_sd, alt_sd_m=round(sample.sigma_m * 1.9, 3),
        ))
    return sentences


def _break_checksum(sentence: str, rng: random.Random) -> str:
    star = sentence.rindex("*")
    good = int(sentence[star + 1 : star + 3], 16)
    bad = good ^ rng.randint(1, 255)
    return f"{sentence[: star + 1]}{bad:02X}\r\n"


def _add_noise(data: bytes, rng: random.Random) -> bytes:
    """Binary noise (as from a loose connector) inserted at a random place; it has no
    ``$``, so it can spoil the sentence it lands in but not fake a new one."""
    noise = bytes(b for b in rng.randbytes(rng.randint(8, 48)) if b != ord("$"))
    at = rng.randint(0, len(data))
    return data[:at] + noise + data[at:]


class Wire:
    """Turns samples into payloads; one per terminal so faults stay seeded per terminal."""

    def __init__(self, fmt: Format, faults: Faults, rng: random.Random) -> None:
        self.fmt = fmt
        self.faults = faults
        self._rng = rng

    def payload(self, sample: Sample) -> tuple[bytes, Damage]:
        """The bytes of one epoch and the fault added to them."""
        if self.fmt is Format.FIX:
            return (fix_to_line(sample.fix()) + "\n").encode("ascii"), Damage.NONE
        sentences = nmea_epoch(sample)
        damage = self._draw()
        if damage is Damage.BAD_CHECKSUM:
            i = self._rng.randrange(len(sentences))
            sentences[i] = _break_checksum(sentences[i], self._rng)
        data = "".join(sentences).encode("ascii")
        if damage is Damage.GARBAGE:
            data = _add_noise(data, self._rng)
        return data, damage

    def _draw(self) -> Damage:
        if self.faults.bad_checksum_p == 0.0 and self.faults.garbage_p == 0.0:
            return Damage.NONE
        u = self._rng.random()
        if u < self.faults.bad_checksum_p:
            return Damage.BAD_CHECKSUM
        if u < self.faults.bad_checksum_p + self.faults.garbage_p:
            return Damage.GARBAGE
        return Damage.NONE
