"""End-to-end through the real command line: ``fence users add`` creates the operator;
``fence demo`` (the engine with the in-process simulator) or ``fence simulate`` ->
mosquitto -> ``fence run`` plays the scripted scenario, which walks a visitor into the
restricted tank farm, with the console mounted; headless Chromium logs in, sees the
trespass alarm within 2 s of the engine storing it, acknowledges it, and finds the
acknowledgement again after a reload (and in the store's audit trail)."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.console.browser import chromium, login, shot
from tests.console.support import OPERATOR, write_site
from tests.support.broker import Broker
from tests.support.paths import REPO

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian chromium")]

SPEED = 4.0


def fence_argv(*args: str) -> list[str]:
    """The command line of ``fence ARGS``."""
    return [sys.executable, "-m", "fence.cli", *args]


def fence(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(fence_argv(*args), input=stdin, cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    toml = write_site(tmp_path / "site", update_ms=500)
    added = fence("users", "--config", str(toml), "add", OPERATOR[0], "--role", "operator",
                  "--password-stdin", stdin=OPERATOR[1] + "\n")
    assert added.returncode == 0, added.stderr
    proc = subprocess.Popen(
        fence_argv("demo", "--config", str(toml), "--speed", str(SPEED)),
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = None
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, f"demo ended early: {proc.stderr.read() if proc.stderr else ''}"
            m = re.search(r"operator console on (http://\S+)", line)
            url = m.group(1).rstrip("/") if m else None
        assert url is not None
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe drained
        yield url, toml.parent / "var" / "events.db"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def _store_seen(db: Path, found: dict[str, float], stop: threading.Event) -> None:
    """Record the wall time at which the first trespass row appears in the store."""
    while not stop.wait(0.02):
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
            row = con.execute("SELECT id FROM events WHERE type = 'trespass' AND state = 'raised'"
                              " ORDER BY n LIMIT 1").fetchone()
            con.close()
        except sqlite3.Error:
            continue
        if row is not None:
            found[row[0]] = time.time() * 1000
            return


def check_trespass_flow(url: str, db: Path, profile: Path, shots: str,
                        start_simulator: Callable[[], None] = lambda: None) -> float:
    """Log in, (start the simulator,) wait for the scripted trespass, check it is shown
    within 2 s of being stored, acknowledge it, reload; returns the latency in ms."""
    found: dict[str, float] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=_store_seen, args=(db, found, stop), daemon=True)
    watcher.start()
    try:
        with chromium(profile) as context:
            page = context.new_page()
            login(page, url, *OPERATOR)
            expect(page.locator("#conn")).to_have_text("live", timeout=10_000)
            page.evaluate("""() => { window.__seen = {};
                new MutationObserver(() => { for (const li of document.querySelectorAll('#alarm-list li.alarm'))
                    if (!(li.dataset.id in window.__seen)) window.__seen[li.dataset.id] = Date.now(); })
                  .observe(document.getElementById('alarm-list'), {childList: true, subtree: true}); }""")
            start_simulator()
            alarm = page.locator("#alarm-list li.alarm", has_text="Trespass")
            alarm.first.wait_for(timeout=90_000)
            watcher.join(timeout=5)
            assert found, "the store never had the trespass"
            event_id, stored_ms = next(iter(found.items()))
            seen = page.evaluate("(id) => window.__seen[id] || null", event_id)
            assert seen is not None, "the alarm shown is not the stored trespass"
            latency_ms = float(seen - stored_ms)
            print(f"\n{shots}: trespass stored -> shown in the browser: {latency_ms:.0f} ms")
            assert latency_ms < 2000
            item = page.locator(f'#alarm-list li.alarm[data-id="{event_id}"]')
            expect(item).to_contain_text("Tank farm 1")
            shot(page, f"{shots}-trespass")

            item.locator("button.ack-btn").click()
            page.fill("#ack-note", "checked on camera, security on the way")
            page.click("#ack-confirm")
            expect(item.locator(".ackinfo")).to_contain_text(OPERATOR[0])
            page.reload()
            item = page.locator(f'#alarm-list li.alarm[data-id="{event_id}"]')
            expect(item.locator(".ackinfo")).to_contain_text("checked on camera, security on the way")
            shot(page, f"{shots}-acknowledged")
    finally:
        stop.set()
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    trail = con.execute("SELECT operator, note FROM acks WHERE event_id = ?", (event_id,)).fetchall()
    con.close()
    assert trail == [(OPERATOR[0], "checked on camera, security on the way")]
    return latency_ms


def test_demo_trespass_alarm_reaches_the_browser_and_is_acknowledged(demo: tuple[str, Path],
                                                                      tmp_path: Path) -> None:
    url, db = demo
    check_trespass_flow(url, db, tmp_path / "profile", "20-demo")


def test_fence_run_with_simulator_over_mqtt(tmp_path: Path, broker: Broker) -> None:
    """fence simulate -> mosquitto -> fence run (console mounted) -> Chromium."""
    toml = write_site(tmp_path / "site", update_ms=500)
    with toml.open("a", encoding="utf-8") as fh:
        fh.write(f'[[inputs]]\ntype = "mqtt"\nhost = "{broker.host}"\nport = {broker.port}\n'
                 'client_id = "console-e2e"\n')
    added = fence("users", "--config", str(toml), "add", OPERATOR[0], "--role", "operator",
                  "--password-stdin", stdin=OPERATOR[1] + "\n")
    assert added.returncode == 0, added.stderr
    engine = subprocess.Popen(fence_argv("run", "--config", str(toml)), cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sims: list[subprocess.Popen[str]] = []
    try:
        url = _url_from(engine)

        def start_simulator() -> None:
            sims.append(subprocess.Popen(
                fence_argv("simulate", "--config", str(toml), "--mqtt", f"{broker.host}:{broker.port}",
                           "--scenario", "all-events", "--speed", str(SPEED), "--no-faults"),
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        check_trespass_flow(url, toml.parent / "var" / "events.db", tmp_path / "profile", "22-run",
                            start_simulator)
    finally:
        for sim in sims:
            sim.terminate()
            sim.wait(timeout=30)
        engine.send_signal(signal.SIGTERM)
        assert engine.wait(timeout=60) == 0


def _url_from(proc: subprocess.Popen[str]) -> str:
    """The console URL from the engine's log (stderr), then keep draining it."""
    assert proc.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        assert line, "the engine ended before the console started"
        m = re.search(r"operator console on (http://\S+)", line)
        if m:
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return m.group(1).rstrip("/")
    raise AssertionError("no console URL in the engine's log")
