"""End-to-end in real headless Chromium against a real engine with the console mounted:
login, a trespass alarm within 2 s, acknowledgement surviving a reload, zone counts,
viewer refused, wrong password refused. Screenshots go to test-artifacts/console/."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.console.browser import chromium, login, shot
from tests.console.support import OPERATOR, VIEWER, Rig, fix, running_rig

pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian chromium")


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    # the default update period (500 ms), as in production
    with running_rig(tmp_path_factory.mktemp("console-e2e"), update_ms=500) as running:
        yield running


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    with chromium(tmp_path / "profile") as context:
        yield context.new_page()


def now_ms() -> int:
    return int(time.time() * 1000)


def test_wrong_password_is_refused(rig: Rig, page: Page) -> None:
    login(page, rig.base, OPERATOR[0], "wrong-password")
    expect(page.locator("#login-error")).to_have_text("Wrong name or password.")
    expect(page.locator("#login")).to_be_visible()
    shot(page, "01-wrong-password")
    assert page.evaluate("async () => (await fetch('/api/state')).status") == 401


def test_trespass_alarm_ack_reload_and_zone_panel(rig: Rig, page: Page) -> None:
    t = now_ms()
    rig.deliver(fix("T-001", 200, 30, t - 20_000), fix("T-002", 220, 60, t - 20_000),
                fix("V-101", 260, 50, t - 20_000), fix("P-201", 50, 130, t - 20_000))
    login(page, rig.base, *OPERATOR)
    expect(page.locator("#login")).to_be_hidden()
    expect(page.locator("#conn")).to_have_text("live")
    expect(page.locator("#counts")).to_contain_text("4 terminals")

    # the scripted trespass: the visitor walks into the restricted tank farm
    started = time.monotonic()
    rig.deliver(fix("P-201", 50, 50, now_ms()))
    alarm = page.locator("#alarm-list li.alarm.sev-critical", has_text="Visitor badge 201")
    alarm.wait_for(timeout=2000)
    latency_s = time.monotonic() - started
    print(f"trespass alarm shown {latency_s * 1000:.0f} ms after the fix was delivered")
    assert latency_s < 2.0
    expect(alarm).to_contain_text("trespass")
    expect(alarm).to_contain_text("Tank farm 1")
    assert "new" in (alarm.get_attribute("class") or "")
    assert page.evaluate("window.__fenceBeeps || 0") >= 1
    shot(page, "02-trespass-alarm")

    # acknowledge with a note
    alarm.locator("button.ack-btn").click()
    expect(page.locator("#ack-operator")).to_have_text(OPERATOR[0])
    page.fill("#ack-note", "patrol sent, visitor escorted out")
    page.click("#ack-confirm")
    expect(page.locator("#ack-dialog")).to_be_hidden()
    expect(alarm.locator(".ackinfo")).to_contain_text(f"acknowledged by {OPERATOR[0]}")
    expect(alarm.locator("button.ack-btn")).to_have_count(0)
    shot(page, "03-acknowledged")

    # reload: the session and the acknowledgement are still there (from the store)
    page.reload()
    expect(page.locator("#login")).to_be_hidden()
    alarm = page.locator("#alarm-list li.alarm.sev-critical", has_text="Visitor badge 201")
    expect(alarm.locator(".ackinfo")).to_contain_text("patrol sent, visitor escorted out")

    # zone panel: the yard counts the two crew (the truck is inside but not counted)
    page.click('.tabs button[data-tab="zones"]')
    yard_row = page.locator('#zone-rows tr[data-zone="YARD"]')
    expect(yard_row.locator("td.count")).to_have_text("2")
    yard_row.click()
    expect(page.locator("#zone-occupancy")).to_contain_text("2 / max 2")
    expect(page.locator("#zone-inside li")).to_have_count(3)
    expect(page.locator("#zone-inside")).to_contain_text("Tanker truck 101")
    expect(page.locator("#zone-inside")).to_contain_text("not counted")
    page.locator('#zone-rows tr[data-zone="TANK-1"]').click()
    expect(page.locator("#zone-occupancy")).to_contain_text("1")
    expect(page.locator("#zone-inside")).to_contain_text("Visitor badge 201")
    shot(page, "04-zone-panel")

    # search a terminal by name: terminal panel with quality and zones
    page.fill("#search", "tanker")
    page.keyboard.press("Enter")
    expect(page.locator("#terminal-detail h3")).to_contain_text("Tanker truck 101")
    expect(page.locator("#term-quality")).to_have_text("RTK fixed")
    expect(page.locator("#term-zones")).to_contain_text("Loading yard")
    shot(page, "05-terminal-panel")

    # the visitor leaves: the alarm moves to the cleared list, with its acknowledgement
    rig.deliver(fix("P-201", 50, 140, now_ms() + 20_000))
    expect(page.locator("#alarm-list li.alarm.sev-critical", has_text="Visitor badge 201")).to_have_count(0)
    page.click('.tabs button[data-tab="cleared"]')
    cleared = page.locator("#cleared-list li.alarm.sev-critical", has_text="Visitor badge 201")
    expect(cleared).to_contain_text("cleared")
    expect(cleared.locator(".ackinfo")).to_contain_text(OPERATOR[0])
    expect(cleared.locator("button.ack-btn")).to_have_count(0)
    shot(page, "06-cleared")

    # an alarm that cleared before anyone acknowledged it is acknowledged from the history
    t = now_ms()
    rig.deliver(fix("X-901", 80, 106, t - 29_000), fix("X-901", 80, 90, t - 19_000),
                fix("X-901", 80, 108, t - 9_000))
    missed = page.locator("#cleared-list li.alarm.sev-critical", has_text="X-901")
    missed.wait_for(timeout=3000)
    missed.locator("button.ack-btn").click()
    page.fill("#ack-note", "reviewed on camera afterwards")
    page.click("#ack-confirm")
    expect(missed.locator(".ackinfo")).to_contain_text("reviewed on camera afterwards")


def test_viewer_cannot_acknowledge(rig: Rig, page: Page) -> None:
    t = now_ms()
    rig.deliver(fix("P-202", 40, 130, t - 20_000), fix("P-202", 40, 60, t))
    login(page, rig.base, *VIEWER)
    expect(page.locator("#user")).to_have_text(f"{VIEWER[0]} (viewer)")
    alarm = page.locator("#alarm-list li.alarm.sev-critical", has_text="Visitor badge 202")
    alarm.wait_for(timeout=3000)
    expect(alarm.locator("button.ack-btn")).to_have_count(0)
    alarm_id = alarm.get_attribute("data-id")
    status = page.evaluate(
        """async (id) => (await fetch(`/api/alarms/${encodeURIComponent(id)}/ack`, {method: 'POST',
             headers: {'Content-Type': 'application/json'}, body: JSON.stringify({note: 'x'})})).status""",
        alarm_id)
    assert status == 403
    shot(page, "07-viewer")


def test_stream_reconnects_by_itself(rig: Rig, page: Page) -> None:
    login(page, rig.base, *OPERATOR)
    expect(page.locator("#conn")).to_have_text("live")
    backend = rig.console.backend
    backend.end_streams()  # type: ignore[attr-defined]  # e.g. a proxy cutting the stream
    expect(page.locator("#conn")).to_have_text("reconnecting", timeout=3000)
    expect(page.locator("#conn")).to_have_text("live", timeout=6000)
    t = now_ms()
    rig.deliver(fix("T-002", 240, 20, t))
    expect(page.locator("#counts")).not_to_contain_text("0 terminals")
    page.wait_for_function(
        "(t) => { const x = window.__fence.terminals.get('T-002'); return x && x.t === t; }", arg=t)


def test_filters_mute_and_zone_tooltip(rig: Rig, page: Page) -> None:
    t = now_ms()
    rig.deliver(fix("P-203", 60, 130, t - 40_000), fix("P-203", 60, 40, t - 20_000))
    login(page, rig.base, *OPERATOR)
    # the trespass (critical); on a slow machine the badge may be offline by now as well
    alarm = page.locator("#alarm-list li.alarm.sev-critical", has_text="Visitor badge 203")
    alarm.wait_for(timeout=3000)
    page.select_option("#filter-type", "offline")
    expect(alarm).to_have_count(0)
    page.select_option("#filter-type", "trespass")
    page.select_option("#filter-zone", "TANK-1")
    expect(alarm).to_have_count(1)
    page.select_option("#filter-zone", "YARD")
    expect(alarm).to_have_count(0)
    page.select_option("#filter-zone", "")

    page.click("#mute")
    expect(page.locator("#mute")).to_have_text("Sound: muted")
    page.reload()
    expect(page.locator("#mute")).to_have_text("Sound: muted")
    beeps = page.evaluate("window.__fenceBeeps || 0")
    rig.deliver(fix("P-203", 60, 140, now_ms()), fix("P-202", 30, 130, now_ms() - 20_000))
    rig.deliver(fix("P-202", 30, 40, now_ms()))
    page.locator("#alarm-list li.alarm.sev-critical", has_text="Visitor badge 202").wait_for(timeout=3000)
    assert page.evaluate("window.__fenceBeeps || 0") == beeps

    # hovering a zone shows its limits
    px, py = page.evaluate("""() => { const z = window.__fence.zonesById.get('YARD').polygons[0][0];
        const x = (z[0][0] + z[2][0]) / 2, y = (z[0][1] + z[2][1]) / 2; return toScreen(x, y + 20); }""")
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + px, box["y"] + py)
    expect(page.locator("#tooltip")).to_contain_text("Loading yard (YARD)")
    expect(page.locator("#tooltip")).to_contain_text("max 2")
    shot(page, "08-zone-tooltip")


def test_history_replay_with_time_slider(rig: Rig, page: Page) -> None:
    t = now_ms() - 120_000
    path = [(20, 230), (40, 215), (60, 200), (60, 185), (60, 170)]
    rig.deliver(*(fix("V-101", x, y, t + 10_000 * i) for i, (x, y) in enumerate(path)))
    login(page, rig.base, *OPERATOR)
    page.click('.tabs button[data-tab="replay"]')
    page.evaluate("""([a, b]) => { document.getElementById('replay-from').value = localInput(a);
                                   document.getElementById('replay-to').value = localInput(b); }""",
                  [t - 5_000, t + 45_000])
    # the inputs are in the site's time zone (Asia/Shanghai: UTC+8), whatever the browser's
    shown = page.evaluate("(ms) => localInput(ms)", t)
    assert shown == time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t / 1000 + 8 * 3600))
    assert page.evaluate("(ms) => fromLocalInput(localInput(ms))", t) == t // 1000 * 1000
    page.click("#replay-load")
    expect(page.locator("#replay-info")).to_contain_text("terminals")
    expect(page.locator("#mode")).to_have_text("REPLAY")
    expect(page.locator("#replay-slider")).to_be_enabled()

    def replay_xy(at: int) -> list[float]:
        page.evaluate("""(v) => { const s = document.getElementById('replay-slider'); s.value = v;
                                  s.dispatchEvent(new Event('input')); }""",
                      round(1000 * (at - (t - 5_000)) / 50_000))
        return page.evaluate("""() => { const p = window.__fence.replay.positions().find(p => p.id === 'V-101');
                                         return p ? [p.x, p.y, p.t] : null; }""")

    x2, y2, t2 = replay_xy(t + 21_000)
    assert t2 == t + 20_000
    ex, ey = rig.engine.index.project(*_lonlat(60, 200))
    assert abs(x2 - ex) < 0.05 and abs(y2 - ey) < 0.05
    assert replay_xy(t + 41_000)[2] == t + 40_000
    expect(page.locator("#replay-time")).not_to_be_empty()
    shot(page, "09-history-replay")
    page.click("#replay-live")
    expect(page.locator("#mode")).to_have_text("")


def _lonlat(x: float, y: float) -> tuple[float, float]:
    from tests.console.support import lonlat

    return lonlat(x, y)


def test_expired_session_brings_the_login_back(tmp_path: Path, page: Page) -> None:
    with running_rig(tmp_path / "short", "session_ttl_s = 2\n") as short:
        login(page, short.base, *OPERATOR)
        expect(page.locator("#conn")).to_have_text("live")
        expect(page.locator("#login")).to_be_visible(timeout=10_000)
        expect(page.locator("#login-error")).to_contain_text("Session expired")
        shot(page, "11-session-expired")


def test_offline_terminal_is_grey_with_its_age(rig: Rig, page: Page) -> None:
    rig.deliver(fix("X-900", 280, 90, now_ms() - 90_000))  # silent for 90 s: offline at the next tick
    login(page, rig.base, *OPERATOR)
    page.wait_for_function("() => { const t = window.__fence.terminals.get('X-900'); return t && !t.online; }",
                           timeout=5000)
    page.locator("#alarm-list li.alarm", has_text="Offline").first.wait_for(timeout=3000)
    px, py = page.evaluate("() => { const t = window.__fence.terminals.get('X-900'); return toScreen(t.x, t.y); }")
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + px, box["y"] + py)
    expect(page.locator("#tooltip")).to_contain_text("offline, last fix")
    expect(page.locator("#tooltip")).to_contain_text("min ago")
    shot(page, "12-offline")
