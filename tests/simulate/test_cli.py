"""``fence simulate`` from the shell."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import serial

from fence.cli import main
from fence.simulate.simulator import Simulator
from fence.simulate.wire import NO_FAULTS, Format
from gnss.decoder import decode_bytes
from gnss.fix import Fix
from gnss.fixjson import parse_fix_line
from gnss.instant import format_instant
from tests.simulate.sites import S11, T0_MS, site
from tests.support.paths import REPO

START = format_instant(T0_MS)


def test_out_file_holds_exactly_the_simulated_bytes(tmp_path: Path) -> None:
    out = tmp_path / "sim.nmea"
    status = main(["simulate", "--config", str(S11), "--start", START, "--seed", "6",
                   "--duration-s", "20", "--speed", "max", "--no-faults", "--out", str(out)])
    assert status == 0
    sim = Simulator(site(S11), seed=6, start_ms=T0_MS, faults=NO_FAULTS)
    assert out.read_bytes() == b"".join(m.payload for m in sim.messages(T0_MS + 20_000))


def test_fix_format_for_chosen_terminals(tmp_path: Path) -> None:
    out = tmp_path / "fixes.jsonl"
    status = main(["simulate", "--config", str(S11), "--start", START, "--duration-s", "10",
                   "--speed", "max", "--format", "fix", "--only", "W-001,V-002",
                   "--out", str(out)])
    assert status == 0
    fixes = [parse_fix_line(line) for line in out.read_text().splitlines()]
    assert len(fixes) == 20
    assert {f.terminal for f in fixes} == {"W-001", "V-002"}
    sim = Simulator(site(S11), seed=0, start_ms=T0_MS, fmt=Format.FIX)
    want = [m.payload for m in sim.messages(T0_MS + 10_000) if m.terminal in ("W-001", "V-002")]
    assert out.read_bytes() == b"".join(want)


def test_explain_names_every_scripted_part(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["simulate", "--config", str(S11), "--start", START,
                   "--scenario", "all-events", "--explain"])
    assert status == 0
    err = capsys.readouterr().err
    for part in ("trespass:", "overcrowding:", "undermanning:", "loitering:", "stillness:",
                 "offline:", "background:"):
        assert part in err
    assert "not in this run" not in err


def test_bad_input_is_refused_with_a_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "fence.toml"
    bad.write_text('[site]\nname = "x"\nzones = "missing.geojson"\n')
    assert main(["simulate", "--config", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "missing.geojson" in capsys.readouterr().err
    assert main(["simulate", "--config", str(S11), "--device", str(tmp_path / "tty")]) == 2
    assert "--only" in capsys.readouterr().err
    assert main(["simulate", "--config", str(S11), "--only", "NOPE", "--out", "-"]) == 2
    assert "NOPE" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["simulate", "--config", str(S11), "--speed", "0"])
    assert "speed" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["simulate", "--config", str(S11), "--mqtt", "localhost"])
    assert "HOST:PORT" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["simulate", "--config", str(S11), "--duration-s", "-5"])
    assert "seconds > 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["simulate", "--config", str(S11), "--tcp-listen", "70000"])
    assert "0-65535" in capsys.readouterr().err
    assert main(["simulate", "--config", str(S11), "--tcp-listen", "65530"]) == 2
    assert "not a TCP port" in capsys.readouterr().err
    assert main(["simulate", "--config", str(S11), "--step-ms", "15", "--out", "-"]) == 2
    assert "multiple of 10 ms" in capsys.readouterr().err


def test_sigterm_ends_an_endless_real_time_run_cleanly(tmp_path: Path) -> None:
    out = tmp_path / "live.nmea"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "fence.cli", "simulate", "--config", str(S11), "--out", str(out)],
        stderr=subprocess.PIPE, env=env, cwd=REPO,
    )
    deadline = time.monotonic() + 30
    while (not out.exists() or out.stat().st_size == 0) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert b"sent " in err
    assert out.read_bytes().count(b"GGA,") >= 2 * len(site(S11).terminals)


def test_shards_split_the_terminals_between_processes(tmp_path: Path) -> None:
    outs = [tmp_path / f"shard{k}.jsonl" for k in range(3)]
    for k, out in enumerate(outs):
        assert main(["simulate", "--config", str(S11), "--start", START, "--duration-s", "5",
                     "--speed", "max", "--format", "fix", "--shard", f"{k}/3",
                     "--out", str(out)]) == 0
    whole = tmp_path / "whole.jsonl"
    assert main(["simulate", "--config", str(S11), "--start", START, "--duration-s", "5",
                 "--speed", "max", "--format", "fix", "--out", str(whole)]) == 0
    shards = [out.read_text().splitlines() for out in outs]
    terminals = [{parse_fix_line(line).terminal for line in lines} for lines in shards]
    assert all(terminals) and not (terminals[0] & terminals[1] or terminals[1] & terminals[2])
    assert sorted(line for lines in shards for line in lines) == sorted(whole.read_text().splitlines())


def _spawn(*argv: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-m", "fence.cli", "simulate", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO)


def test_pty_mode_prints_a_device_per_terminal_that_pyserial_reads() -> None:
    proc = _spawn("--config", str(S11), "--pty", "--only", "W-001,W-002", "--duration-s", "6",
                  "--no-faults")
    assert proc.stdout is not None
    lines = [proc.stdout.readline().decode().split() for _ in range(2)]
    assert [terminal for terminal, _ in lines] == ["W-001", "W-002"]
    ports = {t: serial.Serial(path, timeout=0.2) for t, path in lines}
    data = {t: b"" for t in ports}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(d.count(b"GGA") >= 2 for d in data.values()):
        for t, port in ports.items():
            data[t] += port.read(4096)
    for port in ports.values():
        port.close()
    proc.terminate()
    proc.communicate(timeout=10)
    for t, d in data.items():
        fixes = [f for f in decode_bytes(t, d) if isinstance(f, Fix)]
        assert len(fixes) >= 2 and {f.terminal for f in fixes} == {t}


def test_tcp_mode_serves_each_terminal_on_its_printed_port() -> None:
    proc = _spawn("--config", str(S11), "--tcp-listen", "0", "--only", "V-001",
                  "--duration-s", "6", "--no-faults")
    assert proc.stdout is not None
    terminal, url = proc.stdout.readline().decode().split()
    host, port = url.removeprefix("tcp://").rsplit(":", 1)
    conn = socket.create_connection((host, int(port)), timeout=5)
    data = b""
    deadline = time.monotonic() + 10
    while data.count(b"GGA") < 2 and time.monotonic() < deadline:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    conn.close()
    proc.terminate()
    proc.communicate(timeout=10)
    fixes = [f for f in decode_bytes(terminal, data) if isinstance(f, Fix)]
    assert terminal == "V-001" and len(fixes) >= 1
