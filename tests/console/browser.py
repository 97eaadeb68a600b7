"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, fresh profile each time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, sync_playwright

from tests.support.paths import REPO

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
ARTIFACTS = REPO / "test-artifacts" / "console"


@contextmanager
def chromium(profile_dir: Path) -> Iterator[BrowserContext]:
    """A Chromium context on a fresh user data dir; closed after."""
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile_dir), executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={"width": 1400, "height": 860},
        )
        try:
            yield context
        finally:
            context.close()


def login(page: Page, base: str, name: str, password: str) -> None:
    """Open the console and log in through the form."""
    page.goto(base + "/")
    page.fill("#login-name", name)
    page.fill("#login-password", password)
    page.click("#login-submit")


def shot(page: Page, name: str) -> Path:
    """Save a screenshot into test-artifacts/console/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
