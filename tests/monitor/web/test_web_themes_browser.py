"""In a real browser (Debian's Chromium through Playwright): the incident page's "What it is
about" section fills itself with the storm's themes after the page is shown, under the
strict CSP (no console error or warning), and the trends page draws its charts."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import ConsoleMessage, expect, sync_playwright

from classifiers.cache import CachedEncoder
from monitor import accounts
from monitor.accounts import AccountPolicy
from monitor.settings import DatabaseSettings
from monitor.storage.db import make_engine
from monitor.web import create_app
from monitor.web.server import listen, serve
from tests.support.seeds.themed_posts import ConceptEncoder
from tests.support.worlds.web import (
    CHEAP,
    PASSWORD,
    SHOWCASE_INCIDENT,
    Clock,
    build_showcase,
    settings,
)

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
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
    loop, stop = asyncio.new_event_loop(), asyncio.Event()
    sock = listen("127.0.0.1:0")
    bind = f"127.0.0.1:{sock.getsockname()[1]}"
    thread = threading.Thread(
        target=loop.run_until_complete, args=(serve(app, bind, stop, sock=sock),)
    )
    thread.start()
    try:
        yield f"http://{bind}"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=15)
        loop.close()
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
