"""A manager paged at night acknowledges from the link in the page with one tap, on a phone,
without typing a password: a real browser (Debian's Chromium through Playwright) against
the real server on 127.0.0.1, with a phone's viewport and touch.

The page is watched as in test_web_browser.py: a console error or warning (how Chromium
reports a CSP violation), an uncaught error or a dialog fails the test.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from monitor.stages.page import PagingStage
from monitor.storage.db import session_scope
from monitor.storage.models import IncidentRow
from tests.support.servers.webapp import serving
from tests.support.worlds.web import INCIDENT, NOW, World, build_template, open_world

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 390, "height": 844}
IN_CI = bool(os.environ.get("CI"))
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not IN_CI,
        reason="no /usr/bin/chromium (apt-get install chromium)",
    ),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("oneclick"))


@pytest.fixture
def world(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from open_world(template, tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"CI is set but {CHROMIUM} is missing: .ci/run installs it (apt-get)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def incident(world: World) -> IncidentRow:
    with session_scope(world.engine) as session:
        row = session.get(IncidentRow, INCIDENT)
        assert row is not None
        return row


def watched(page: Page) -> list[str]:
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("dialog", lambda dialog: problems.append(f"dialog: {dialog.message}"))
    return problems


def test_a_manager_acknowledges_from_the_page_with_one_tap_on_a_phone(
    world: World, browser: Browser
) -> None:
    with serving(world.app) as url:
        settings = world.settings.model_copy(
            update={"web": world.settings.web.model_copy(update={"public_url": url})}
        )
        # The link exactly as the paging stage puts it in mette's page (same key, same code).
        link = PagingStage(settings, world.engine).ack_link(INCIDENT, NOW, "mette")
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        context.set_default_timeout(10_000)
        try:
            page = context.new_page()
            problems = watched(page)
            page.goto(link)  # from the mail app: no session, no cookie

            expect(page).to_have_url(link)  # no detour through the login form
            expect(page.locator("h1")).to_contain_text("Nordtel: 12 complaints in the last hour")
            expect(page.locator("main")).to_contain_text("Acknowledge this incident as mette?")
            assert page.locator("input[type=password]").count() == 0
            assert page.locator("input:not([type=hidden]), textarea").count() == 0, (
                "nothing to type"
            )
            assert incident(world).status == "triggered", "opening the link changed nothing"
            button = page.get_by_role("button", name="Acknowledge")
            box = button.bounding_box()
            assert box is not None
            assert box["width"] >= 300, "a thumb-sized button across the phone"
            assert box["y"] + box["height"] <= PHONE["height"], "in view without scrolling"

            button.tap()  # the one tap
            page.wait_for_url(link)  # Post/Redirect/Get: back on the link, now done
            expect(page.get_by_role("status")).to_contain_text(
                "Acknowledged by mette with this link"
            )
            expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
            row = incident(world)
            assert (row.status, row.acknowledged_by) == ("acknowledged", "mette")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], "nothing runs off the side of the phone"

            page.get_by_role("link", name="Open the incident").tap()
            login = re.compile(r"/login\?next=%2Fincidents%2F")
            expect(page).to_have_url(login)  # reading the posts still needs a login
            assert problems == [], problems
        finally:
            context.close()
