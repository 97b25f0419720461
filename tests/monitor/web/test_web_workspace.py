"""The storm workspace in a real browser (Debian's Chromium through Playwright) on a phone:

- a Danish manager whose company's on-call schedule is in London sets her own zone from
  the header (the settings page offers the phone's zone) and then reads every time in
  Copenhagen time: headlines, the explanation's cards, the chart;
- the explanation as cards: the surge in words, threads by title with a link, sample posts
  from within the storm linking to their queue items;
- she works the storm in bulk: the incident's posts in the queue, filtered to Danish,
  several ticked and acknowledged at once; the list comes back with its filters and says
  how many changed; an empty selection is refused with a sentence;
- without a schedule, pages show the browser's zone (a cookie set by static/app.js).

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
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from monitor import accounts
from monitor.storage.db import session_scope
from monitor.storage.models import QueueItem, User
from tests.support.worlds.browser import (
    CHROMIUM,
    PHONE,
    Watch,
    chromium,
    log_in,
    no_sideways_scroll,
    serving,
)
from tests.support.worlds.web import (
    SHOWCASE_INCIDENT,
    SHOWCASE_POSTS,
    World,
    build_showcase,
    open_world,
    settings,
)

IN_CI = bool(os.environ.get("CI"))  # under CI a missing browser fails (.ci/run installs it)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not IN_CI,
        reason="no /usr/bin/chromium (apt-get install chromium)",
    ),
]
INCIDENT_PATH = "/incidents/Nordtel%3Astorm%3A20261102T0840Z"
# The showcase storm began at 07:40 UTC on 2 November.
BEGAN = {
    "Europe/London": "since 2026-11-02 07:40 GMT",
    "Europe/Copenhagen": "since 2026-11-02 08:40 CET",
    "Asia/Tokyo": "since 2026-11-02 16:40 JST",
}
DANISH_STORM = sorted(
    p.id for p in SHOWCASE_POSTS if p.brand == "Nordtel" and p.lang == "da" and p.complaint >= 0.5
)


@pytest.fixture(scope="module")
def showcase(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_showcase(tmp_path_factory.mktemp("showcase"))


@dataclass
class Site:
    world: World
    url: str


def _site(showcase: Path, tmp_path: Path, mp: pytest.MonkeyPatch, zone: str | None) -> Any:
    for world in open_world(showcase, tmp_path, mp, settings(schedule_zone=zone)):
        with session_scope(world.engine) as session:  # English pages on a Danish phone (their
            for user in session.exec(select(User)).all():  # setting; test_web_i18n_browser.py
                accounts.set_language(session, user.name, "en")  # has the Danish pages)
        for url in serving(world):
            yield Site(world, url)


@pytest.fixture
def london(showcase: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """The showcase, its on-call schedule in London."""
    yield from _site(showcase, tmp_path, monkeypatch, "Europe/London")


@pytest.fixture
def no_schedule(showcase: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    yield from _site(showcase, tmp_path, monkeypatch, None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"CI is set but {CHROMIUM} is missing: .ci/run installs it (apt-get)")
    with chromium() as launched:
        yield launched


Opener = Callable[..., tuple[Page, Watch]]


@pytest.fixture
def phone(browser: Browser) -> Iterator[Opener]:
    """A phone in Copenhagen, Danish locale, a fresh context (no cookies) per page."""
    contexts = []

    def opener(zone: str = "Europe/Copenhagen") -> tuple[Page, Watch]:
        context = browser.new_context(
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="da-DK",
            timezone_id=zone,
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


def statuses(world: World, ids: list[str]) -> dict[str, str]:
    with session_scope(world.engine) as session:
        return {i: (session.get(QueueItem, (i, "Nordtel")) or QueueItem()).status for i in ids}


def listed(page: Page) -> list[str]:
    hrefs = page.locator("#queue-results a.title").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    return sorted(href.split("/")[2] for href in hrefs)


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


# --- her own zone ------------------------------------------------------------------------------


def test_a_danish_manager_on_her_phone_sets_her_zone_and_reads_copenhagen_time(
    london: Site, phone: Opener
) -> None:
    page, watch = phone()
    page.goto(f"{london.url}/incidents")
    log_in(page, "mia")
    page.wait_for_url(f"{london.url}/incidents")
    headline = page.locator("a.title", has_text="Nordtel: complaint surge")
    expect(headline).to_contain_text(BEGAN["Europe/London"])  # the schedule's zone first

    page.get_by_role("link", name="Settings").click()
    page.wait_for_url(f"{london.url}/settings")
    expect(page.locator("#zone-now")).to_contain_text("Europe/London (the on-call schedule's")
    use_phone = page.get_by_role("button", name="Use this device's zone (Europe/Copenhagen)")
    use_phone.click()  # offered by app.js from the phone's own zone
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Copenhagen")
    no_sideways_scroll(page)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{london.url}/settings?done=timezone")
    expect(page.get_by_role("status")).to_have_text(
        "Saved. Every page now shows times in this zone."
    )
    expect(page.locator("#zone-now")).to_contain_text("Europe/Copenhagen (your setting")

    page.get_by_role("link", name="Incidents").click()
    expect(headline).to_contain_text(BEGAN["Europe/Copenhagen"])
    headline.click()
    page.wait_for_url(f"{london.url}{INCIDENT_PATH}")
    expect(page.locator("h1")).to_contain_text(BEGAN["Europe/Copenhagen"])
    expect(page.locator("main > p.meta")).to_contain_text("2026-11-02 08:40 CET")  # began
    samples = page.locator("section.fact .samples")
    expect(samples).to_contain_text("2026-11-02 09:10 CET")  # "Håbløs ventetid", 08:10 UTC
    expect(page.locator("svg.chart")).to_contain_text("CET")
    assert "GMT" not in page.locator("main").inner_text()
    no_sideways_scroll(page)
    watch.check()


def test_without_a_schedule_pages_show_the_browsers_zone(no_schedule: Site, phone: Opener) -> None:
    page, watch = phone("Asia/Tokyo")
    page.goto(f"{no_schedule.url}/incidents")
    log_in(page, "mia")  # the login page's script has told the server the zone
    page.wait_for_url(f"{no_schedule.url}/incidents")
    expect(page.locator("a.title", has_text="Nordtel")).to_contain_text(BEGAN["Asia/Tokyo"])
    page.goto(f"{no_schedule.url}/settings")
    expect(page.locator("#zone-now")).to_contain_text("Asia/Tokyo (the zone this browser reports")
    watch.check()


# --- the explanation as cards ------------------------------------------------------------------


def test_the_explanation_reads_as_cards_with_titles_links_and_storm_posts(
    london: Site, phone: Opener
) -> None:
    page, watch = phone()
    page.goto(f"{london.url}{INCIDENT_PATH}")
    log_in(page, "mia")
    page.wait_for_url(f"{london.url}{INCIDENT_PATH}")
    cards = page.locator(".storm-facts")
    numbers = cards.locator("section.fact", has_text="Observed vs expected")
    expect(numbers).to_contain_text("13.1 complaints in 1 h")
    expect(numbers).to_contain_text("0.9 expected for this hour of the week")
    expect(numbers.locator(".times-usual")).to_have_text("about 14 times the usual")
    expect(numbers).to_contain_text("less than a one-in-a-billion chance on an ordinary day")
    expect(cards.locator("section.fact", has_text="Share negative")).to_contain_text("100%")
    languages = cards.locator("section.fact", has_text="Languages").inner_text()
    assert re.search(r"Danish\s+9", languages), languages
    assert re.search(r"Swedish\s+3", languages), languages

    thread = cards.locator(".threads a")
    expect(thread).to_have_text(["Nordtel: fiber nede i hele Jylland"])  # not "s09 (2)"
    expect(thread).to_have_attribute("href", "https://www.reddit.com/r/Denmark/comments/s09")
    expect(cards.locator(".threads")).to_contain_text("2 posts of this storm")

    sample = cards.locator(".samples a.title")
    expect(sample).to_have_count(3)
    began = page.locator("main > p.meta time").first.get_attribute("datetime")
    assert began == "2026-11-02T07:40:00+00:00"
    for moment in cards.locator(".samples time").evaluate_all(
        "times => times.map(t => t.getAttribute('datetime'))"
    ):
        assert moment >= began, "a sample from before the storm began"
    sample.first.click()  # a sample opens its queue item, which knows its way back
    page.wait_for_url(re.compile(r"/posts/s05/Nordtel\?back="))
    back = page.get_by_role("link", name="Back to the queue").get_attribute("href") or ""
    assert parse_qs(urlsplit(back).query)["incident"] == [SHOWCASE_INCIDENT]
    no_sideways_scroll(page)
    watch.check()


# --- working the storm in bulk -----------------------------------------------------------------


def test_she_works_the_storm_in_bulk_and_the_list_keeps_its_filters(
    london: Site, phone: Opener
) -> None:
    world = london.world
    page, watch = phone()
    page.goto(f"{london.url}{INCIDENT_PATH}")
    log_in(page, "mia")
    page.wait_for_url(f"{london.url}{INCIDENT_PATH}")
    page.locator("a.workspace").click()
    page.wait_for_url(re.compile(r"/queue\?status=all&incident="))
    fold = page.locator("details.more-filters")
    expect(fold).to_have_attribute("open", "")  # a filter is set (status=all): shown, counted
    with page.expect_response(lambda r: "lang=da" in r.url and r.status == 200):
        page.select_option("select[name=lang]", "da")  # htmx swaps the list in place
    page.wait_for_url(re.compile(r"lang=da"))
    assert listed(page) == DANISH_STORM
    no_sideways_scroll(page)
    page.evaluate("window.scrollTo(0, 0)")
    bar = page.locator(".bulk-bar").bounding_box()
    assert bar, bar
    assert round(bar["y"] + bar["height"]) == PHONE["height"], "held at the bottom, in reach"
    title = page.locator("#queue-results li.card a.title").first.bounding_box()
    assert title, title
    assert title["y"] + title["height"] < bar["y"], "the first post's title shows above it"

    picked = {
        "s05": "Håbløs ventetid",
        "s07": "Dobbelt træk og intet net",
        "s12": "Skifter selskab",
    }
    assert set(statuses(world, list(picked)).values()) == {"new"}
    for title in picked.values():
        page.get_by_label(f"Select: {title}").check()
    expect(page.locator("[data-selected]")).to_have_text("3 selected")
    page.locator(".bulk-bar").get_by_role("button", name="Acknowledge").click()
    page.wait_for_url(re.compile(r"done=ack"))
    expect(page.get_by_role("status")).to_have_text("Acknowledged 3 posts.")
    query = query_of(page)
    assert query["incident"] == [SHOWCASE_INCIDENT]
    assert query["lang"] == ["da"]
    assert query["status"] == ["all"]
    expect(page.locator("select[name=lang]")).to_have_value("da")
    expect(page.locator("p.incident-filter")).to_contain_text("Nordtel: complaint surge")
    assert listed(page) == DANISH_STORM
    assert set(statuses(world, list(picked)).values()) == {"acknowledged"}

    page.get_by_label("All on this page").check()
    expect(page.locator("[data-selected]")).to_have_text(f"{len(DANISH_STORM)} selected")
    page.locator(".bulk-bar").get_by_role("button", name="Acknowledge").click()
    page.wait_for_url(re.compile(r"changed=5"))
    expect(page.get_by_role("status")).to_have_text(
        "Acknowledged 5 posts. 4 were left as they were (already acknowledged or further along)."
    )
    assert set(statuses(world, DANISH_STORM).values()) == {"acknowledged"}

    with page.expect_response(lambda r: r.url.endswith("/queue/bulk") and r.status == 400):
        page.locator(".bulk-bar").get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("alert")).to_have_text("select at least one post first")
    expect(page.locator("select[name=lang]")).to_have_value("da")
    assert listed(page) == DANISH_STORM
    assert set(statuses(world, DANISH_STORM).values()) == {"acknowledged"}
    # the one thing said: Chromium logs the refused form post's 400 (nothing else, no CSP)
    assert watch.problems == [
        "console error: Failed to load resource: the server responded with a status of 400"
        " (Bad Request)"
    ]
