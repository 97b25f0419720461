"""The web UI in a real browser: a web world served by uvicorn on 127.0.0.1, Debian's
Chromium through Playwright, and pages watched for what they should not say (console
errors and warnings, where Chromium reports a CSP violation; uncaught errors; dialogs).

Plain functions and classes, not fixtures: a browser test module declares its own fixtures
around them (tests/monitor/web/test_web_workspace.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, sync_playwright

from tests.support.servers.webapp import serving as serve_app
from tests.support.worlds.web import PASSWORD, World

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def serving(world: World) -> Iterator[str]:
    """Serve ``world.app`` on a free 127.0.0.1 port; yields its base URL, stops after."""
    with serve_app(world.app) as url:
        yield url


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watch:
    """What a page said that it should not have."""

    problems: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("dialog", self._dialog)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text}")

    def _dialog(self, dialog: Dialog) -> None:
        self.problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def check(self) -> None:
        assert self.problems == [], self.problems


def log_in(page: Page, name: str = "mia") -> None:
    """Fill the login form the page is on (redirected there or not), in whatever language
    the page is in."""
    assert "/login" in page.url, page.url
    form = page.locator("form[action='/login']")
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()


def no_sideways_scroll(page: Page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"
