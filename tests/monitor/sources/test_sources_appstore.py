"""The ``appstore`` kind against a fake App Store customer-reviews feed on 127.0.0.1,
through the real crawler, fetcher, address gate and SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from monitor.settings import Settings
from monitor.sources.api import load_marks
from monitor.stages.read import Matchers
from tests.support.contracts.api_kinds import ApiKind, HealthReasons
from tests.support.fixtures.clock import T0
from tests.support.servers.fakeplatform import (
    FakePlatform,
    Reply,
    appstore_feed,
    appstore_review,
    crawl_once,
    host_backoff,
    json_reply,
    make_settings,
    running,
    source_row,
    stored,
)

APP = "1234567890"


def page_path(country: str, page: int) -> str:
    return f"/{country}/rss/customerreviews/page={page}/id={APP}/sortby=mostrecent/json"


def review_url(country: str, rid: int) -> str:
    return f"https://apps.apple.com/{country}/app/id{APP}?reviewId={rid}"


@pytest.fixture
def store() -> Iterator[FakePlatform]:
    with running() as platform:
        yield platform


def settings_for(store: FakePlatform, tmp_path: Path, countries: list[str]) -> Settings:
    source = {
        "name": "app",
        "kind": "appstore",
        "url": store.url(),
        "app_id": APP,
        "countries": countries,
        "brand": "Nordtel",  # the company's own app: every review counts for it
    }
    return make_settings(f"sqlite:///{tmp_path}/t.db", [source])


def reviews(first: int, count: int, stars: int = 1) -> list[dict[str, Any]]:
    """``count`` reviews with ids ``first``.. (higher is newer), an hour apart."""
    out = []
    for i in range(count):
        rid = first + i
        when = (T0 - timedelta(hours=count - i)).astimezone(UTC).isoformat()
        out.append(appstore_review(rid, stars, f"Virker ikke {rid}", f"Appen crasher {rid}", when))
    return out


def test_reads_every_page_of_every_country_with_the_stars(
    store: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    data = {"dk": reviews(100, 120, stars=1), "se": reviews(5000, 1, stars=4)}  # se: one entry
    store.fallback = appstore_feed(data)
    [report] = crawl_once(settings_for(store, tmp_path, ["dk", "se"]), sqlite_engine, matchers, T0)
    assert report.error is None
    assert report.warnings == []
    paths = [c.path for c in store.calls if c.path != "/robots.txt"]
    assert paths == [page_path("dk", 1), page_path("se", 1), page_path("dk", 2), page_path("dk", 3)]
    posts = stored(sqlite_engine)
    assert len(posts) == 121 == len(report.new)
    dk = posts[review_url("dk", 219)]
    assert dk["rating"] == 1
    assert dk["title"] == "Virker ikke 219"
    assert dk["text"] == "Appen crasher 219"
    assert dk["author"] == "reviewer219"
    assert dk["published_at"] == T0 - timedelta(hours=1)
    assert posts[review_url("se", 5000)]["rating"] == 4
    marks = load_marks(source_row(sqlite_engine, "app").cursor)
    assert marks == {"cc:dk": "219", "cc:se": "5000"}


def test_a_restart_reads_only_down_to_the_mark(
    store: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    data = {"dk": reviews(100, 120)}
    store.fallback = appstore_feed(data)
    settings = settings_for(store, tmp_path, ["dk"])
    crawl_once(settings, sqlite_engine, matchers, T0)
    data["dk"] += reviews(300, 60)  # 60 new ones: more than a page
    before = len(store.calls)
    [report] = crawl_once(settings, sqlite_engine, matchers, T0 + timedelta(hours=1))
    paths = [c.path for c in store.calls[before:] if c.path != "/robots.txt"]
    assert paths == [page_path("dk", 1), page_path("dk", 2)]
    assert len(report.new) == 60
    assert report.unchanged == 0
    assert len(stored(sqlite_engine)) == 180
    assert load_marks(source_row(sqlite_engine, "app").cursor) == {"cc:dk": "359"}


def test_a_refused_page_keeps_the_mark_and_the_next_pass_catches_up(
    store: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    data = {"dk": reviews(100, 80)}
    store.fallback = appstore_feed(data)
    settings = settings_for(store, tmp_path, ["dk"])
    store.fail(page_path("dk", 2), Reply(429, b"", {"Retry-After": "120"}))
    [report] = crawl_once(settings, sqlite_engine, matchers, T0)
    assert report.error_kind == "rate_limited"
    assert report.retry_after == 120
    assert report.error is not None
    assert report.error.startswith("rate limited until 09:02 UTC")
    assert len(stored(sqlite_engine)) == 50  # page 1 kept
    assert load_marks(source_row(sqlite_engine, "app").cursor) == {}
    [until] = host_backoff(sqlite_engine).values()
    assert until >= T0 + timedelta(seconds=120)
    [report] = crawl_once(settings, sqlite_engine, matchers, T0 + timedelta(hours=1))
    assert len(report.new) == 30
    assert len(stored(sqlite_engine)) == 80
    assert load_marks(source_row(sqlite_engine, "app").cursor) == {"cc:dk": "179"}


def test_an_empty_feed_is_no_error_and_sets_no_mark(
    store: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    store.fallback = appstore_feed({})
    [report] = crawl_once(settings_for(store, tmp_path, ["dk"]), sqlite_engine, matchers, T0)
    assert report.error is None
    assert report.requests == 1
    assert load_marks(source_row(sqlite_engine, "app").cursor) == {}


def test_a_feed_that_repeats_its_first_page_stops_without_duplicates(
    store: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    first = appstore_feed({"dk": reviews(100, 500)})

    def loop(call: Any) -> Reply:  # every page number answers with page 1
        return first(type(call)(call.method, page_path("dk", 1), {}, {}, b""))

    store.fallback = loop
    [report] = crawl_once(settings_for(store, tmp_path, ["dk"]), sqlite_engine, matchers, T0)
    assert report.requests == 2
    assert len(report.new) == 50 == len(stored(sqlite_engine))
    assert "a page repeats reviews: paging stopped" in report.warnings
    assert load_marks(source_row(sqlite_engine, "app").cursor) == {"cc:dk": "599"}


def test_hostile_entries_are_skipped(
    store: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    good = appstore_review(7, 9, "Nordtel", "fin", "not a date")  # 9 stars: not kept
    entries = [good, {"id": {"label": "x"}}, "text", {"id": 5}, {"im:rating": {}}]
    store.fail(page_path("dk", 1), json_reply({"feed": {"entry": entries}}))
    [report] = crawl_once(settings_for(store, tmp_path, ["dk"]), sqlite_engine, matchers, T0)
    [post] = stored(sqlite_engine).values()
    assert report.error is None
    assert post["rating"] is None
    assert post["published_at"] is None


def test_posts_show_prints_the_stars(
    store: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    from typer.testing import CliRunner

    from monitor.cli import app

    store.fallback = appstore_feed({"dk": reviews(100, 1, stars=2)})
    settings = settings_for(store, tmp_path, ["dk"])
    crawl_once(settings, sqlite_engine, matchers, T0)
    [post] = stored(sqlite_engine).values()
    config = tmp_path / "s.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/t.db"\n')
    shown = CliRunner().invoke(app, ["posts", "show", post["id"], "-c", str(config)])
    assert shown.exit_code == 0, shown.output
    assert "stars          2 of 5" in shown.output
    as_json = CliRunner().invoke(app, ["posts", "show", post["id"], "-c", str(config), "--json"])
    assert '"rating": 2' in as_json.output


def serve(store: FakePlatform, secret: str) -> None:
    """The store's public feed (it takes no secret)."""
    store.fallback = appstore_feed({"dk": reviews(100, 3)})


class TestApiContract(HealthReasons):
    kind = ApiKind(
        platform="store",
        source="app",
        settings=lambda store, tmp_path: settings_for(store, tmp_path, ["dk"]),
        serve=serve,
        fail_path=page_path("dk", 1),
        errors=[
            (Reply(404, b"<html>Not Found</html>"), "page not found (HTTP 404)"),
            (Reply(403, b"Forbidden"), "access refused (HTTP 403)"),
            (Reply(500, b""), "platform error (HTTP 500)"),
            (Reply(200, b'{"feed": {"entry": [', {}), "answer not understood"),
            (Reply(200, b'{"nofeed": 1}', {}), "answer not understood"),
        ],
    )
