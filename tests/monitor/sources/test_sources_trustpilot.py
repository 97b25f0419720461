"""The ``trustpilot`` kind against a fake Trustpilot Business Units API on 127.0.0.1,
through the real crawler, fetcher, address gate and SQLite store; its API key secret."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from monitor.settings import Settings
from monitor.sources.api import load_marks
from monitor.stages.read import Matchers
from tests.support.contracts.api_kinds import ApiKind, HealthReasons, SecretNeverShown
from tests.support.fixtures.clock import T0
from tests.support.servers.fakeplatform import (
    FakePlatform,
    Reply,
    crawl_once,
    host_backoff,
    json_reply,
    make_settings,
    running,
    source_row,
    stored,
    trustpilot_review,
    trustpilot_reviews,
)

KEY = "tpk_3f9a8b7c6d5e4f30a1b2c3d4e5f60718"
UNIT = "5a1b2c3d4e5f60718293a4b5"
PATH = f"/v1/business-units/{UNIT}/reviews"


@pytest.fixture
def tp() -> Iterator[FakePlatform]:
    with running() as platform:
        yield platform


def reviews(count: int, first: int = 0, stars: int = 1) -> list[dict[str, Any]]:
    """``count`` reviews, ten minutes apart, the newest ten minutes before T0."""
    return [
        trustpilot_review(f"r{first + i:04d}", stars, "", T0 - timedelta(minutes=10 * (count - i)))
        for i in range(count)
    ]


def settings_for(tp: FakePlatform, tmp_path: Path, key: str = KEY) -> Settings:
    source = {
        "name": "tp",
        "kind": "trustpilot",
        "url": tp.url(),
        "business_unit": UNIT,
        "api_key": key,
        "brand": "Nordtel",
    }
    return make_settings(f"sqlite:///{tmp_path}/t.db", [source])


def test_reads_every_page_newest_first_with_the_stars(
    tp: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    data = reviews(230)
    tp.fallback = trustpilot_reviews(data, KEY, UNIT)
    [report] = crawl_once(settings_for(tp, tmp_path), sqlite_engine, matchers, T0)
    assert report.error is None
    assert len(report.new) == 230
    assert report.warnings == []
    calls = tp.calls_to(PATH)
    assert [c.arg("page") for c in calls] == ["1", "2", "3"]
    assert all(c.headers["apikey"] == KEY and "apikey" not in c.query for c in calls)
    assert calls[0].arg("orderBy") == "createdat.desc"
    assert calls[0].arg("perPage") == "100"
    post = stored(sqlite_engine)["https://www.trustpilot.com/reviews/r0229"]
    assert post["rating"] == 1
    assert post["title"] == "Nordtel svigter r0229"
    assert post["author"] == "Kunde r0229"
    assert post["published_at"] == T0 - timedelta(minutes=10)
    mark = load_marks(source_row(sqlite_engine, "tp").cursor)["reviews"]
    assert mark.startswith("2026-11-02T08:50:00")


def test_a_restart_reads_down_to_the_mark_only(
    tp: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    data = reviews(50)
    tp.fallback = trustpilot_reviews(data, KEY, UNIT)
    settings = settings_for(tp, tmp_path)
    crawl_once(settings, sqlite_engine, matchers, T0)
    later = [trustpilot_review(f"n{i:03d}", 5, "", T0 + timedelta(minutes=i)) for i in range(120)]
    data += later
    before = len(tp.calls_to(PATH))
    [report] = crawl_once(settings, sqlite_engine, matchers, T0 + timedelta(hours=3))
    assert [c.arg("page") for c in tp.calls_to(PATH)[before:]] == ["1", "2"]
    assert len(report.new) == 120
    assert report.unchanged == 1
    assert len(stored(sqlite_engine)) == 170
    assert stored(sqlite_engine)["https://www.trustpilot.com/reviews/n000"]["rating"] == 5


def test_429_waits_for_retry_after_and_keeps_the_mark(
    tp: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    search = trustpilot_reviews(reviews(150), KEY, UNIT)

    def page_two_limited(call: Any) -> Reply:
        if call.arg("page") == "2":
            return json_reply({"message": "Too Many Requests"}, 429, {"Retry-After": "300"})
        return search(call)

    tp.fallback = page_two_limited
    [report] = crawl_once(settings_for(tp, tmp_path), sqlite_engine, matchers, T0)
    assert report.error is not None
    assert report.error.startswith("rate limited until 09:05 UTC")
    assert len(stored(sqlite_engine)) == 100
    assert load_marks(source_row(sqlite_engine, "tp").cursor) == {}
    [until] = host_backoff(sqlite_engine).values()
    assert until >= T0 + timedelta(minutes=5)


def test_a_next_page_link_that_loops_stops_without_duplicates(
    tp: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    page = reviews(100)

    def loop(call: Any) -> Reply:  # every page is page 1, and links to "page 2" forever
        link = {"href": tp.url(PATH) + "?page=2", "method": "GET", "rel": "next-page"}
        return json_reply({"links": [link], "reviews": page})

    tp.fallback = loop
    [report] = crawl_once(settings_for(tp, tmp_path), sqlite_engine, matchers, T0)
    assert report.requests == 2
    assert len(report.new) == 100 == len(stored(sqlite_engine))
    assert "a page repeats newer reviews: paging stopped" in report.warnings


def serve(tp: FakePlatform, secret: str) -> None:
    """The platform answering as it does, accepting only ``secret``."""
    tp.fallback = trustpilot_reviews(reviews(3), secret, UNIT)


class TestApiContract(HealthReasons, SecretNeverShown):
    kind = ApiKind(
        platform="tp",
        source="tp",
        settings=settings_for,
        serve=serve,
        fail_path=PATH,
        errors=[
            (json_reply({"message": "Business unit not found"}, 404), "page not found (HTTP 404)"),
            (json_reply({"message": "Forbidden"}, 403), "credentials rejected (HTTP 403)"),
            (Reply(502, b"<html>Bad Gateway</html>"), "platform error (HTTP 502)"),
            (Reply(200, b'{"reviews": [{"id": "x", ', {}), "answer not understood"),
            (json_reply({"reviews": {"id": "x"}}), "answer not understood"),
        ],
        secret=KEY,
        refused="credentials rejected (HTTP 401)",
    )
