"""The ``bluesky`` kind against a fake PDS on 127.0.0.1 (createSession, refreshSession,
searchPosts with cursor paging, ExpiredToken, ratelimit-* headers), through the real
crawler, fetcher, address gate and SQLite store; its app password kept secret."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from monitor.settings import Settings
from monitor.sources import adapter_for
from monitor.sources.api import load_marks
from monitor.stages.read import Matchers
from tests.support.contracts.api_kinds import ApiKind, HealthReasons, SecretNeverShown
from tests.support.fixtures.clock import T0
from tests.support.servers.fakeplatform import (
    BlueskyPds,
    FakePlatform,
    Reply,
    bsky_post,
    crawl_once,
    host_backoff,
    json_reply,
    make_settings,
    running,
    source_row,
    stored,
)

PASSWORD = "abcd-efgh-ijkl-mnop"
HANDLE = "nordtel-monitor.bsky.social"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
DID = "did:plc:kunde"


@pytest.fixture
def pds() -> Iterator[FakePlatform]:
    adapter_for.cache_clear()  # a fresh process: no session kept from another test
    with running() as platform:
        yield platform


def at(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def posts(count: int, newest: datetime, first: int = 0) -> list[dict[str, Any]]:
    """``count`` posts a minute apart back from ``newest``."""
    return [
        bsky_post(
            DID,
            f"3k{first + i:05d}",
            f"Nordtel er nede igen {first + i}",
            at(newest - timedelta(minutes=i)),
        )
        for i in range(count)
    ]


def settings_for(pds: FakePlatform, tmp_path: Path, password: str = PASSWORD) -> Settings:
    source = {
        "name": "bsky",
        "kind": "bluesky",
        "url": pds.url(),
        "terms": ["Nordtel"],
        "identifier": HANDLE,
        "app_password": password,
    }
    return make_settings(f"sqlite:///{tmp_path}/t.db", [source])


def searches(pds: FakePlatform) -> list[Any]:
    return pds.calls_to(SEARCH)


def test_logs_in_once_and_pages_the_cursor_to_the_end(
    pds: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    data = posts(250, T0 - timedelta(minutes=1))
    root = data[-1]["uri"]
    data.append(bsky_post(DID, "3kreply", "Også hos mig, Nordtel", at(T0), reply_to=root))
    server = BlueskyPds(data, HANDLE, PASSWORD, T0)
    server.handlers(pds)
    [report] = crawl_once(settings_for(pds, tmp_path), sqlite_engine, matchers, T0)
    assert report.error is None
    assert len(report.new) == 251
    assert report.warnings == []
    [login] = pds.calls_to("/xrpc/com.atproto.server.createSession")
    assert login.method == "POST"
    assert login.headers["content-type"] == "application/json"
    assert (
        login.body
        == b'{"identifier": "nordtel-monitor.bsky.social", "password": "abcd-efgh-ijkl-mnop"}'
    )
    calls = searches(pds)
    assert [c.arg("cursor") for c in calls] == [None, "100", "200"]
    assert calls[0].arg("since") == at(T0 - timedelta(days=1))
    assert calls[0].arg("sort") == "latest"
    assert all(c.headers["authorization"].startswith("Bearer ey") for c in calls)
    reply = stored(sqlite_engine)[f"https://bsky.app/profile/{DID}/post/3kreply"]
    assert reply["kind"] == "comment"
    assert reply["author"] == "3kreply.bsky.social"
    assert (
        reply["thread_id"]
        == stored(sqlite_engine)[f"https://bsky.app/profile/{DID}/post/3k00249"]["id"]
    )
    assert load_marks(source_row(sqlite_engine, "bsky").cursor) == {"q:Nordtel": at(T0)}


def test_the_session_is_reused_then_refreshed_before_it_expires(
    pds: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    server = BlueskyPds(posts(3, T0), HANDLE, PASSWORD, T0)
    server.handlers(pds)
    settings = settings_for(pds, tmp_path)
    crawl_once(settings, sqlite_engine, matchers, T0)
    crawl_once(settings, sqlite_engine, matchers, T0 + timedelta(minutes=30))
    assert server.logins == 1
    assert server.refreshes == 0
    server.clock = T0 + timedelta(hours=1, minutes=59)
    crawl_once(settings, sqlite_engine, matchers, T0 + timedelta(hours=1, minutes=59))
    assert server.logins == 1
    assert server.refreshes == 1


def test_an_expired_token_is_refreshed_and_the_request_retried(
    pds: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    server = BlueskyPds(posts(3, T0), HANDLE, PASSWORD, T0)
    server.handlers(pds)
    settings = settings_for(pds, tmp_path)
    crawl_once(settings, sqlite_engine, matchers, T0)
    server.clock = T0 + timedelta(hours=3)  # the server expired it; our clock says not yet
    server.posts += posts(2, T0 + timedelta(minutes=20), first=100)
    [report] = crawl_once(settings, sqlite_engine, matchers, T0 + timedelta(minutes=30))
    assert report.error is None
    assert len(report.new) == 2
    assert server.refreshes == 1
    assert server.logins == 1
    assert [c.arg("cursor") for c in searches(pds)] == [None, None, None]  # refused, retried


def test_a_refused_refresh_logs_in_again(
    pds: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    server = BlueskyPds(posts(3, T0), HANDLE, PASSWORD, T0)
    server.handlers(pds)
    settings = settings_for(pds, tmp_path)
    crawl_once(settings, sqlite_engine, matchers, T0)
    server.refresh.clear()  # e.g. the account's sessions were revoked
    server.clock = T0 + timedelta(hours=3)
    [report] = crawl_once(settings, sqlite_engine, matchers, T0 + timedelta(hours=3))
    assert report.error is None
    assert server.logins == 2


def test_a_restart_resumes_from_the_mark(
    pds: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    server = BlueskyPds(posts(5, T0), HANDLE, PASSWORD, T0)
    server.handlers(pds)
    settings = settings_for(pds, tmp_path)
    crawl_once(settings, sqlite_engine, matchers, T0)
    adapter_for.cache_clear()  # the process restarts: sessions are gone, marks are not
    server.posts += posts(3, T0 + timedelta(minutes=30), first=500)
    [report] = crawl_once(settings, sqlite_engine, matchers, T0 + timedelta(hours=1))
    assert searches(pds)[-1].arg("since") == at(T0 - timedelta(minutes=10))
    assert len(report.new) == 3
    assert report.unchanged == 5
    assert len(stored(sqlite_engine)) == 8
    assert server.logins == 2
    assert load_marks(source_row(sqlite_engine, "bsky").cursor) == {
        "q:Nordtel": at(T0 + timedelta(minutes=30))
    }


def test_429_with_ratelimit_reset_backs_the_host_off(
    pds: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    BlueskyPds(posts(3, T0), HANDLE, PASSWORD, T0).handlers(pds)
    reset = int((T0 + timedelta(minutes=5)).timestamp())
    headers = {
        "ratelimit-limit": "3000",
        "ratelimit-remaining": "0",
        "ratelimit-reset": str(reset),
        "ratelimit-policy": "3000;w=300",
    }
    pds.fail(
        SEARCH,
        json_reply({"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, 429, headers),
    )
    [report] = crawl_once(settings_for(pds, tmp_path), sqlite_engine, matchers, T0)
    assert report.error is not None
    assert report.error.startswith("rate limited until 09:05 UTC")
    [until] = host_backoff(sqlite_engine).values()
    assert until >= T0 + timedelta(minutes=5)


def test_a_cursor_that_repeats_stops_without_duplicates(
    pds: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    server = BlueskyPds([], HANDLE, PASSWORD, T0)
    server.handlers(pds)
    page = posts(100, T0)
    pds.routes[("GET", SEARCH)] = lambda call: json_reply({"posts": page, "cursor": "same"})
    [report] = crawl_once(settings_for(pds, tmp_path), sqlite_engine, matchers, T0)
    assert report.requests == 2
    assert len(report.new) == 100 == len(stored(sqlite_engine))
    assert "the cursor repeats: paging stopped" in report.warnings
    assert load_marks(source_row(sqlite_engine, "bsky").cursor) == {"q:Nordtel": at(T0)}


def serve(pds: FakePlatform, secret: str) -> None:
    """The platform answering as it does, accepting only ``secret``."""
    BlueskyPds(posts(3, T0), HANDLE, secret, T0).handlers(pds)


class TestApiContract(HealthReasons, SecretNeverShown):
    kind = ApiKind(
        platform="pds",
        source="bsky",
        settings=settings_for,
        serve=serve,
        fail_path=SEARCH,
        errors=[
            (
                json_reply(
                    {"error": "InternalServerError", "message": "Internal Server Error"}, 500
                ),
                "platform error (HTTP 500)",
            ),
            (
                json_reply({"error": "InvalidRequest", "message": "Forbidden"}, 403),
                "credentials rejected (HTTP 403)",
            ),
            (Reply(200, b'{"posts": [{"uri": ', {}), "answer not understood"),
            (json_reply({"feed": []}), "answer not understood"),
        ],
        secret=PASSWORD,
        refused="credentials rejected (HTTP 401)",
    )

    def also_when_refused(self, platform: FakePlatform, row: Any, settings: Settings) -> None:
        assert "createSession" in row.last_error
        assert searches(platform) == []
