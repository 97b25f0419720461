"""The Danish pages in a real browser (Debian's Chromium through Playwright):

- a Danish manager on her phone (a da-DK browser) logs in on a Danish form, works the
  queue in Danish — its heading, the count, the filters, the bulk bar and what the bar
  says after an action, the numbers with a decimal comma — and the page says lang="da";
  the incidents' headlines (stored in English) read in Danish words;
- she switches to English on the settings page and the same queue reads in English;
- the screenshots docs/screenshots/queue-da.png and queue-phone-da.png (written only with
  STORMWATCH_SCREENSHOTS=1; the layouts are checked for sideways overflow either way).

Every page is watched: a console error or warning (how Chromium reports a CSP violation),
an uncaught error or a dialog fails the test.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.paths import REPO
from tests.support.worlds.browser import (
    CHROMIUM,
    DESKTOP,
    PHONE,
    Watch,
    chromium,
    log_in,
    no_sideways_scroll,
    serving,
)
from tests.support.worlds.web import World, build_showcase, open_world

IN_CI = bool(os.environ.get("CI"))  # under CI a missing browser fails (.ci/run installs it)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not IN_CI,
        reason="no /usr/bin/chromium (apt-get install chromium)",
    ),
]
SCREENSHOTS = REPO / "docs" / "screenshots"


@pytest.fixture(scope="module")
def showcase(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_showcase(tmp_path_factory.mktemp("showcase"))


@dataclass
class Site:
    world: World
    url: str


@pytest.fixture
def site(showcase: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    for world in open_world(showcase, tmp_path, monkeypatch):
        for url in serving(world):
            yield Site(world, url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"CI is set but {CHROMIUM} is missing: .ci/run installs it (apt-get)")
    with chromium() as launched:
        yield launched


Opener = Callable[..., tuple[Page, Watch]]


@pytest.fixture
def danish(browser: Browser) -> Iterator[Opener]:
    """A browser in Danish in Copenhagen, a fresh context (no cookies) per page."""
    contexts = []

    def opener(**options: Any) -> tuple[Page, Watch]:
        context = browser.new_context(
            locale="da-DK", timezone_id="Europe/Copenhagen", **(options or {"viewport": DESKTOP})
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        watch = Watch()
        watch.attach(page)
        return page, watch

    yield opener
    for context in contexts:
        context.close()


def phone_options() -> dict[str, Any]:
    return {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def test_a_danish_manager_works_the_queue_in_danish_on_her_phone(
    site: Site, danish: Opener
) -> None:
    page, watch = danish(**phone_options())
    page.goto(f"{site.url}/queue")
    expect(page.locator("html")).to_have_attribute("lang", "da")
    expect(page.get_by_label("Brugernavn")).to_be_visible()
    log_in(page)
    page.wait_for_url(f"{site.url}/queue")
    expect(page.locator("html")).to_have_attribute("lang", "da")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kø")
    expect(page.locator("nav[aria-label=Hovedmenu]")).to_contain_text("Hændelser")
    expect(page.locator("p.count")).to_have_text(
        re.compile(r"^\d+ indlæg, de mest presserende først$")
    )
    # the urgency with a decimal comma, as Danish writes it
    expect(page.locator("#queue-results .urgency").first).to_have_text(
        re.compile(r"^hastegrad \d+,\d\d$")
    )
    page.get_by_text("Filtre", exact=True).click()
    expect(page.get_by_label("Status")).to_contain_text("åben")
    no_sideways_scroll(page)

    cards = page.locator("#queue-results li.card")
    cards.nth(0).locator("input.pick").check()
    cards.nth(1).locator("input.pick").check()
    expect(page.locator("[data-selected]")).to_have_text("2 valgt")  # app.js, in Danish
    page.locator(".bulk-bar").get_by_role("button", name="Kvittér").click()
    page.wait_for_url(re.compile(r".*done=ack.*"))
    expect(page.get_by_role("status").first).to_have_text("Kvitterede 2 indlæg.")
    no_sideways_scroll(page)

    page.get_by_role("link", name="Hændelser", exact=True).click()
    headline = page.locator("a.title").first  # stored in English, shown in Danish words
    expect(headline).to_contain_text("Nordtel: bølge af klager (kritisk, udløst) siden 2026-11-02")
    expect(page.get_by_role("heading", level=1)).to_have_text("Åbne hændelser")
    no_sideways_scroll(page)

    page.goto(f"{site.url}/settings")
    page.get_by_label("Sprog").select_option("en")
    page.get_by_role("button", name="Gem").click()
    page.wait_for_url(f"{site.url}/settings?done=language")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("status")).to_have_text("Saved. Pages are now in this language.")
    page.goto(f"{site.url}/queue")
    expect(page.get_by_role("heading", level=1)).to_have_text("Queue")
    expect(page.locator("p.count")).to_contain_text("most urgent now first")
    page.get_by_role("link", name="Incidents", exact=True).click()
    expect(page.locator("a.title").first).to_contain_text("Nordtel: complaint surge (critical")
    watch.check()


def test_screenshots_of_the_danish_queue_on_a_laptop_and_a_phone(
    site: Site, danish: Opener, tmp_path: Path
) -> None:
    """Writes docs/screenshots/queue-da.png and queue-phone-da.png only with
    STORMWATCH_SCREENSHOTS=1 (CI leaves the tree clean); the layout checks run either way."""
    out = SCREENSHOTS if os.environ.get("STORMWATCH_SCREENSHOTS") == "1" else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    shots = {"queue-da.png": {"viewport": DESKTOP}, "queue-phone-da.png": phone_options()}
    for name, options in shots.items():
        page, watch = danish(**options)
        page.goto(f"{site.url}/queue")
        log_in(page)
        page.wait_for_url(f"{site.url}/queue")
        expect(page.locator("#queue-results li.card").first).to_be_visible()
        expect(page.locator("p.count")).to_contain_text("de mest presserende først")
        no_sideways_scroll(page)
        for path in ("/incidents", "/incidents/Nordtel%3Astorm%3A20261102T0840Z", "/sources"):
            page.goto(site.url + path)  # the longer Danish words still fit
            no_sideways_scroll(page)
        page.goto(f"{site.url}/queue")
        expect(page.locator("#queue-results li.card").first).to_be_visible()
        page.mouse.move(0, 0)  # steady pixels: no hover left over from the login click
        page.screenshot(path=out / name, animations="disabled")
        watch.check()
