"""The ``google_play`` kind against a fake Google Play Developer API (``reviews.list``) on
127.0.0.1, through the real crawler, fetcher, address gate and SQLite store: page tokens,
the mark, edits, stars, the developer's reply, the access token secret."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from monitor.canonical import canonical_url
from monitor.settings import Settings
from monitor.sources.api import load_marks
from monitor.stages.read import Matchers
from tests.support.contracts.api_kinds import ApiKind, HealthReasons, SecretNeverShown
from tests.support.fixtures.clock import T0
from tests.support.servers.fakeplatform import (
    FakePlatform,
    PlayApi,
    Reply,
    crawl_once,
    google_error,
    host_backoff,
    json_reply,
    make_settings,
    play_review,
    running,
    source_row,
    stored,
)

TOKEN = "ya29.c.b0AXv0zTPx3f9a8b7c6d5e4f30a1b2c3d4e5f60718293a4b5c6d7e8f9"
PACKAGE = "dk.nordtel.app"
PATH = f"/androidpublisher/v3/applications/{PACKAGE}/reviews"


def review_url(rid: str, extra: str = "") -> str:
    """A review's URL as stored (canonical: query parameters sorted)."""
    quoted = rid.replace(":", "%3A")
    return canonical_url(
        f"https://play.google.com/store/apps/details?id={PACKAGE}&reviewId={quoted}{extra}"
    )


@pytest.fixture
def play() -> Iterator[FakePlatform]:
    with running() as platform:
        yield platform


def reviews(count: int, first: int = 0, stars: int = 1) -> list[dict[str, Any]]:
    """``count`` reviews, a minute apart, the newest at T0 (the app is Nordtel's)."""
    return [
        play_review(f"gp:AOqp{first + i:04d}", stars, f"Appen virker ikke {first + i}",
                    T0 - timedelta(minutes=count - 1 - i))
        for i in range(count)
    ]  # fmt: skip


def settings_for(play: FakePlatform, tmp_path: Path, token: str = TOKEN) -> Settings:
    source = {
        "name": "play",
        "kind": "google_play",
        "url": play.url("/androidpublisher/v3"),
        "package_name": PACKAGE,
        "token": token,
        "brand": "Nordtel",
    }
    return make_settings(f"sqlite:///{tmp_path}/t.db", [source])


def test_reads_every_page_with_stars_and_the_developer_reply(
    play: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    data = [*reviews(229), play_review("gp:AOqpLAST", 2, "Langsom", T0, reply="Tak, vi kigger")]
    PlayApi(data, TOKEN).handlers(play)
    [report] = crawl_once(settings_for(play, tmp_path), sqlite_engine, matchers, T0)
    assert report.error is None
    assert len(report.new) == 231
    assert report.warnings == []
    calls = play.calls_to(PATH)
    assert [c.arg("token") for c in calls] == [None, "Ch0100", "Ch0200"]
    assert all(c.headers["authorization"] == f"Bearer {TOKEN}" for c in calls)
    posts = stored(sqlite_engine)
    last = posts[review_url("gp:AOqpLAST")]
    reply = posts[review_url("gp:AOqpLAST", "&reply=developer")]
    assert last["rating"] == 2
    assert last["published_at"] == T0
    assert last["lang"] == "da"
    assert reply["parent_id"] == last["id"]
    assert reply["author"] == "developer"
    mark = load_marks(source_row(sqlite_engine, "play").cursor)
    assert mark == {"reviews": str(int(T0.timestamp()))}


def test_a_restart_reads_down_to_the_mark_and_stores_an_edit(
    play: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    api = PlayApi(reviews(50), TOKEN)
    api.handlers(play)
    settings = settings_for(play, tmp_path)
    crawl_once(settings, sqlite_engine, matchers, T0)
    later = T0 + timedelta(hours=3)
    api.reviews[0] = play_review("gp:AOqp0000", 4, "Appen virker igen", later)  # edited
    api.reviews += [
        play_review(f"gp:AOqn{i:04d}", 5, f"God app {i}", T0 + timedelta(minutes=i + 1))
        for i in range(120)
    ]
    before = len(play.calls_to(PATH))
    [report] = crawl_once(settings, sqlite_engine, matchers, later)
    assert [c.arg("token") for c in play.calls_to(PATH)[before:]] == [None, "Ch0100"]
    assert len(report.new) == 120
    assert len(report.updated) == 1
    assert report.unchanged == 1  # the review at the mark, read again
    edited = stored(sqlite_engine)[review_url("gp:AOqp0000")]
    assert edited["rating"] == 4
    assert edited["text"] == "Appen virker igen"


def test_no_reviews_this_week_is_an_empty_answer_not_an_error(
    play: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    PlayApi([], TOKEN).handlers(play)
    [report] = crawl_once(settings_for(play, tmp_path), sqlite_engine, matchers, T0)
    assert report.error is None
    assert report.new == []
    assert report.warnings == []


def test_429_waits_for_retry_after_and_keeps_the_mark(
    play: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    api = PlayApi(reviews(150), TOKEN)

    def page_two_limited(call: Any) -> Reply:
        if call.arg("token"):
            limited = google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded")
            return Reply(429, limited.body, {**limited.headers, "Retry-After": "300"})
        return api.list(call)

    play.routes[("GET", PATH)] = page_two_limited
    [report] = crawl_once(settings_for(play, tmp_path), sqlite_engine, matchers, T0)
    assert report.error is not None
    assert report.error.startswith("rate limited until 09:05 UTC")
    assert len(stored(sqlite_engine)) == 100
    assert load_marks(source_row(sqlite_engine, "play").cursor) == {}
    [until] = host_backoff(sqlite_engine).values()
    assert until >= T0 + timedelta(minutes=5)


def test_a_page_token_that_loops_stops_without_duplicates(
    play: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    page = sorted(reviews(100), key=lambda r: r["reviewId"], reverse=True)

    def loop(call: Any) -> Reply:  # every page is the first one again, with a new token
        token = f"Ch{len(play.calls_to(PATH))}"
        return json_reply({"reviews": page, "tokenPagination": {"nextPageToken": token}})

    play.routes[("GET", PATH)] = loop
    [report] = crawl_once(settings_for(play, tmp_path), sqlite_engine, matchers, T0)
    assert report.requests == 2
    assert len(report.new) == 100 == len(stored(sqlite_engine))
    assert "a page repeats newer reviews: paging stopped" in report.warnings


def serve(play: FakePlatform, secret: str) -> None:
    """The platform answering as it does, accepting only ``secret``."""
    PlayApi(reviews(3), secret).handlers(play)


class TestApiContract(HealthReasons, SecretNeverShown):
    kind = ApiKind(
        platform="play",
        source="play",
        settings=settings_for,
        serve=serve,
        fail_path=PATH,
        errors=[
            (google_error(404, "NOT_FOUND", "Package not found"), "page not found (HTTP 404)"),
            (google_error(500, "INTERNAL", "Internal error"), "platform error (HTTP 500)"),
            (Reply(200, b'{"reviews": [{"reviewId": "x", ', {}), "answer not understood"),
            (json_reply({"reviews": {"reviewId": "x"}}), "answer not understood"),
        ],
        secret=TOKEN,
        refused="access refused (HTTP 401): the access token is expired",
    )
