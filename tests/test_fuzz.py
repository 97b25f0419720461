"""Property-based fuzzing of the parsers that read untrusted input: structured feeds (not
just random bytes: real RSS/Atom/JSON Feed/Discourse shapes with hostile values), and the
settings loader (any TOML-shaped data gives settings or one ConfigError listing problems,
never another exception)."""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.errors import ConfigError
from monitor.settings import parse_settings
from monitor.sources import adapter_for
from monitor.sources.base import Request

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
hostile_text = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "javascript:alert(1)",
            "\x00\x01\x1b[31m",
            "\u202etxt.exe",
            "&amp;&lt;&#0;&#xD800;",
            "Nordtel " * 500,
            "",
        ]
    ),
)
dates = st.one_of(
    st.sampled_from(
        ["Mon, 02 Nov 2026 09:00:00 +0000", "2026-11-02T09:00:00Z", "yesterday", "", "0"]
    ),
    st.text(max_size=40),
)
urls = st.one_of(
    st.sampled_from(
        ["https://x.dk/p/1", "javascript:alert(1)", "//evil", "http://127.0.0.2/", "", "mailto:a@b"]
    ),
    st.text(max_size=80),
)


def _xml(text: str) -> str:
    return escape("".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20))


@st.composite
def rss(draw: st.DrawFn) -> bytes:
    items = draw(
        st.lists(st.tuples(hostile_text, hostile_text, urls, dates, hostile_text), max_size=6)
    )
    body = "".join(
        f"<item><title>{_xml(t)}</title><description>{_xml(d)}</description><link>{_xml(u)}</link>"
        f"<pubDate>{_xml(p)}</pubDate><author>{_xml(a)}</author></item>"
        for t, d, u, p, a in items
    )
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0">'
    return f"{head}<channel>{body}</channel></rss>".encode()


@st.composite
def atom(draw: st.DrawFn) -> bytes:
    entries = draw(st.lists(st.tuples(hostile_text, hostile_text, urls, dates), max_size=6))
    body = "".join(
        f'<entry><title>{_xml(t)}</title><content type="html">{_xml(c)}</content>'
        f'<link href="{_xml(u)}"/><updated>{_xml(p)}</updated><id>{_xml(u)}</id></entry>'
        for t, c, u, p in entries
    )
    return f'<feed xmlns="http://www.w3.org/2005/Atom">{body}</feed>'.encode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | hostile_text,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


@st.composite
def json_feed(draw: st.DrawFn) -> bytes:
    items = draw(
        st.lists(
            st.fixed_dictionaries(
                {"id": json_values, "url": urls, "title": json_values, "content_html": json_values},
                optional={"date_published": dates, "author": json_values},
            ),
            max_size=5,
        )
    )
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": items}).encode()


@st.composite
def discourse(draw: st.DrawFn) -> bytes:
    posts = draw(
        st.lists(
            st.fixed_dictionaries(
                {"id": json_values, "post_number": json_values, "cooked": json_values},
                optional={
                    "username": json_values,
                    "created_at": dates,
                    "reply_to_post_number": json_values,
                },
            ),
            max_size=5,
        )
    )
    topics = draw(
        st.lists(st.fixed_dictionaries({"id": json_values, "slug": json_values}), max_size=4)
    )
    doc: dict[str, Any] = {
        "post_stream": {"posts": posts, "stream": draw(json_values)},
        "topic_list": {"topics": topics},
        "title": draw(json_values),
    }
    return json.dumps(doc).encode()


def _parsed_ok(kind: str, body: bytes, url: str = "https://x.dk/feed/") -> None:
    for role in ("index", "comments", "topic"):
        parsed = adapter_for(kind).parse(
            Request(url, role, thread_url="https://x.dk/t/1"), body, {}
        )
        assert parsed.failed or isinstance(parsed.posts, list)
        for post in parsed.posts:
            assert isinstance(post.text, str)
            assert len(post.text) <= 2 * len(body) + 100
            assert "\x00" not in post.text


@FUZZ
@given(st.one_of(rss(), atom(), json_feed()))
def test_feed_adapter_survives_structured_hostile_feeds(body: bytes) -> None:
    _parsed_ok("feed", body)
    _parsed_ok("wordpress", body)


@FUZZ
@given(discourse())
def test_discourse_adapter_survives_structured_hostile_json(body: bytes) -> None:
    _parsed_ok("discourse", body, "https://x.dk/forum/")


@FUZZ
@given(json_feed())
def test_reddit_adapter_survives_hostile_listings(body: bytes) -> None:
    _parsed_ok("reddit", body, "https://x.dk/r/a/new/.json")


toml_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)
)
sections = st.sampled_from(
    [
        "database",
        "network",
        "crawl",
        "log",
        "web",
        "queue",
        "classifier",
        "oncall",
        "outbox",
        "nonsense",
    ]
)
keys = st.sampled_from(
    [
        "url",
        "bind",
        "deadline",
        "level",
        "format",
        "allowed_hosts",
        "interval",
        "name",
        "kind",
        "aliases",
        "x",
    ]
)


@st.composite
def config_data(draw: st.DrawFn) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for section in draw(st.lists(sections, max_size=4, unique=True)):
        raw[section] = draw(
            st.dictionaries(keys, toml_scalars | st.lists(toml_scalars, max_size=3), max_size=4)
        )
    for table in draw(
        st.lists(st.sampled_from(["brands", "sources", "channels"]), max_size=3, unique=True)
    ):
        raw[table] = draw(st.lists(st.dictionaries(keys, toml_scalars, max_size=4), max_size=3))
    return raw


@FUZZ
@given(config_data())
def test_settings_loader_gives_settings_or_one_config_error(raw: dict[str, Any]) -> None:
    problems = None
    try:
        parse_settings(raw, "fuzz")
    except ConfigError as exc:
        problems = exc.problems
    if problems is not None:
        assert problems, "a ConfigError always lists its problems"
        assert all(isinstance(p, str) and p and "\n" not in p for p in problems)
