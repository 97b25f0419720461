"""In a real browser (Debian's Chromium through Playwright): the incident page's "What it is
about" section fills itself with the storm's themes after the page is shown, under the
strict CSP (no console error or warning), and the trends page draws its charts. The
screenshots in docs/screenshots of the themes, the trends page and the weekly e-mail (written
only with STORMWATCH_SCREENSHOTS=1; the layout checks run either way)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright

from classifiers.cache import CachedEncoder
from monitor import accounts
from monitor.accounts import AccountPolicy
from monitor.reports.config import ReportSettings
from monitor.reports.schedule import week_before
from monitor.reports.weekly import build_report, render_html
from monitor.settings import DatabaseSettings
from monitor.storage.db import make_engine, read_scope
from monitor.web import create_app
from tests.support.paths import REPO
from tests.support.seeds.themed_posts import ConceptEncoder
from tests.support.servers.webapp import serving
from tests.support.worlds.browser import ARGS, CHROMIUM, DESKTOP, PHONE
from tests.support.worlds.web import (
    CHEAP,
    NOW,
    PASSWORD,
    SHOWCASE_INCIDENT,
    Clock,
    build_showcase,
    settings,
)

SCREENSHOTS = REPO / "docs" / "screenshots"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="no /usr/bin/chromium (apt-get install chromium)",
    ),
]


@pytest.fixture
def base_url(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    monkeypatch.setattr(accounts, "HASHER", CHEAP)
    shutil.copy(build_showcase(tmp_path_factory.mktemp("showcase")), tmp_path / "web.db")
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path / 'web.db'}"))
    encoder = CachedEncoder(ConceptEncoder(word_weight=0.5))
    app = create_app(settings(), engine, clock=Clock(), policy=AccountPolicy(),
                     encoder=lambda: encoder)  # fmt: skip
    try:
        with serving(app) as url:
            yield url
    finally:
        engine.dispose()


def test_the_themes_section_and_the_trends_page_in_a_browser(base_url: str) -> None:
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"{message.type}: {message.text}")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(10_000)
            page.on("console", console)
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.goto(f"{base_url}/incidents/{quote(SHOWCASE_INCIDENT, safe='')}")
            page.get_by_label("User name").fill("mia")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            section = page.locator("#themes")
            expect(section.locator("li.theme").first).to_contain_text(" about ")
            assert "Grouping the posts" not in section.inner_text()
            assert page.locator("h1").count() == 1  # the fragment, not a page, was swapped in

            page.goto(f"{base_url}/trends?brand=Nordtel&days=7")
            expect(page.locator("h1")).to_have_text("Trends: Nordtel")
            assert page.locator("svg.chart").count() == 4
        finally:
            browser.close()
    assert problems == []


def _shoot(page: Page, path: Path, height: float | None = None) -> None:
    """No sideways scroll, then the page down to `height` (all of it without one)."""
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"
    page.mouse.move(0, 0)
    if height is None:
        page.screenshot(path=path, full_page=True, animations="disabled")
        return
    width = page.viewport_size["width"] if page.viewport_size else DESKTOP["width"]
    clip = {"x": 0, "y": 0, "width": width, "height": height}
    page.screenshot(path=path, full_page=True, clip=clip, animations="disabled")  # type: ignore[arg-type]


def _weekly_email(tmp_path: Path) -> str:
    """The weekly report of the showcase's week, as the e-mail's HTML."""
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path / 'web.db'}"))
    report = ReportSettings(
        name="weekly", recipients=["pr@example.com"], channel="mail", timezone="Europe/Copenhagen"
    )
    sent = NOW + timedelta(days=7)
    try:
        with read_scope(engine) as session:
            week = week_before(sent, report.zone)
            return render_html(build_report(session, report, ["Nordtel"], week), sent)
    finally:
        engine.dispose()


def test_screenshots_of_the_themes_the_trends_and_the_weekly_email(
    base_url: str, tmp_path: Path
) -> None:
    out = SCREENSHOTS if os.environ.get("STORMWATCH_SCREENSHOTS") == "1" else tmp_path / "shots"
    out.mkdir(parents=True, exist_ok=True)
    html = _weekly_email(tmp_path)
    assert "Nordtel" in html
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_context(viewport=DESKTOP).new_page()  # type: ignore[arg-type]
            page.set_default_timeout(10_000)
            page.goto(f"{base_url}/incidents/{quote(SHOWCASE_INCIDENT, safe='')}")
            page.get_by_label("User name").fill("mia")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            themes = page.locator("#themes")
            expect(themes.locator("li.theme").first).to_contain_text(" about ")
            box = themes.bounding_box()
            assert box is not None
            _shoot(page, out / "incident-themes.png", box["y"] + box["height"] + 16)

            page.goto(f"{base_url}/trends?brand=Nordtel&days=7")
            expect(page.locator("svg.chart")).to_have_count(4)
            _shoot(page, out / "trends.png", 1400)

            phone = browser.new_context(
                viewport=PHONE,  # type: ignore[arg-type]
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
                storage_state=page.context.storage_state(),
            ).new_page()
            phone.goto(f"{base_url}/trends?brand=Nordtel&days=7")
            expect(phone.locator("svg.chart")).to_have_count(4)
            _shoot(phone, out / "trends-phone.png", PHONE["height"])

            mail = browser.new_context(viewport={"width": 760, "height": 900}).new_page()
            mail.set_content(html)
            expect(mail.locator("h2").first).to_be_visible()
            _shoot(mail, out / "weekly-email.png")
        finally:
            browser.close()
    assert {f.name for f in out.iterdir()} >= {
        "incident-themes.png",
        "trends.png",
        "trends-phone.png",
        "weekly-email.png",
    }
