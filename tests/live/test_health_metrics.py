"""/healthz and /metrics of a running engine, with decode errors and unknown terminals."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

from fence.runtime.engine import Engine
from gnss.errors import DecodeError, DecodeErrorKind
from gnss.fix import Fix
from tests.live.support import DrivenClock, example_fixes, example_site, load


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return int(response.status), response.read().decode()


def test_health_and_metrics_count_inputs(tmp_path: Path) -> None:
    toml = example_site(tmp_path, extra='\n[http]\nlisten = "127.0.0.1:0"\n', tick_s=0.1)
    site, cfg = load(toml)
    fixes = example_fixes(limit=400)
    clock = DrivenClock(fixes[0].t_ms)
    engine = Engine(site, cfg, clock_ms=clock)
    engine.start()
    try:
        assert engine.http is not None
        base = f"http://127.0.0.1:{engine.http.port}"
        for fix in fixes:
            clock.set(fix.t_ms + 100)
            engine.deliver(fix, "feed")
        engine.deliver(DecodeError(DecodeErrorKind.BAD_CHECKSUM, "x", "W-001", 3), "feed")
        engine.deliver(DecodeError(DecodeErrorKind.BAD_CHECKSUM, "y", "W-001", 4), "feed")
        engine.deliver(DecodeError(DecodeErrorKind.TOO_LONG, "z", "W-002"), "feed")
        stranger = Fix(fixes[-1].t_ms, "NOBODY-1", fixes[-1].lat, fixes[-1].lon, 4)
        engine.deliver(stranger, "feed")
        engine.deliver(stranger, "feed")  # a duplicate: heard, not applied (out of order)
        time.sleep(0.5)  # a tick publishes the evaluator's verdict counts
        status, body = _get(base + "/healthz")
        health = json.loads(body)
        assert status == 200 and health["status"] == "ok" and health["run"]
        status, text = _get(base + "/metrics")
        assert status == 200
        lines = set(text.splitlines())
        assert 'fence_fixes_in_total{source="feed"} 402' in lines
        assert 'fence_decode_errors_total{kind="bad_checksum"} 2' in lines
        assert 'fence_decode_errors_total{kind="too_long"} 1' in lines
        unknown = sum(f.terminal not in site.terminals for f in fixes) + 1
        assert f"fence_fixes_unregistered_total {unknown + 1}" in lines
        out_of_order = [x for x in lines if x.startswith('fence_fixes_not_applied{reason="out_of_order"}')]
        assert out_of_order and float(out_of_order[0].split()[-1]) >= 1
        assert any(line.startswith('fence_evaluator_step_seconds_bucket{le="+Inf"} ')
                   for line in lines)
        assert "# TYPE fence_sink_lag_seconds gauge" in lines
    finally:
        engine.stop()
