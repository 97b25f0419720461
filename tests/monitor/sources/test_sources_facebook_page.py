"""The ``facebook_page`` kind against a fake Graph API on 127.0.0.1, through the real
crawler, fetcher, address gate and SQLite store: the page feed and each active post's
comments, ``paging.next`` / ``paging.cursors.after``, the mark, Graph's throttling headers,
the Page token secret."""

from __future__ import annotations

import json
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
    GraphPage,
    Reply,
    crawl_once,
    fb_comment,
    fb_post,
    fb_time,
    graph_error,
    host_backoff,
    json_reply,
    make_settings,
    running,
    source_row,
    stored,
)

TOKEN = "EAAGm0PX4ZCpsBO3f9a8b7c6d5e4f30a1b2c3d4e5f60718293a4b5c6d7e8f9ZBZAD"
PAGE = "104857600000001"
FEED = f"/v21.0/{PAGE}/feed"
FB = "https://www.facebook.com/"


@pytest.fixture
def fb() -> Iterator[FakePlatform]:
    with running() as platform:
        yield platform


def comment_url(post: str, comment: str) -> str:
    return f"{FB}{post}?comment_id={comment}"


def posts(count: int, first: int = 0) -> list[dict[str, Any]]:
    """``count`` posts on the page, ten minutes apart, the newest at T0."""
    return [
        fb_post(f"{PAGE}_{first + i:04d}", f"Driftsinfo {first + i}",
                T0 - timedelta(minutes=10 * (count - 1 - i)))
        for i in range(count)
    ]  # fmt: skip


def settings_for(fb: FakePlatform, tmp_path: Path, **keys: Any) -> Settings:
    source = keys | {
        "name": "fb",
        "kind": "facebook_page",
        "url": fb.url("/v21.0"),
        "page_id": PAGE,
        "token": TOKEN,
        "brand": "Nordtel",
    }
    return make_settings(f"sqlite:///{tmp_path}/t.db", [source])


