"""The ``youtube`` kind against a fake YouTube Data API v3 on 127.0.0.1, through the real
crawler, fetcher, address gate and SQLite store: channel comment threads by page token,
videos found by term search and their comments, quota units counted and shown, the key
secret."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from monitor.cli import app
from monitor.settings import Settings
from monitor.sources.api import load_marks, quota_used
from monitor.stages.read import Matchers
from monitor.storage import repo
from monitor.storage.db import session_scope
from tests.support.contracts.api_kinds import ApiKind, HealthReasons, SecretNeverShown
from tests.support.fixtures.clock import T0
from tests.support.servers.fakeplatform import (
    FakePlatform,
    Reply,
    YouTubeApi,
    crawl_once,
    host_backoff,
    json_reply,
    make_settings,
    running,
    source_row,
    stored,
    yt_error,
    yt_thread,
    yt_video,
)

KEY = "AIzaSyD-3f9a8b7c6d5e4f30a1b2c3d4e5f6071"
CHANNEL = "UCnordtel0000000000000a"
THREADS = "/youtube/v3/commentThreads"
SEARCH = "/youtube/v3/search"
WATCH = "https://www.youtube.com/watch?v="


def comment_url(video: str, comment: str) -> str:
    """A comment's URL as stored (canonical: query parameters sorted)."""
    return f"https://www.youtube.com/watch?lc={comment}&v={video}"


@pytest.fixture
def yt() -> Iterator[FakePlatform]:
    with running() as platform:
        yield platform


def threads(count: int, first: int = 0, video: str = "vid00000001") -> list[dict[str, Any]]:
    """``count`` threads naming Nordtel, a minute apart, the newest a minute before T0."""
    return [
        yt_thread(
            f"Ugz{first + i:06d}", video, f"Nordtel svigter igen {first + i}",
            T0 - timedelta(minutes=count - i),
        )
        for i in range(count)
    ]  # fmt: skip


def settings_for(yt: FakePlatform, tmp_path: Path, **keys: Any) -> Settings:
    source = {"name": "yt", "kind": "youtube", "url": yt.url("/youtube/v3"), "api_key": KEY}
    source |= keys or {"channel_id": CHANNEL}
    return make_settings(f"sqlite:///{tmp_path}/t.db", [source])


