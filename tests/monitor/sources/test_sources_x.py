"""The ``x`` kind against a fake X API v2 recent search on 127.0.0.1, through the real
crawler, fetcher, address gate and SQLite store: ``since_id`` marks, ``next_token``
paging, the ``x-rate-limit-*`` headers, the bearer token secret."""

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
    XApi,
    crawl_once,
    host_backoff,
    json_reply,
    make_settings,
    running,
    source_row,
    stored,
    x_post,
)

TOKEN = "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUifiRBkKG5E2XzMDjR"
PATH = "/2/tweets/search/recent"
POST = "https://x.com/i/status/"


@pytest.fixture
def xs() -> Iterator[FakePlatform]:
    with running() as platform:
        yield platform


def posts(count: int, first: int = 1000) -> list[dict[str, Any]]:
    """``count`` posts naming Nordtel, ids rising a minute apart, the newest at T0."""
    return [
        x_post(first + i, f"Nordtel er nede igen {i}", T0 - timedelta(minutes=count - 1 - i))
        for i in range(count)
    ]


def settings_for(xs: FakePlatform, tmp_path: Path, token: str = TOKEN) -> Settings:
    source = {"name": "x", "kind": "x", "url": xs.url(), "terms": ["nordtel"], "token": token}
    return make_settings(f"sqlite:///{tmp_path}/t.db", [source])


def test_reads_every_page_by_next_token_and_marks_the_newest_id(
    xs: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    data = [*posts(230), x_post(2000, "Samme her, Nordtel", T0, reply_to=1229)]
    XApi(data, TOKEN).handlers(xs)
    [report] = crawl_once(settings_for(xs, tmp_path), sqlite_engine, matchers, T0)
    assert report.error is None
    assert len(report.new) == 231
    assert report.warnings == []
    calls = xs.calls_to(PATH)
    tokens = [None, "b26v89c19zqg8o3f100", "b26v89c19zqg8o3f200"]
    assert [c.arg("next_token") for c in calls] == tokens
    assert all(c.headers["authorization"] == f"Bearer {TOKEN}" for c in calls)
    assert calls[0].arg("start_time") == "2026-11-01T09:00:00Z"
    assert calls[0].arg("since_id") is None
    assert calls[0].arg("max_results") == "100"
    assert "note_tweet" in (calls[0].arg("tweet.fields") or "")
    saved = stored(sqlite_engine)
    reply, root = saved[f"{POST}2000"], saved[f"{POST}1229"]
    assert reply["parent_id"] == root["id"]
    assert reply["thread_id"] == root["thread_id"]
    assert root["author"] == "kunde9004"
    assert root["published_at"] == T0
    assert load_marks(source_row(sqlite_engine, "x").cursor) == {"q:nordtel": "2000"}


def test_a_restart_asks_since_the_mark_and_repeats_nothing(
    xs: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    api = XApi(posts(50), TOKEN)
    api.handlers(xs)
    settings = settings_for(xs, tmp_path)
    crawl_once(settings, sqlite_engine, matchers, T0)
    api.posts += posts(120, first=5000)
    before = len(xs.calls_to(PATH))
    [report] = crawl_once(settings, sqlite_engine, matchers, T0 + timedelta(hours=3))
    calls = xs.calls_to(PATH)[before:]
    assert [c.arg("since_id") for c in calls] == ["1049", "1049"]
    assert len(report.new) == 120
    assert report.unchanged == 0
    assert len(stored(sqlite_engine)) == 170
    assert load_marks(source_row(sqlite_engine, "x").cursor) == {"q:nordtel": "5119"}


def test_no_new_posts_keeps_the_mark(
    xs: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    XApi(posts(5), TOKEN).handlers(xs)
    settings = settings_for(xs, tmp_path)
    crawl_once(settings, sqlite_engine, matchers, T0)
    [report] = crawl_once(settings, sqlite_engine, matchers, T0 + timedelta(minutes=15))
    assert report.error is None
    assert report.new == []
    assert report.warnings == []
    assert load_marks(source_row(sqlite_engine, "x").cursor) == {"q:nordtel": "1004"}


def test_a_page_with_none_remaining_ends_the_walk_until_the_reset(
    xs: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    reset = int(T0.timestamp()) + 600
    XApi(posts(150), TOKEN, limit=1, reset=reset).handlers(xs)  # page one spends the window
    [report] = crawl_once(settings_for(xs, tmp_path), sqlite_engine, matchers, T0)
    assert report.warnings == ["rate limited until 09:10 UTC: quota spent, the rest next pass"]
    assert len(stored(sqlite_engine)) == 100
    assert len(xs.calls_to(PATH)) == 1
    assert load_marks(source_row(sqlite_engine, "x").cursor) == {}
    [until] = host_backoff(sqlite_engine).values()
    assert until >= T0 + timedelta(minutes=10)


def test_429_waits_for_the_x_rate_limit_reset(
    xs: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    reset = str(int(T0.timestamp()) + 900)
    doc = {"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429}
    XApi(posts(3), TOKEN).handlers(xs)
    limits = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": reset}
    xs.fail(PATH, json_reply(doc, 429, limits))
    crawl_once(settings_for(xs, tmp_path), sqlite_engine, matchers, T0)
    assert source_row(sqlite_engine, "x").last_error.startswith("rate limited until 09:15 UTC")
    [until] = host_backoff(sqlite_engine).values()
    assert until >= T0 + timedelta(minutes=15)


def test_a_next_token_that_loops_stops_without_duplicates(
    xs: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    page = sorted(posts(100), key=lambda p: -int(p["id"]))

    def loop(call: Any) -> Reply:  # every page is the first, with a fresh-looking token
        token = f"t{len(xs.calls_to(PATH))}"
        meta = {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"], "result_count": 100}
        return json_reply({"data": page, "meta": {**meta, "next_token": token}})

    xs.routes[("GET", PATH)] = loop
    [report] = crawl_once(settings_for(xs, tmp_path), sqlite_engine, matchers, T0)
    assert report.requests == 2
    assert len(report.new) == 100 == len(stored(sqlite_engine))
    assert "a page repeats newer posts: paging stopped" in report.warnings
    assert load_marks(source_row(sqlite_engine, "x").cursor) == {"q:nordtel": "1099"}


def serve(xs: FakePlatform, secret: str) -> None:
    """The platform answering as it does, accepting only ``secret``."""
    XApi(posts(3), secret).handlers(xs)


class TestApiContract(HealthReasons, SecretNeverShown):
    kind = ApiKind(
        platform="xs",
        source="x",
        settings=settings_for,
        serve=serve,
        fail_path=PATH,
        errors=[
            (
                json_reply({"title": "Forbidden", "status": 403}, 403),
                "credentials rejected (HTTP 403)",
            ),
            (Reply(503, b"<html>over capacity</html>"), "rate limited (HTTP 503)"),
            (
                json_reply({"title": "Internal Error", "status": 500}, 500),
                "platform error (HTTP 500)",
            ),
            (Reply(200, b'{"data": [{"id": "1", ', {}), "answer not understood"),
            (json_reply({"data": {"id": "1"}, "meta": {}}), "answer not understood"),
        ],
        secret=TOKEN,
        refused="credentials rejected (HTTP 401)",
    )
