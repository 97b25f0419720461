"""What every API source kind shares: their settings (needs, secrets from the environment),
the rate-limit headers, the health reasons, hostile answers to every parser, and
``stormwatch sources test``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from monitor.cli import app
from monitor.errors import ConfigError, FetchError
from monitor.fetch.backoff import quota_spent, rate_limit_wait, throttled_for
from monitor.settings import API_KINDS, load_settings, parse_settings
from monitor.sources import Request, adapter_for
from monitor.sources.api import Walk, health_reason
from monitor.stages.read import make_matchers, read_config
from tests.support.fixtures.clock import T0
from tests.support.paths import REPO
from tests.support.servers.fakeplatform import (
    Reply,
    crawl_once,
    hn_search,
    hn_story,
    make_settings,
    running,
)

NOW = int(T0.timestamp())


def problems(source: dict[str, object]) -> list[str]:
    base = {"name": "s", "url": "https://api.example", **source}
    with pytest.raises(ConfigError) as caught:
        parse_settings({"sources": [base]})
    return caught.value.problems


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ({"kind": "hackernews"}, "sources.0: kind 'hackernews' needs terms"),
        ({"kind": "appstore", "countries": ["dk"]}, "sources.0: kind 'appstore' needs app_id"),
        ({"kind": "appstore", "app_id": "1"}, "sources.0: kind 'appstore' needs countries"),
        ({"kind": "mastodon"}, "sources.0: kind 'mastodon' needs terms or tags"),
        (
            {"kind": "mastodon", "terms": ["x"]},
            "sources.0: kind 'mastodon' needs a token to search terms (tags need none)",
        ),
        (
            {"kind": "bluesky", "terms": ["x"], "identifier": "me.bsky.social"},
            "sources.0: kind 'bluesky' needs app_password",
        ),
        (
            {"kind": "trustpilot", "api_key": "k"},
            "sources.0: kind 'trustpilot' needs business_unit",
        ),
        ({"kind": "youtube", "terms": ["x"]}, "sources.0: kind 'youtube' needs api_key"),
        ({"kind": "x", "terms": ["x"]}, "sources.0: kind 'x' needs token"),
        (
            {"kind": "google_play", "token": "t"},
            "sources.0: kind 'google_play' needs package_name",
        ),
        (
            {"kind": "facebook_page", "page_id": "1"},
            "sources.0: kind 'facebook_page' needs token",
        ),
        (
            {"kind": "facebook_page", "page_id": "nordtel", "token": "t"},
            "sources.0.page_id: String should match pattern '^[0-9]{1,30}$'",
        ),
        (
            {"kind": "youtube", "api_key": "k"},
            "sources.0: kind 'youtube' needs channel_id or terms",
        ),
        (
            {"kind": "appstore", "app_id": "12ab", "countries": ["dk"]},
            "sources.0.app_id: String should match pattern '^[0-9]{1,20}$'",
        ),
        (
            {"kind": "appstore", "app_id": "1", "countries": ["dnk"]},
            "sources.0.countries: not two-letter country codes: ['dnk']",
        ),
    ],
)
def test_each_kind_says_what_it_needs(source: dict[str, object], problem: str) -> None:
    assert problems(source) == [problem]


def test_every_api_kind_has_an_adapter_and_a_documented_entry() -> None:
    docs = (REPO / "docs" / "SOURCES.md").read_text()
    example = (REPO / "config" / "stormwatch.example.toml").read_text()
    for kind in API_KINDS:
        assert adapter_for(kind).kind == kind
        assert f"## `{kind}`" in docs
        assert f'kind = "{kind}"' in example


def test_a_source_secret_from_the_environment_names_an_existing_source(tmp_path: Path) -> None:
    config = tmp_path / "s.toml"
    config.write_text(
        '[[sources]]\nname = "tp.nordtel-dk"\nkind = "trustpilot"\nurl = "https://api.trustpilot.com"\n'
        'business_unit = "5a1b2c"\n'
    )
    loaded = load_settings(config, {"STORMWATCH_SOURCES__TP_NORDTEL_DK__API_KEY": "k-123"})
    key = loaded.sources[0].api_key
    assert key is not None
    assert key.reveal() == "k-123"
    assert "k-123" not in repr(loaded)
    with pytest.raises(ConfigError) as caught:
        load_settings(config, {"STORMWATCH_SOURCES__NOPE__API_KEY": "k-123"})
    assert (
        "STORMWATCH_SOURCES__NOPE__API_KEY: no [[sources]] entry named 'nope'"
        in caught.value.problems
    )
    assert not [p for p in caught.value.problems if "k-123" in p]


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"retry-after": "120", "x-ratelimit-reset": str(NOW + 9999)}, 120.0),  # Retry-After first
        ({"x-ratelimit-reset": "2026-11-02T14:05:00.000Z"}, 5 * 3600 + 300.0),  # Mastodon: ISO
        ({"ratelimit-reset": str(NOW + 300)}, 300.0),  # Bluesky: Unix seconds
        ({"ratelimit-reset": "30"}, 30.0),  # IETF draft: seconds from now
        ({"x-rate-limit-reset": str(NOW - 50)}, 0.0),  # already past
        ({"x-ratelimit-reset": "soon"}, None),
        ({}, None),
    ],
)
def test_rate_limit_wait_reads_each_platforms_headers(
    headers: dict[str, str], wait: float | None
) -> None:
    assert rate_limit_wait(headers, T0) == wait


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        (
            {
                "x-business-use-case-usage": '{"1": [{"type": "pages", "call_count": 100, '
                '"estimated_time_to_regain_access": 17}]}'
            },
            17 * 60.0,
        ),
        ({"x-app-usage": '{"call_count": 100, "total_cputime": 3, "total_time": 4}'}, 3600.0),
        ({"x-page-usage": '{"call_count": 99, "total_cputime": 3, "total_time": 4}'}, None),
        ({"x-app-usage": "not json"}, None),
        ({"x-business-use-case-usage": '{"1": "x", "2": [1, {"total_time": "100"}]}'}, None),
        ({}, None),
    ],
)
def test_graph_usage_headers_say_how_long_to_wait(
    headers: dict[str, str], wait: float | None
) -> None:
    assert throttled_for(headers) == wait
    assert quota_spent(headers, T0) == wait  # a good answer at the limit ends the walk too


def test_quota_spent_only_when_none_remain() -> None:
    spent = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(NOW + 60), "retry-after": "9"}
    assert quota_spent(spent, T0) == 60.0  # a 200's Retry-After means nothing
    assert quota_spent({**spent, "x-ratelimit-remaining": "1"}, T0) is None
    assert quota_spent({"ratelimit-remaining": "0"}, T0) is None  # no reset: cannot say


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            FetchError("rate_limited", "x", url="u", status=429, retry_after=90000),
            "rate limited until 2026-11-03 10:00 UTC (HTTP 429): u",
        ),
        (
            FetchError("rate_limited", "x", url="u", status=429),
            "rate limited (HTTP 429), backing off: u",
        ),
        (
            FetchError("http_status", "x", url="u", status=410),
            "page not found (HTTP 410): check the source's url and ids: u",
        ),
        (FetchError("timeout", "u: no complete answer"), "u: no complete answer"),
    ],
)
def test_health_reasons(error: FetchError, reason: str) -> None:
    assert health_reason(error, T0) == reason


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.just("a\x00b"),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
_URLS = {
    "hackernews": "https://hn.algolia.com/api/v1/search_by_date?query=x&page=0",
    "appstore": "https://itunes.apple.com/dk/rss/customerreviews/page=1/id=1/sortby=mostrecent/json",
    "mastodon": "https://social.example/api/v2/search?q=x&limit=40&min_id=5",
    "bluesky": "https://bsky.social/xrpc/app.bsky.feed.searchPosts?q=x&cursor=1",
    "trustpilot": "https://api.trustpilot.com/v1/business-units/x/reviews?page=1",
    "youtube": "https://www.googleapis.com/youtube/v3/commentThreads?videoId=x&pageToken=CA1",
    "x": "https://api.x.com/2/tweets/search/recent?query=x&next_token=t1",
    "google_play": "https://androidpublisher.googleapis.com/androidpublisher/v3/applications/a.b/reviews?token=t",
    "facebook_page": "https://graph.facebook.com/v21.0/1/feed?after=QVFI",
}


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(API_KINDS), doc=_JSON, cursor=st.none() | st.text(max_size=30))
def test_no_parser_raises_on_any_json(kind: str, doc: object, cursor: str | None) -> None:
    import json

    wrapped = {
        "hackernews": {"hits": doc},
        "appstore": {"feed": {"entry": doc}},
        "mastodon": {"statuses": doc},
        "bluesky": {"posts": doc, "cursor": "2"},
        "trustpilot": {"reviews": doc},
        "youtube": {"items": doc, "nextPageToken": "CA2"},
        "x": {"data": doc, "meta": {"next_token": "t2"}},
        "google_play": {"reviews": doc, "tokenPagination": {"nextPageToken": "t2"}},
        "facebook_page": {"data": doc, "paging": {"next": str(doc)[:50]}},
    }[kind]
    for body in (json.dumps(doc), json.dumps(wrapped)):
        for state in (cursor, Walk("s", "5", "9", "1", 2).encode()):
            request = Request(_URLS[kind], "page", cursor=state)
            parsed = adapter_for(kind).parse(request, body.encode(), {"link": str(doc)[:200]})
            assert parsed.failed or isinstance(parsed.posts, list)
            assert not [p for p in parsed.posts if "\x00" in p.text + (p.title or "")]


def test_sources_test_prints_what_it_would_store_and_stores_nothing(tmp_path: Path) -> None:
    with running() as hn:
        now = int(datetime.now(UTC).timestamp())  # the command runs on the real clock
        hits = [hn_story(1, now - 60, "Nordtel outage"), hn_story(2, now - 90, "Unrelated news")]
        hn.routes[("GET", "/api/v1/search_by_date")] = hn_search(hits)
        config = tmp_path / "s.toml"
        config.write_text(
            f'[database]\nurl = "sqlite:///{tmp_path}/never.db"\n'
            '[network]\nallowed_hosts = ["127.0.0.1"]\n'
            '[crawl]\nparse_processes = 0\nlanguages = ["en"]\n'
            '[[brands]]\nname = "Nordtel"\n'
            f'[[sources]]\nname = "hn"\nkind = "hackernews"\nurl = "{hn.url("/api/v1")}"\n'
            'terms = ["outage", "news"]\n'
        )
        result = CliRunner().invoke(app, ["sources", "test", "hn", "-c", str(config), "--json"])
        assert result.exit_code == 0, result.output
        assert '"url": "https://news.ycombinator.com/item?id=1"' in result.output
        assert "item?id=2" not in result.output
        assert (
            "2 request(s), 1 post(s) would be stored; 1 skipped (no brand named)" in result.output
        )
        assert not (tmp_path / "never.db").exists()
        hn.fail("/api/v1/search_by_date", Reply(403))
        refused = CliRunner().invoke(app, ["sources", "test", "hn", "-c", str(config)])
        assert refused.exit_code == 1
        assert "error: access refused (HTTP 403)" in refused.output


def test_no_parser_passes_a_nul_on() -> None:
    import json

    from tests.support.servers import fakeplatform as fake

    nul = "Nord\x00tel"
    review = fake.appstore_review(1, 1, nul, nul, "2026-11-02T09:00:00Z")
    docs = {
        "hackernews": {"hits": [fake.hn_story(1, NOW, nul, nul)], "page": 0, "nbPages": 1},
        "appstore": {"feed": {"entry": [review]}},
        "mastodon": {"statuses": [fake.mastodon_status(1, nul, "2026-11-02T09:00:00Z")]},
        "bluesky": {"posts": [fake.bsky_post("did:plc:x", "3k1", nul, "2026-11-02T09:00:00Z")]},
        "trustpilot": {"reviews": [{**fake.trustpilot_review("r1", 1, "", T0), "text": nul}]},
        "youtube": {"items": [fake.yt_thread("Ugz1", "v1", nul, T0)]},
        "x": {"data": [fake.x_post(1, nul, T0)], "meta": {"result_count": 1}},
        "google_play": {"reviews": [fake.play_review("r1", 1, nul, T0)]},
        "facebook_page": {"data": [fake.fb_post("1_2", nul, T0)]},
    }
    for kind, doc in docs.items():
        parsed = adapter_for(kind).parse(Request(_URLS[kind]), json.dumps(doc).encode(), {})
        [post] = parsed.posts
        assert "Nordtel" in post.text, kind
        assert "\x00" not in post.text + (post.title or ""), kind


def test_api_calls_and_logins_go_through_the_address_gate(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    outside = "http://127.0.0.2:9"  # loopback, but not in allowed_hosts: refused unsent
    sources = [
        {"name": "bsky", "kind": "bluesky", "url": outside, "terms": ["x"]}
        | {"identifier": "me.bsky.social", "app_password": "pw-never-shown"},
        {"name": "hn", "kind": "hackernews", "url": outside, "terms": ["x"]},
    ]
    settings = make_settings(f"sqlite:///{tmp_path}/t.db", sources)
    matchers = make_matchers(read_config(settings))
    reports = crawl_once(settings, sqlite_engine, matchers, T0)
    assert [r.error_kind for r in reports] == ["refused", "refused"]
    assert "createSession" in (reports[0].error or "")
    assert "pw-never-shown" not in str(reports)