def test_channel_threads_page_by_token_with_replies_and_quota(
    yt: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    api = YouTubeApi(threads(230), [], KEY)
    api.threads[-1] = yt_thread("Ugz000229", "vid00000001", "Nordtel svigter", T0, replies=2)
    api.handlers(yt)
    [report] = crawl_once(settings_for(yt, tmp_path), sqlite_engine, matchers, T0)
    assert report.error is None
    assert len(report.new) == 232
    assert report.warnings == []
    calls = yt.calls_to(THREADS)
    assert [c.arg("pageToken") for c in calls] == [None, "CA100", "CA200"]
    assert all(c.headers["x-goog-api-key"] == KEY and "key" not in c.query for c in calls)
    assert calls[0].arg("allThreadsRelatedToChannelId") == CHANNEL
    assert calls[0].arg("order") == "time"
    assert calls[0].arg("maxResults") == "100"
    posts = stored(sqlite_engine)
    top = posts[comment_url("vid00000001", "Ugz000229")]
    reply = posts[comment_url("vid00000001", "Ugz000229.r1")]
    assert top["published_at"] == T0
    assert top["author"] == "@viewer-0229"
    assert reply["parent_id"] == top["id"]
    assert reply["thread_id"] == top["thread_id"]
    row = source_row(sqlite_engine, "yt")
    assert load_marks(row.cursor)[f"ch:{CHANNEL}"].startswith("2026-11-02T09:00:00")
    assert quota_used(row.cursor, T0) == 3 == api.units  # commentThreads.list: 1 unit a call


def test_a_restart_reads_down_to_the_mark_only(
    yt: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    api = YouTubeApi(threads(50), [], KEY)
    api.handlers(yt)
    settings = settings_for(yt, tmp_path)
    crawl_once(settings, sqlite_engine, matchers, T0)
    later = [
        yt_thread(f"Ugy{i:06d}", "vid2", f"Nordtel er nede {i}", T0 + timedelta(minutes=i + 1))
        for i in range(150)
    ]
    api.threads += later
    before = len(yt.calls_to(THREADS))
    [report] = crawl_once(settings, sqlite_engine, matchers, T0 + timedelta(hours=3))
    assert [c.arg("pageToken") for c in yt.calls_to(THREADS)[before:]] == [None, "CA100"]
    assert len(report.new) == 150
    assert report.unchanged == 11
    assert len(stored(sqlite_engine)) == 200
    row = source_row(sqlite_engine, "yt")
    assert quota_used(row.cursor, T0 + timedelta(hours=3)) == 3  # the same Pacific day


def test_videos_matching_terms_and_their_comments_cost_search_units(
    yt: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    videos = [
        yt_video("vidNordtel1", "Nordtel fiber test", T0 - timedelta(days=1), "Hastighed"),
        yt_video("vidOld00001", "Nordtel 2019", T0 - timedelta(days=30)),
        yt_video("vidOther001", "Teleborg unboxing", T0 - timedelta(hours=2)),
    ]
    api = YouTubeApi(threads(3, video="vidNordtel1"), videos, KEY)
    api.handlers(yt)
    settings = settings_for(yt, tmp_path, terms=["nordtel"])
    [report] = crawl_once(settings, sqlite_engine, matchers, T0)
    assert report.error is None
    assert report.requests == 2
    [search] = yt.calls_to(SEARCH)
    assert search.arg("type") == "video"
    assert search.arg("order") == "date"
    assert search.arg("publishedAfter") == "2026-10-30T09:00:00Z"
    assert yt.calls_to(THREADS)[0].arg("videoId") == "vidNordtel1"
    posts = stored(sqlite_engine)
    comments = {comment_url("vidNordtel1", f"Ugz{i:06d}") for i in range(3)}
    assert set(posts) == {f"{WATCH}vidNordtel1"} | comments
    assert posts[f"{WATCH}vidNordtel1"]["title"] == "Nordtel fiber test"
    assert quota_used(source_row(sqlite_engine, "yt").cursor, T0) == 101 == api.units


def test_quota_shows_in_sources_list(
    yt: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    from monitor.queue.health import source_dict

    YouTubeApi(threads(3), [], KEY).handlers(yt)
    crawl_once(settings_for(yt, tmp_path), sqlite_engine, matchers, T0)
    with session_scope(sqlite_engine) as session:
        row = repo.source_by_name(session, "yt")
        assert row is not None
        shown = source_dict(row, 3, T0 + timedelta(hours=1))
        tomorrow = source_dict(row, 3, T0 + timedelta(days=1))
    assert shown["quota_used_today"] == 1
    assert tomorrow["quota_used_today"] is None


def test_a_spent_quota_reads_as_refused_with_the_reason(
    yt: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    YouTubeApi(threads(3), [], KEY).handlers(yt)
    message = "The request cannot be completed because you have exceeded your quota."
    yt.fail(THREADS, yt_error(403, "quotaExceeded", message, "youtube.quota"))
    crawl_once(settings_for(yt, tmp_path), sqlite_engine, matchers, T0)
    error = source_row(sqlite_engine, "yt").last_error
    assert error.startswith("access refused (HTTP 403): the API key is refused or the day's quota")


def test_429_waits_for_retry_after_and_keeps_the_mark(
    yt: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    api = YouTubeApi(threads(150), [], KEY)

    def page_two_limited(call: Any) -> Reply:
        if call.arg("pageToken"):
            return json_reply({"error": {"code": 429}}, 429, {"Retry-After": "300"})
        return api.comment_threads(call)

    yt.routes[("GET", THREADS)] = page_two_limited
    [report] = crawl_once(settings_for(yt, tmp_path), sqlite_engine, matchers, T0)
    assert report.error is not None
    assert report.error.startswith("rate limited until 09:05 UTC")
    assert len(stored(sqlite_engine)) == 100
    row = source_row(sqlite_engine, "yt")
    assert f"ch:{CHANNEL}" not in load_marks(row.cursor)
    assert quota_used(row.cursor, T0) == 2
    [until] = host_backoff(sqlite_engine).values()
    assert until >= T0 + timedelta(minutes=5)


def test_a_page_token_that_loops_stops_without_duplicates(
    yt: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    page = threads(100)

    def loop(call: Any) -> Reply:  # every page is the first, and points to "the next" forever
        return json_reply({"items": page, "nextPageToken": "CA100"})

    yt.routes[("GET", THREADS)] = loop
    [report] = crawl_once(settings_for(yt, tmp_path), sqlite_engine, matchers, T0)
    assert report.requests == 2
    assert len(report.new) == 100 == len(stored(sqlite_engine))
    assert "a page repeats newer comments: paging stopped" in report.warnings


def test_sources_list_shows_the_quota(yt: FakePlatform, tmp_path: Path) -> None:
    YouTubeApi(threads(3), [], KEY).handlers(yt)
    config = tmp_path / "s.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/s.db"\n'
        '[network]\nallowed_hosts = ["127.0.0.1"]\n[crawl]\nparse_processes = 0\n'
        '[[brands]]\nname = "Nordtel"\n'
        f'[[sources]]\nname = "yt"\nkind = "youtube"\nurl = "{yt.url("/youtube/v3")}"\n'
        f'channel_id = "{CHANNEL}"\n'
    )
    env = {"STORMWATCH_SOURCES__YT__API_KEY": KEY}
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade", "-c", str(config)], env=env).exit_code == 0
    crawled = runner.invoke(app, ["crawl", "--once", "-c", str(config)], env=env)
    assert crawled.exit_code == 0, crawled.output
    listed = runner.invoke(app, ["sources", "list", "-c", str(config), "--json"], env=env)
    assert '"quota_used_today": 1' in listed.output
    assert KEY not in listed.output


def test_a_video_with_comments_disabled_is_a_warning_not_a_failure(
    yt: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    videos = [yt_video("vidNordtel1", "Nordtel fiber test", T0 - timedelta(hours=5))]
    YouTubeApi([], videos, KEY).handlers(yt)
    message = "The video identified by the videoId parameter has disabled comments."
    yt.fail(THREADS, yt_error(403, "commentsDisabled", message))
    [report] = crawl_once(
        settings_for(yt, tmp_path, terms=["nordtel"]), sqlite_engine, matchers, T0
    )
    assert report.error is None
    assert set(stored(sqlite_engine)) == {f"{WATCH}vidNordtel1"}
    assert len(report.warnings) == 1
    assert "HTTP 403" in report.warnings[0]


def serve(yt: FakePlatform, secret: str) -> None:
    """The platform answering as it does, accepting only ``secret``."""
    YouTubeApi(threads(3), [], secret).handlers(yt)


class TestApiContract(HealthReasons, SecretNeverShown):
    kind = ApiKind(
        platform="yt",
        source="yt",
        settings=settings_for,
        serve=serve,
        fail_path=THREADS,
        errors=[
            (Reply(503, b"<html>Service Unavailable</html>"), "rate limited (HTTP 503)"),
            (yt_error(500, "backendError", "Backend Error"), "platform error (HTTP 500)"),
            (yt_error(404, "channelNotFound", "Channel not found."), "page not found (HTTP 404)"),
            (Reply(200, b'{"items": [{"id": "x", ', {}), "answer not understood"),
            (json_reply({"items": {"id": "x"}}), "answer not understood"),
        ],
        secret=KEY,
        refused="request refused (HTTP 400): check the source's key",
    )
