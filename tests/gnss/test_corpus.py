"""Conformance with gpsd on every log of the real-receiver corpus (see gpsd_oracle)."""

from __future__ import annotations

import pytest

from gnss.decoder import NmeaDecoder
from gnss.fix import Fix
from tests.gnss.gpsd_oracle import compare, decode, log_bytes, log_names
from tests.support.paths import CORPUS_NMEA

# Fixes we report where gpsd reports none, with the reason; every other extra fails.
LEGITIMATE_EXTRAS: dict[str, tuple[int, str]] = {
    "hemi": (
        15,
        "GGA quality 1 with 00 satellites used: gpsd downgrades the epoch to no fix; "
        "we keep the receiver's quality (the evaluator's quality and accuracy rules decide)",
    ),
    "GPSmap-76S": (
        11,
        "Garmin in simulator mode (GGA quality 8): gpsd prints these TPVs without time "
        "(it takes no date from its status-V RMC); we take the RMC date whatever the status",
    ),
    "garmin-10x": (
        1,
        "GGA quality 6 (dead reckoning) with RMC status V: gpsd reports no fix; we report "
        "quality 6 with its position (not in the default accepted qualities)",
    ),
}

LOGS = log_names()


def test_corpus_is_there() -> None:
    assert CORPUS_NMEA.is_dir(), f"corpus missing at {CORPUS_NMEA}"
    assert len(LOGS) == 40


@pytest.mark.parametrize("name", LOGS)
def test_agrees_with_gpsd(name: str) -> None:
    result = compare(name)
    assert result.accept_equal, "accepted sentences differ from gpsd's echo"
    assert result.mismatches == (), "\n".join(result.mismatches)
    assert result.agreed == result.gpsd_epochs
    expected_extras, _reason = LEGITIMATE_EXTRAS.get(name, (0, ""))
    assert len(result.extras) == expected_extras, result.extras


def test_rtk_logs_have_rtk_epochs() -> None:
    assert compare("nmea-rtk").rtk_epochs == 18
    assert compare("skytraq-PX1172RH_DS").rtk_epochs == 9
    assert compare("ublox-zed-f9r").rtk_epochs == 29


def test_rtk_fixed_and_float_qualities_in_corpus() -> None:
    fixed = [i for i in decode("nmea-rtk") if isinstance(i, Fix) and i.quality == 4]
    floating = [i for i in decode("ublox-zed-f9r") if isinstance(i, Fix) and i.quality == 5]
    assert len(fixed) == 18 and all(f.lat is not None for f in fixed)
    assert len(floating) == 30
    # ublox-zed-f9r sends GST: the accuracy is sqrt(lat_sd^2 + lon_sd^2)
    assert all(f.acc_m is not None and 0 < f.acc_m < 1 for f in floating)


def test_one_fix_per_epoch_and_no_repeated_times() -> None:
    for name in LOGS:
        times = [i.t_ms for i in decode(name) if isinstance(i, Fix)]
        assert len(times) == len(set(times)), name


def test_learned_cycle_closer_gives_fix_before_next_epoch() -> None:
    # u-blox NEO-M9N closes each cycle with GNZDA: once learned, a fix comes out when
    # that sentence arrives, not one epoch later.
    data = log_bytes("ublox-neo-m9n-nmea")
    decoder = NmeaDecoder("m9n")
    lines = data.split(b"\n")
    emitted_after: list[bytes] = []
    for line in lines:
        for item in decoder.feed(line + b"\n"):
            if isinstance(item, Fix):
                emitted_after.append(line.rstrip(b"\r")[:6])
    assert decoder.cycle_closer is not None
    closer = decoder.cycle_closer.encode()
    late = [s for s in emitted_after[3:] if s != b"$" + closer]
    assert emitted_after[-10:] == [b"$" + closer] * 10
    assert late == []
