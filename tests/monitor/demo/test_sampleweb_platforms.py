"""The simulated web's platform APIs (a Bluesky PDS, Trustpilot's review API) that the demo
reads: their answers over real HTTP, and the real ``bluesky`` and ``trustpilot`` kinds
reading the demo's storm from them through the real crawler into SQLite."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from monitor.demo.sampleweb import SampleWeb
from monitor.demo.scenario import config
from monitor.demo.scenario.publisher import Publisher
from monitor.demo.scenario.story import DAY, build_story, local
from monitor.stages.read import make_matchers, read_config
from tests.support.servers.fakeplatform import crawl_once, make_settings, stored

STORY = build_story()
NOON = local(DAY, "12:00")


@pytest.fixture
def web() -> Iterator[SampleWeb]:
    with SampleWeb() as server:
        yield server


def login(client: httpx.Client, identifier: str, password: str) -> httpx.Response:
    body = {"identifier": identifier, "password": password}
    return client.post("/bsky/xrpc/com.atproto.server.createSession", json=body)


def test_bluesky_login_search_and_cursor(web: SampleWeb) -> None:
    Publisher(web).publish(STORY.due(None, NOON))
    accounts = web.accounts
    with httpx.Client(base_url=web.base_url, timeout=5) as client:
        assert login(client, accounts.identifier, "wrong").status_code == 401
        session = login(client, accounts.identifier, accounts.app_password).json()
        search = "/bsky/xrpc/app.bsky.feed.searchPosts"
        query = {"q": "nordtel", "sort": "latest", "limit": "2"}
        assert client.get(search, params=query).status_code == 401  # no session, no search
        auth = {"Authorization": f"Bearer {session['accessJwt']}"}
        first = client.get(search, params=query, headers=auth)
        second = client.get(search, params={**query, "cursor": "2"}, headers=auth)
    assert first.headers["ratelimit-policy"] == "3000;w=300"
    page = first.json()
    assert page["cursor"] == "2"
    assert len(page["posts"]) == 2
    newest = page["posts"][0]
    assert newest["indexedAt"] == "2026-03-04T10:52:00.000Z"  # 11:52 in Copenhagen
    assert newest["uri"].startswith("at://did:plc:")
    assert "Nordtel" in newest["record"]["text"]
    times = [p["indexedAt"] for p in page["posts"] + second.json()["posts"]]
    assert times == sorted(times, reverse=True)
    assert len(set(times)) == 4


def test_trustpilot_reviews_need_the_key_and_keep_the_stars(web: SampleWeb) -> None:
    Publisher(web).publish(STORY.due(None, NOON))
    accounts = web.accounts
    path = f"/trustpilot/v1/business-units/{accounts.business_unit}/reviews"
    with httpx.Client(base_url=web.base_url, timeout=5) as client:
        refused = client.get(path, headers={"apikey": "nope"})
        other = client.get("/trustpilot/v1/business-units/0000/reviews")
        page = client.get(path, params={"perPage": "2"}, headers={"apikey": accounts.api_key})
    assert refused.status_code == 401
    assert refused.json()["fault"]["faultstring"] == "Invalid ApiKey"
    assert other.status_code == 404
    doc = page.json()
    assert [r["stars"] for r in doc["reviews"]] == [1, 5]  # the storm's review, then the day's
    assert doc["links"][0]["rel"] == "next-page"
    assert "page=2" in doc["links"][0]["href"]


def test_a_login_post_elsewhere_is_still_refused(web: SampleWeb) -> None:
    with httpx.Client(base_url=web.base_url, timeout=5) as client:
        answer = client.post("/blog/", content=b"x")
    assert answer.status_code == 405
    assert answer.headers["connection"] == "close"


def test_the_demo_sources_read_the_storm_on_bluesky_and_trustpilot_first(
    web: SampleWeb, tmp_path: Path, sqlite_engine: Engine
) -> None:
    publisher = Publisher(web)
    publisher.publish(STORY.due(None, NOON))
    sources = [
        s
        for s in config.source_table({}, web.base_url, web.platforms())
        if s["kind"] in ("bluesky", "trustpilot")
    ]
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", sources)
    matchers = make_matchers(read_config(settings))
    reports = crawl_once(settings, sqlite_engine, matchers, NOON.astimezone(UTC))
    assert [r.error for r in reports] == [None, None]
    posts = stored(sqlite_engine).values()
    storm = [p for p in posts if p["published_at"] >= local(DAY, "11:40")]
    assert {p["canonical_url"].split("/")[2] for p in storm} == {"bsky.app", "www.trustpilot.com"}
    assert len(storm) == 5
    assert [p["rating"] for p in storm if p["rating"]] == [1]
    assert sum(p["rating"] == 5 for p in posts) >= 1  # the good reviews of the days before
    publisher.publish(STORY.due(NOON, NOON + timedelta(hours=1)))
    again = crawl_once(
        settings, sqlite_engine, matchers, (NOON + timedelta(hours=1)).astimezone(UTC)
    )
    assert sum(len(r.new) for r in again) == 3  # 12:04 and 12:26 on Bluesky, 12:45's review
    secrets = (web.accounts.app_password, web.accounts.api_key)
    assert not [s for s in secrets if s in json.dumps([str(r) for r in reports + again])]
