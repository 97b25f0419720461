"""The ``hackernews`` kind against a fake HN Search API (Algolia) on 127.0.0.1, through the
real crawler, fetcher, address gate and SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from monitor.settings import Settings
from monitor.sources.api import load_marks
from monitor.stages.read import Matchers, make_matchers, read_config
from tests.support.fixtures.clock import T0
from tests.support.servers.fakeplatform import (
    FakePlatform,
    Reply,
    crawl_once,
    hn_comment,
    hn_search,
    hn_story,
    host_backoff,
    json_reply,
    make_settings,
    running,
    source_row,
    stored,
)

PATH = "/api/v1/search_by_date"
NOW = int(T0.timestamp())
ITEM = "https://news.ycombinator.com/item?id="


@pytest.fixture(scope="module")
def matchers() -> Matchers:
    built = make_matchers(read_config(make_settings("sqlite://", [])))
    built.language.load()
    return built


@pytest.fixture
def hn() -> Iterator[FakePlatform]:
    with running() as platform:
        yield platform


def settings_for(hn: FakePlatform, tmp_path: Path, terms: list[str] | None = None) -> Settings:
    source = {
        "name": "hn",
        "kind": "hackernews",
        "url": hn.url("/api/v1"),
        "terms": terms or ["Nordtel"],
    }
    return make_settings(f"sqlite:///{tmp_path}/t.db", [source])


def many(count: int, newest: int) -> list[dict[str, Any]]:
    """``count`` matching stories, one a minute back from ``newest``."""
    return [hn_story(1000 + i, newest - 60 * i, f"Nordtel outage report {i}") for i in range(count)]


def test_pages_through_every_new_story_and_comment(
    hn: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    hits = many(230, NOW - 60)
    hits.append(hn_comment(5000, NOW - 30, "<p>Same here, Nordtel &amp; no signal</p>", 1000, 1000))
    hits.append(hn_story(6000, NOW - 90, "Unrelated: Teleborg prices"))  # another term's
    hn.routes[("GET", PATH)] = hn_search(hits)
    settings = settings_for(hn, tmp_path)
    [report] = crawl_once(settings, sqlite_engine, matchers, T0)
    assert report.error is None
    assert report.requests == 3
    assert [c.arg("page") for c in hn.calls_to(PATH)] == ["0", "1", "2"]
    first = hn.calls_to(PATH)[0]
    assert first.arg("numericFilters") == f"created_at_i>{NOW - 86400}"  # the last day
    assert first.arg("tags") == "(story,comment)"
    assert first.arg("query") == "Nordtel"
    posts = stored(sqlite_engine)
    assert len(posts) == 231
    assert len(report.new) == 231
    comment = posts[ITEM + "5000"]
    assert comment["kind"] == "comment"
    assert comment["text"] == "Same here, Nordtel & no signal"
    assert comment["thread_id"] == posts[ITEM + "1000"]["id"] == comment["parent_id"]
    story = posts[ITEM + "1000"]
    assert story["title"] == "Nordtel outage report 0"
    assert story["author"] == "user1000"
    assert story["published_at"] == T0 - timedelta(seconds=60)
    marks = load_marks(source_row(sqlite_engine, "hn").cursor)
    assert marks == {"q:Nordtel": str(NOW - 30)}  # the newest item: the comment


def test_a_restart_resumes_from_the_mark_without_missing_or_repeating(
    hn: FakePlatform, tmp_path: Path, any_engine: Engine, matchers: Matchers
) -> None:
    """On SQLite and PostgreSQL; the second pass parses in a spawned worker process, as
    the daemon does by default (the walk state and marks cross the process boundary)."""
    sqlite_engine = any_engine
    hits = many(5, NOW - 60)
    hn.routes[("GET", PATH)] = hn_search(hits)
    settings = settings_for(hn, tmp_path)
    crawl_once(settings, sqlite_engine, matchers, T0)  # the process then "restarts":
    later = T0 + timedelta(minutes=15)  # a new crawler, fetcher and reader below
    hits.append(hn_story(2001, NOW + 600, "Nordtel down again"))
    hits.append(hn_story(2002, NOW - 120, "Nordtel: indexed late"))  # older than the mark
    [report] = crawl_once(settings, sqlite_engine, matchers, later, processes=1)
    resumed = hn.calls_to(PATH)[-1]
    assert resumed.arg("numericFilters") == f"created_at_i>{NOW - 60 - 600}"
    assert sorted(report.new) == sorted(
        [p["id"] for u, p in stored(sqlite_engine).items() if u.endswith(("2001", "2002"))]
    )
    assert report.unchanged == 5  # re-read in the overlap, stored once
    assert len(stored(sqlite_engine)) == 7
    assert load_marks(source_row(sqlite_engine, "hn").cursor) == {"q:Nordtel": str(NOW + 600)}


def test_a_walk_cut_short_keeps_the_old_mark(
    hn: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    hits = many(150, NOW - 60)
    hn.routes[("GET", PATH)] = hn_search(hits)
    settings = settings_for(hn, tmp_path)
    search = hn_search(hits)

    def flaky(call: Any) -> Reply:  # page 0 answers, page 1 fails: the mark must stay
        return search(call) if call.arg("page") == "0" else json_reply({"message": "boom"}, 502)

    hn.routes[("GET", PATH)] = flaky
    [report] = crawl_once(settings, sqlite_engine, matchers, T0)
    assert len(stored(sqlite_engine)) == 100
    assert report.error is None
    assert "HTTP 502" in report.warnings[0]
    assert load_marks(source_row(sqlite_engine, "hn").cursor) == {}
    hn.routes[("GET", PATH)] = search
    [report] = crawl_once(settings, sqlite_engine, matchers, T0 + timedelta(minutes=15))
    assert len(report.new) == 50
    assert report.unchanged == 100
    assert load_marks(source_row(sqlite_engine, "hn").cursor) == {"q:Nordtel": str(NOW - 60)}


@pytest.mark.parametrize("status", [401, 403])
def test_a_refusal_reads_as_such(
    hn: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers, status: int
) -> None:
    hn.fail(
        PATH, json_reply({"message": "Invalid Application-ID or API key", "status": status}, status)
    )
    [report] = crawl_once(settings_for(hn, tmp_path), sqlite_engine, matchers, T0)
    row = source_row(sqlite_engine, "hn")
    assert row.last_error.startswith(f"access refused (HTTP {status})")  # HN takes no key
    assert report.error_kind == "http_status"
    assert row.consecutive_failures == 1


def test_429_with_a_reset_header_backs_the_host_off_until_then(
    hn: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    reset = NOW + 5 * 3600 + 300  # 14:05 UTC
    headers = {
        "X-RateLimit-Limit": "10000",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(reset),
    }
    hn.fail(PATH, json_reply({"message": "Too many requests", "status": 429}, 429, headers))
    [report] = crawl_once(settings_for(hn, tmp_path), sqlite_engine, matchers, T0)
    assert report.error_kind == "rate_limited"
    assert report.retry_after == 5 * 3600 + 300
    assert source_row(sqlite_engine, "hn").last_error.startswith("rate limited until 14:05 UTC")
    [until] = host_backoff(sqlite_engine).values()
    assert until >= T0 + timedelta(seconds=5 * 3600 + 300)


def test_a_spent_quota_on_a_good_answer_stops_the_walk(
    hn: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    search = hn_search(many(150, NOW - 60))

    def spent(call: Any) -> Reply:
        reply = search(call)
        quota = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(NOW + 1800)}
        return Reply(reply.status, reply.body, {**reply.headers, **quota})

    hn.routes[("GET", PATH)] = spent
    [report] = crawl_once(settings_for(hn, tmp_path), sqlite_engine, matchers, T0)
    assert report.requests == 1
    assert len(report.new) == 100
    assert report.error is None
    assert "rate limited until 09:30 UTC" in report.warnings[-1]
    assert load_marks(source_row(sqlite_engine, "hn").cursor) == {}  # page 1 still unread
    [until] = host_backoff(sqlite_engine).values()
    assert until >= T0 + timedelta(minutes=30)


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (500, "platform error (HTTP 500), retrying with backoff"),
        (502, "platform error (HTTP 502), retrying with backoff"),
        (503, "rate limited (HTTP 503), backing off"),  # 503 is also "slow down"
    ],
)
def test_a_server_error_is_a_platform_error(
    hn: FakePlatform,
    tmp_path: Path,
    sqlite_engine: Engine,
    matchers: Matchers,
    status: int,
    reason: str,
) -> None:
    hn.fail(PATH, Reply(status, b"<html>Service Unavailable</html>"))
    crawl_once(settings_for(hn, tmp_path), sqlite_engine, matchers, T0)
    row = source_row(sqlite_engine, "hn")
    assert row.last_error.startswith(reason)
    assert row.consecutive_failures == 1


@pytest.mark.parametrize("body", [b'{"hits": [', b"<html>", b'{"hits": "no"}', b"[]"])
def test_malformed_json_is_an_answer_not_understood(
    hn: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers, body: bytes
) -> None:
    hn.fail(PATH, Reply(200, body, {"Content-Type": "application/json"}))
    [report] = crawl_once(settings_for(hn, tmp_path), sqlite_engine, matchers, T0)
    assert report.error_kind == "parse"
    assert stored(sqlite_engine) == {}
    assert source_row(sqlite_engine, "hn").last_error.startswith("answer not understood")


def test_hostile_hits_are_skipped_not_fatal(
    hn: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    good = hn_story(1, NOW - 60, "Nordtel fine")
    doc = {
        "hits": [good, {"objectID": 2}, "x", {"created_at_i": "soon"}, None],
        "page": 0,
        "nbPages": 1,
    }
    hn.fail(PATH, json_reply(doc))
    [report] = crawl_once(settings_for(hn, tmp_path), sqlite_engine, matchers, T0)
    assert len(report.new) == 1
    assert "4 hits without an id or a time skipped" in report.warnings


def test_a_paging_loop_stops_without_duplicates(
    hn: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    page = many(100, NOW - 60)

    def loop(call: Any) -> Reply:  # every page number answers with the first page again
        return json_reply({"hits": page, "page": int(call.arg("page") or 0), "nbPages": 40})

    hn.routes[("GET", PATH)] = loop
    [report] = crawl_once(settings_for(hn, tmp_path), sqlite_engine, matchers, T0)
    assert report.requests == 2
    assert len(report.new) == 100
    assert len(stored(sqlite_engine)) == 100
    assert any("paging stopped" in w for w in report.warnings)
    assert load_marks(source_row(sqlite_engine, "hn").cursor) == {"q:Nordtel": str(NOW - 60)}


def test_each_term_is_its_own_stream(
    hn: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    hits = [hn_story(1, NOW - 60, "Nordtel"), hn_story(2, NOW - 120, "Teleborg")]
    hn.routes[("GET", PATH)] = hn_search(hits)
    settings = settings_for(hn, tmp_path, terms=["Nordtel", "Teleborg"])
    [report] = crawl_once(settings, sqlite_engine, matchers, T0)
    assert len(report.new) == 2
    marks = load_marks(source_row(sqlite_engine, "hn").cursor)
    assert marks == {"q:Nordtel": str(NOW - 60), "q:Teleborg": str(NOW - 120)}