def test_feed_pages_and_the_comments_of_each_post(
    fb: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    feed = posts(150)  # 25 hours: all inside the three-day window
    post = feed[-1]["id"]
    comments = [fb_comment(f"{post}_c{i:03d}", f"Ingen net i Vejle {i}", T0 + timedelta(minutes=i))
                for i in range(120)]  # fmt: skip
    comments.append(
        fb_comment(f"{post}_r001", "Samme her", T0 + timedelta(hours=3), comments[0]["id"])
    )
    feed[-1]["updated_time"] = fb_time(T0 + timedelta(hours=3))
    GraphPage(PAGE, feed, {post: comments}, TOKEN).handlers(fb)
    [report] = crawl_once(
        settings_for(fb, tmp_path), sqlite_engine, matchers, T0 + timedelta(hours=4)
    )
    assert report.error is None
    assert report.warnings == []
    assert len(report.new) == 150 + 121
    feed_calls = fb.calls_to(FEED)
    assert len(feed_calls) == 2
    assert "access_token" not in feed_calls[1].query
    assert feed_calls[1].arg("after")
    assert all(
        c.headers["authorization"] == f"Bearer {TOKEN}" for c in fb.calls if c.path != "/robots.txt"
    )
    assert feed_calls[0].arg("since") == str(
        int((T0 + timedelta(hours=4) - timedelta(days=3)).timestamp())
    )
    thread = fb.calls_to(f"/v21.0/{post}/comments")
    assert [c.arg("order") for c in thread] == ["reverse_chronological"] * 2
    saved = stored(sqlite_engine)
    root = saved[f"{FB}{post}"]
    reply = saved[comment_url(post, f"{post}_r001")]
    first = saved[comment_url(post, f"{post}_c000")]
    assert reply["parent_id"] == first["id"]
    assert first["parent_id"] == root["id"]
    assert reply["thread_id"] == root["thread_id"]
    assert reply["author"] == "Kunde 001"
    mark = load_marks(source_row(sqlite_engine, "fb").cursor)["feed"]
    assert mark.startswith("2026-11-02T12:00:00")  # the newest updated_time


def test_a_restart_reads_new_posts_and_new_comments_on_older_posts_only(
    fb: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    feed = posts(20)
    old_post = feed[0]["id"]
    graph = GraphPage(PAGE, feed, {p["id"]: [] for p in feed}, TOKEN)
    graph.handlers(fb)
    settings = settings_for(fb, tmp_path)
    crawl_once(settings, sqlite_engine, matchers, T0)
    later = T0 + timedelta(hours=6)
    graph.posts.append(fb_post(f"{PAGE}_9999", "Nordtel: nedbrud i Jylland", later))
    graph.comments[f"{PAGE}_9999"] = []
    graph.comments[old_post] = [fb_comment(f"{old_post}_c1", "Stadig nede", later)]
    graph.posts[0]["updated_time"] = fb_time(later)
    before = len(fb.calls)
    [report] = crawl_once(settings, sqlite_engine, matchers, later + timedelta(minutes=5))
    asked = {c.path for c in fb.calls[before:]} - {"/robots.txt"}
    assert asked == {FEED, f"/v21.0/{old_post}/comments"}  # uncommented posts: no call
    assert len(report.new) == 2
    assert report.unchanged == 20
    assert comment_url(old_post, f"{old_post}_c1") in stored(sqlite_engine)


def test_a_failed_comments_page_keeps_the_old_mark(
    fb: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    feed = posts(3)
    graph = GraphPage(PAGE, feed, {p["id"]: [] for p in feed}, TOKEN)
    graph.handlers(fb)
    settings = settings_for(fb, tmp_path)
    crawl_once(settings, sqlite_engine, matchers, T0)
    first_mark = load_marks(source_row(sqlite_engine, "fb").cursor)["feed"]
    later = T0 + timedelta(hours=1)
    post = feed[1]["id"]
    graph.comments[post] = [fb_comment(f"{post}_c1", "Hvornår virker det?", later)]
    feed[1]["updated_time"] = fb_time(later)
    fb.fail(f"/v21.0/{post}/comments", graph_error(500, 2, "An unexpected error has occurred."))
    [report] = crawl_once(settings, sqlite_engine, matchers, later + timedelta(minutes=1))
    assert report.error is None
    assert "HTTP 500" in report.warnings[0]
    assert load_marks(source_row(sqlite_engine, "fb").cursor)["feed"] == first_mark
    [again] = crawl_once(settings, sqlite_engine, matchers, later + timedelta(minutes=20))
    assert comment_url(post, f"{post}_c1") in stored(sqlite_engine)
    assert len(again.new) == 1


def test_graph_throttling_waits_for_the_time_it_gives(
    fb: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    GraphPage(PAGE, posts(3), {}, TOKEN).handlers(fb)
    usage = {PAGE: [{"type": "pages", "call_count": 100, "total_cputime": 12, "total_time": 9,
                     "estimated_time_to_regain_access": 17}]}  # fmt: skip
    throttled = graph_error(
        403, 32, "Page request limit reached", {"X-Business-Use-Case-Usage": json.dumps(usage)}
    )
    fb.fail(FEED, throttled)
    crawl_once(settings_for(fb, tmp_path), sqlite_engine, matchers, T0)
    assert source_row(sqlite_engine, "fb").last_error.startswith("rate limited until 09:17 UTC")
    [until] = host_backoff(sqlite_engine).values()
    assert until >= T0 + timedelta(minutes=17)


def test_an_allowance_used_up_on_a_good_answer_ends_the_pass(
    fb: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    graph = GraphPage(PAGE, posts(150), {}, TOKEN)

    def spent(call: Any) -> Reply:
        reply = graph.answer(call)
        return Reply(reply.status, reply.body, {**reply.headers, "X-App-Usage": json.dumps(
            {"call_count": 100, "total_cputime": 20, "total_time": 30})})  # fmt: skip

    fb.fallback = spent
    [report] = crawl_once(settings_for(fb, tmp_path), sqlite_engine, matchers, T0)
    assert report.requests == 1
    assert len(stored(sqlite_engine)) == 100
    assert report.warnings == ["rate limited until 10:00 UTC: quota spent, the rest next pass"]
    assert "feed" not in load_marks(source_row(sqlite_engine, "fb").cursor)


def test_a_feed_cursor_that_loops_stops_without_duplicates(
    fb: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    page = sorted(posts(100), key=lambda p: p["created_time"], reverse=True)

    def loop(call: Any) -> Reply:  # every page is the first, with a fresh cursor
        if call.path != FEED:
            return json_reply({"data": []})
        after = f"QVFI{len(fb.calls_to(FEED))}"
        paging = {"cursors": {"before": "QVFIMA", "after": after},
                  "next": f"{fb.url(FEED)}?after={after}"}  # fmt: skip
        return json_reply({"data": page, "paging": paging})

    fb.fallback = loop
    [report] = crawl_once(settings_for(fb, tmp_path), sqlite_engine, matchers, T0)
    assert len(fb.calls_to(FEED)) == 2
    assert len(stored(sqlite_engine)) == 100
    assert "a page repeats newer posts: paging stopped" in report.warnings


def test_comments_left_when_max_follow_runs_out_are_read_next_pass(
    fb: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    feed = posts(3)
    comments = {}
    for post in feed:  # every post commented on: three comment requests
        comments[post["id"]] = [fb_comment(f"{post['id']}_c1", "Nede igen", T0)]
        post["updated_time"] = fb_time(T0 + timedelta(minutes=1))
    GraphPage(PAGE, feed, comments, TOKEN).handlers(fb)
    settings = settings_for(fb, tmp_path, max_follow=1)
    [first] = crawl_once(settings, sqlite_engine, matchers, T0 + timedelta(minutes=5))
    assert "2 request(s) left for the next pass (max_follow reached)" in first.warnings
    assert "feed" not in load_marks(source_row(sqlite_engine, "fb").cursor)
    roomy = settings_for(fb, tmp_path, max_follow=10)
    crawl_once(roomy, sqlite_engine, matchers, T0 + timedelta(minutes=20))
    urls = {comment_url(p["id"], f"{p['id']}_c1") for p in feed}
    assert urls <= set(stored(sqlite_engine))


def serve(fb: FakePlatform, secret: str) -> None:
    """The platform answering as it does, accepting only ``secret``."""
    GraphPage(PAGE, posts(3), {}, secret).handlers(fb)


class TestApiContract(HealthReasons, SecretNeverShown):
    kind = ApiKind(
        platform="fb",
        source="fb",
        settings=settings_for,
        serve=serve,
        fail_path=FEED,
        errors=[
            (
                graph_error(404, 803, "Some of the aliases you requested do not exist"),
                "page not found (HTTP 404)",
            ),
            (graph_error(500, 1, "An unknown error has occurred."), "platform error (HTTP 500)"),
            (Reply(429, b"", {"Retry-After": "60"}), "rate limited until 09:01 UTC (HTTP 429)"),
            (Reply(200, b'{"data": [{"id": "1", ', {}), "answer not understood"),
            (json_reply({"data": {"id": "1"}}), "answer not understood"),
        ],
        secret=TOKEN,
        refused="access refused (HTTP 400): the Page access token is",
    )
