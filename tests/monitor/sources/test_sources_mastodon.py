"""The ``mastodon`` kind against a fake Mastodon instance on 127.0.0.1 (search and hashtag
timeline, min_id paging through Link headers, X-RateLimit-* headers), through the real
crawler, fetcher, address gate and SQLite store; and its token kept secret everywhere."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from monitor.fetch import Fetcher
from monitor.pipeline import fetch_policy
from monitor.settings import Settings, load_settings
from monitor.sources.api import load_marks
from monitor.stages.read import Matchers
from monitor.storage import repo
from monitor.storage.db import session_scope
from tests.support.contracts.api_kinds import ApiKind, HealthReasons, SecretNeverShown
from tests.support.fixtures.clock import T0
from tests.support.servers.fakeplatform import (
    FakePlatform,
    MastodonInstance,
    Reply,
    crawl_once,
    host_backoff,
    json_reply,
    make_settings,
    mastodon_status,
    running,
    source_row,
    stored,
)

TOKEN = "tok_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
SEARCH = "/api/v2/search"
TAG = "/api/v1/timelines/tag/nordtel"


@pytest.fixture
def masto() -> Iterator[FakePlatform]:
    with running() as platform:
        yield platform


def statuses(
    first: int, count: int, text: str = "Nordtel har nedbrud igen"
) -> list[dict[str, Any]]:
    at = T0.isoformat().replace("+00:00", ".000Z")
    return [mastodon_status(first + i, f"{text} {first + i}", at) for i in range(count)]


def settings_for(masto: FakePlatform, tmp_path: Path, **keys: Any) -> Settings:
    source = {"name": "masto", "kind": "mastodon", "url": masto.url(), "token": TOKEN, **keys}
    return make_settings(f"sqlite:///{tmp_path}/t.db", [source])


def api_calls(masto: FakePlatform) -> list[Any]:
    return [c for c in masto.calls if c.path != "/robots.txt"]


def test_first_walk_takes_the_latest_page_then_a_restart_pages_down_to_the_mark(
    masto: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    instance = MastodonInstance(statuses(1000, 50), TOKEN)
    instance.handlers(masto)
    settings = settings_for(masto, tmp_path, terms=["Nordtel"])
    [report] = crawl_once(settings, sqlite_engine, matchers, T0)
    assert report.error is None
    assert len(report.new) == 40
    first = api_calls(masto)[0]
    assert first.arg("type") == "statuses"
    assert first.arg("q") == "Nordtel"
    assert first.arg("limit") == "40"
    assert first.arg("min_id") is None
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert load_marks(source_row(sqlite_engine, "masto").cursor) == {"q:Nordtel": "1049"}
    instance.statuses += statuses(2000, 90)  # while we were down
    before = len(masto.calls)
    [report] = crawl_once(settings, sqlite_engine, matchers, T0 + timedelta(minutes=5))
    calls = [c for c in masto.calls[before:] if c.path != "/robots.txt"]
    assert [(c.arg("min_id"), c.arg("offset")) for c in calls] == [
        ("1049", None),
        ("1049", "40"),
        ("1049", "80"),
    ]
    assert len(report.new) == 90
    assert report.unchanged == 0
    assert report.warnings == []
    assert len(stored(sqlite_engine)) == 130
    post = stored(sqlite_engine)["https://social.example/@kunde2000/2000"]
    assert post["text"] == "Nordtel har nedbrud igen 2000"
    assert post["lang"] == "da"
    assert post["author"] == "kunde2000@social.example"
    assert load_marks(source_row(sqlite_engine, "masto").cursor) == {"q:Nordtel": "2089"}


def test_a_hashtag_timeline_pages_forward_by_link_prev(
    masto: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    instance = MastodonInstance(statuses(1000, 50, "Igen nede #Nordtel"), TOKEN)
    instance.handlers(masto)
    settings = settings_for(masto, tmp_path, tags=["nordtel"])
    crawl_once(settings, sqlite_engine, matchers, T0)
    instance.statuses += statuses(2000, 90, "Stadig nede #nordtel")
    before = len(masto.calls)
    [report] = crawl_once(settings, sqlite_engine, matchers, T0 + timedelta(minutes=5))
    calls = [c for c in masto.calls[before:] if c.path != "/robots.txt"]
    assert [c.arg("min_id") for c in calls] == ["1049", "2039", "2079"]  # from Link rel=prev
    assert len(report.new) == 90
    assert report.warnings == []
    assert load_marks(source_row(sqlite_engine, "masto").cursor) == {"tag:nordtel": "2089"}


def test_hashtags_need_no_token_and_are_their_own_stream(
    masto: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    MastodonInstance(statuses(10, 3, "Igen nede #Nordtel"), TOKEN).handlers(masto)
    source = {"name": "masto", "kind": "mastodon", "url": masto.url(), "tags": ["#nordtel"]}
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", [source])
    [report] = crawl_once(settings, sqlite_engine, matchers, T0)
    [call] = api_calls(masto)
    assert call.path == TAG
    assert "authorization" not in call.headers
    assert len(report.new) == 3
    assert load_marks(source_row(sqlite_engine, "masto").cursor) == {"tag:#nordtel": "12"}


def test_the_token_can_come_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "s.toml"
    config.write_text(
        '[[sources]]\nname = "masto-social"\nkind = "mastodon"\n'
        'url = "https://mastodon.social"\nterms = ["Nordtel"]\n'
    )
    settings = load_settings(config, {"STORMWATCH_SOURCES__MASTO_SOCIAL__TOKEN": TOKEN})
    token = settings.sources[0].token
    assert token is not None
    assert token.reveal() == TOKEN
    assert TOKEN not in repr(settings)


def test_429_with_an_iso_reset_backs_off_until_then(
    masto: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    MastodonInstance(statuses(1, 3), TOKEN).handlers(masto)
    limited = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0"}
    limited["X-RateLimit-Reset"] = "2026-11-02T14:05:00.000Z"
    masto.fail(SEARCH, json_reply({"error": "Too many requests"}, 429, limited))
    [report] = crawl_once(
        settings_for(masto, tmp_path, terms=["Nordtel"]), sqlite_engine, matchers, T0
    )
    assert report.error is not None
    assert report.error.startswith("rate limited until 14:05 UTC")
    [until] = host_backoff(sqlite_engine).values()
    assert until >= T0 + timedelta(hours=5, minutes=5)


def test_a_spent_quota_ends_the_walk_but_keeps_what_it_read(
    masto: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    instance = MastodonInstance(statuses(1000, 1), TOKEN)
    instance.handlers(masto)
    settings = settings_for(masto, tmp_path, terms=["Nordtel"])
    crawl_once(settings, sqlite_engine, matchers, T0)
    instance.statuses += statuses(2000, 100)
    instance.used = instance.limit - 1  # the next answer says: 0 left until 09:05
    [report] = crawl_once(settings, sqlite_engine, matchers, T0 + timedelta(minutes=1))
    assert report.requests == 1
    assert len(report.new) == 40
    assert report.error is None
    assert "rate limited until 09:05 UTC" in report.warnings[-1]
    # search pages newest first: the mark waits for the walk to reach it
    assert load_marks(source_row(sqlite_engine, "masto").cursor) == {"q:Nordtel": "1000"}
    assert host_backoff(sqlite_engine)


def test_a_search_that_ignores_the_offset_stops_without_duplicates(
    masto: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    page = statuses(5000, 40)
    masto.routes[("GET", SEARCH)] = lambda call: json_reply({"statuses": page})
    settings = settings_for(masto, tmp_path, terms=["Nordtel"])
    source_cursor(sqlite_engine, settings, '{"q:Nordtel": "100"}')
    [report] = crawl_once(settings, sqlite_engine, matchers, T0)
    assert report.requests == 2
    assert len(report.new) == 40 == len(stored(sqlite_engine))
    assert "a page repeats the one before: paging stopped" in report.warnings
    assert load_marks(source_row(sqlite_engine, "masto").cursor) == {"q:Nordtel": "5039"}


def test_a_link_that_goes_nowhere_stops_the_paging_without_duplicates(
    masto: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    page = statuses(5000, 40, "#nordtel")

    def stuck(call: Any) -> Reply:  # always the same page, and a prev link to itself
        link = f'<{masto.url(TAG)}?limit=40&min_id=100>; rel="prev"'
        return json_reply(page, headers={"Link": link})

    masto.fallback = stuck
    settings = settings_for(masto, tmp_path, tags=["nordtel"])
    source_cursor(sqlite_engine, settings, '{"tag:nordtel": "100"}')
    [report] = crawl_once(settings, sqlite_engine, matchers, T0)
    assert report.requests == 1
    assert len(report.new) == 40 == len(stored(sqlite_engine))
    assert "the next page would not move forward: paging stopped" in report.warnings


def test_a_link_to_another_origin_is_not_followed_with_the_token(
    masto: FakePlatform, tmp_path: Path, sqlite_engine: Engine, matchers: Matchers
) -> None:
    with running() as elsewhere:
        instance = MastodonInstance(statuses(100, 80, "#nordtel"), TOKEN)
        instance.handlers(masto)
        timeline = instance.tag

        def leaky(call: Any) -> Reply:
            reply = timeline(call)
            link = f'<{elsewhere.url(TAG)}?min_id=999999>; rel="prev"'
            return Reply(reply.status, reply.body, {**reply.headers, "Link": link})

        masto.fallback = leaky
        settings = settings_for(masto, tmp_path, tags=["nordtel"])
        source_cursor(sqlite_engine, settings, '{"tag:nordtel": "100"}')
        [report] = crawl_once(settings, sqlite_engine, matchers, T0)
        assert elsewhere.calls == []
        assert len(report.new) == 79


def test_the_fetcher_drops_credentials_on_a_redirect_to_another_origin() -> None:
    with running() as first, running() as second:
        first.routes[("GET", "/a")] = lambda call: Reply(302, b"", {"Location": second.url("/b")})
        second.routes[("GET", "/b")] = lambda call: json_reply([])
        policy = fetch_policy(make_settings("sqlite://", []).network)

        async def go() -> None:
            async with Fetcher(policy) as fetcher:
                headers = {"Authorization": f"Bearer {TOKEN}"}
                await fetcher.fetch(first.url("/a"), headers=headers, respect_robots=False)

        asyncio.run(go())
        assert first.calls_to("/a")[0].headers["authorization"] == f"Bearer {TOKEN}"
        assert "authorization" not in second.calls_to("/b")[0].headers


def source_cursor(engine: Engine, settings: Settings, cursor: str) -> None:
    """A source as a previous pass left it: synced, with its marks."""
    with session_scope(engine) as session:
        rows = repo.sync_sources(session, settings, T0)
        repo.update_sources(session, [{"id": rows["masto"].id, "cursor": cursor}])


def serve(masto: FakePlatform, secret: str) -> None:
    """The platform answering as it does, accepting only ``secret``."""
    MastodonInstance(statuses(1, 3), secret).handlers(masto)


class TestApiContract(HealthReasons, SecretNeverShown):
    kind = ApiKind(
        platform="masto",
        source="masto",
        settings=lambda masto, tmp_path: settings_for(masto, tmp_path, terms=["Nordtel"]),
        serve=serve,
        fail_path=SEARCH,
        errors=[
            (
                json_reply({"error": "This action is outside the authorized scopes"}, 403),
                "credentials rejected (HTTP 403)",
            ),
            (json_reply({"error": "Record not found"}, 404), "page not found (HTTP 404)"),
            (Reply(500, b"We're sorry, but something went wrong"), "platform error (HTTP 500)"),
            (Reply(200, b'{"statuses": [{"id": "1",', {}), "answer not understood"),
            (json_reply({"statuses": {"id": "1"}}), "answer not understood"),
        ],
        secret=TOKEN,
        refused="credentials rejected (HTTP 401)",
    )

    def also_when_refused(self, platform: FakePlatform, row: Any, settings: Settings) -> None:
        assert TOKEN not in str(settings.sources[0])
        assert "********" in repr(settings.sources[0].token)
