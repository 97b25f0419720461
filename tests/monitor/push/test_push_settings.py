"""[push] and ``push = true``: what a pushing source needs is checked at load, every
problem listed with its key path; the push secrets never print."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.errors import ConfigError
from monitor.settings import parse_settings

FEED = {"name": "blog", "kind": "feed", "url": "https://blog.example/feed", "push": True}
PAGE = {"name": "page", "kind": "facebook_page", "url": "https://graph.facebook.com/v21.0",
        "page_id": "123", "token": "t", "push": True}  # fmt: skip


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw)
    return caught.value.problems


def test_a_pushing_feed_needs_a_public_url_and_a_secret() -> None:
    found = problems({"sources": [FEED]})
    assert any(
        p.startswith("web.public_url: push endpoints are called from outside") for p in found
    )
    assert "push.secret: a feed with push = true needs it (WebSub hub.secret)" in found


def test_a_pushing_facebook_page_needs_the_app_secret_and_the_verify_token() -> None:
    found = problems({"web": {"public_url": "https://sw.example"}, "sources": [PAGE]})
    assert found == [
        "push.facebook_app_secret: a facebook_page source with push = true needs it",
        "push.facebook_verify_token: a facebook_page source with push = true needs it",
    ]


def test_kinds_that_cannot_push_and_streams_without_tags_are_refused() -> None:
    reddit = {"name": "r", "kind": "reddit", "url": "https://www.reddit.com/r/x", "push": True}
    social = {"name": "m", "kind": "mastodon", "url": "https://social.example", "push": True,
              "terms": ["nordtel"], "token": "t"}  # fmt: skip
    found = problems({"sources": [reddit, social]})
    assert any(p.startswith("sources.0: push: kind 'reddit' cannot push") for p in found)
    assert any("push: a Mastodon source streams hashtags; give it tags" in p for p in found)


def test_a_mastodon_stream_needs_no_public_url() -> None:
    social = {"name": "m", "kind": "mastodon", "url": "https://social.example", "push": True,
              "tags": ["nordtel"]}  # fmt: skip
    assert parse_settings({"sources": [social]}).sources[0].push


def test_the_push_secrets_never_print() -> None:
    settings = parse_settings(
        {
            "web": {"public_url": "https://sw.example"},
            "push": {
                "secret": "websub-key-123",
                "facebook_app_secret": "fb-456",
                "facebook_verify_token": "verify-789",
            },
            "sources": [FEED, PAGE],
        }
    )
    shown = repr(settings.push) + str(settings.push) + settings.model_dump_json()
    for secret in ("websub-key-123", "fb-456", "verify-789"):
        assert secret not in shown


def test_limits_out_of_range_are_named() -> None:
    found = problems({"push": {"max_body": 10, "rate": 0, "renew_at": 1.5}})
    assert sorted(p.split(":")[0] for p in found) == ["push.max_body", "push.rate", "push.renew_at"]
