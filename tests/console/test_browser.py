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
    alarm = page.locator("#alarm-list li.alarm", has_text="Visitor badge 201")
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
    alarm = page.locator("#alarm-list li.alarm", has_text="Visitor badge 201")
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
    expect(page.locator("#alarm-list li.alarm", has_text="Visitor badge 201")).to_have_count(0)
    page.click('.tabs button[data-tab="cleared"]')
    cleared = page.locator("#cleared-list li.alarm", has_text="Visitor badge 201")
    expect(cleared).to_contain_text("cleared")
    expect(cleared.locator(".ackinfo")).to_contain_text(OPERATOR[0])
    shot(page, "06-cleared")


def test_viewer_cannot_acknowledge(rig: Rig, page: Page) -> None:
    t = now_ms()
    rig.deliver(fix("P-202", 40, 130, t - 20_000), fix("P-202", 40, 60, t))
    login(page, rig.base, *VIEWER)
    expect(page.locator("#user")).to_have_text(f"{VIEWER[0]} (viewer)")
    alarm = page.locator("#alarm-list li.alarm", has_text="Visitor badge 202")
    alarm.wait_for(timeout=3000)
    expect(alarm.locator("button.ack-btn")).to_have_count(0)
    alarm_id = alarm.get_attribute("data-id")
    status = page.evaluate(
        """async (id) => (await fetch(`/api/alarms/${encodeURIComponent(id)}/ack`, {method: 'POST',
             headers: {'Content-Type': 'application/json'}, body: JSON.stringify({note: 'x'})})).status""",
        alarm_id)
    assert status == 403
    shot(page, "07-viewer")
