"""Source adapters: bytes in, posts / follow-ups / warnings out. Never raise on bad input."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.settings import SourceSettings
from monitor.sources import Request, adapter_for

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
  xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wfw="http://wellformedweb.org/CommentAPI/"
  xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel><title>Blog</title><language>da-DK</language>
<item><title>Tre uger uden net</title><link>https://b.dk/tre-uger/</link>
<guid>https://b.dk/?p=1</guid><dc:creator>Mette</dc:creator>
<pubDate>Mon, 02 Nov 2026 08:00:00 +0100</pubDate>
<content:encoded><![CDATA[<p>Nordtel har <b>stadig</b> ikke sendt en tekniker.</p>
<script>alert(1)</script><p>Anden sektion.</p>]]></content:encoded>
<wfw:commentRss>https://b.dk/tre-uger/feed/</wfw:commentRss><slash:comments>2</slash:comments></item>
<item><title>Ingen kommentarer</title><link>https://b.dk/stille/</link>
<description>Intet at se</description><slash:comments>0</slash:comments></item>
</channel></rss>"""

COMMENTS = b"""<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Comments on: Tre uger</title>
<item><title>Comment on Tre uger by Ole</title><link>https://b.dk/tre-uger/#comment-7</link>
<dc:creator>Ole</dc:creator><description>Samme her!</description>
<pubDate>Mon, 02 Nov 2026 09:00:00 +0000</pubDate></item>
</channel></rss>"""


def src(kind: str, url: str = "https://b.dk/") -> SourceSettings:
    return SourceSettings(name="s", kind=kind, url=url)  # type: ignore[arg-type]


def test_wordpress_posts_and_comment_feeds() -> None:
    adapter = adapter_for("wordpress")
    assert [r.url for r in adapter.start(src("wordpress"))] == ["https://b.dk/feed/"]
    parsed = adapter.parse(
        Request("https://b.dk/feed/"), RSS, {"content-type": "application/rss+xml"}
    )
    first = parsed.posts[0]
    assert first.title == "Tre uger uden net"
    assert first.author == "Mette"
    assert first.text == "Nordtel har stadig ikke sendt en tekniker.\n\nAnden sektion."
    assert first.published_at == datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
    assert first.lang_hint == "da"
    assert not first.is_comment
    assert [(r.url, r.role, r.thread_url) for r in parsed.follow] == [
        ("https://b.dk/tre-uger/feed/", "comments", "https://b.dk/tre-uger/")
    ]  # the post with slash:comments=0 is not followed
    comments = adapter.parse(parsed.follow[0], COMMENTS, {})
    comment = comments.posts[0]
    assert comment.is_comment
    assert comment.title is None
    assert comment.author == "Ole"
    assert (comment.thread_url, comment.parent_url) == ("https://b.dk/tre-uger/",) * 2


def test_json_feed_and_alerts_redirect_links() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "News",
        "items": [
            {
                "id": "1",
                "url": "https://www.google.com/url?url=https%3A%2F%2Fn.se%2Fa&ct=ga",
                "title": "<b>Nordtel</b> nere",
                "content_html": "<p>Störning</p>",
                "date_published": "2026-11-02T10:00:00Z",
                "authors": [{"name": "TT"}],
            },
            "junk",
        ],
    }
    parsed = adapter_for("feed").parse(Request("https://n.se/f.json"), json.dumps(doc).encode(), {})
    post = parsed.posts[0]
    assert (post.url, post.title, post.text, post.author) == (
        "https://n.se/a",
        "Nordtel nere",
        "Störning",
        "TT",
    )
    assert parsed.warnings == ["1 JSON feed item(s) were not objects"]


def test_discourse_topics_then_posts_with_parents_and_missing_chunks() -> None:
    adapter = adapter_for("discourse", max_follow=1)
    [start] = adapter.start(src("discourse", "https://f.dk/forum/"))
    assert start.url == "https://f.dk/forum/latest.json"
    latest = {"topic_list": {"topics": [
        {"id": 5, "slug": "old", "title": "Old", "bumped_at": "2026-01-01T00:00:00Z"},
        {"id": 9, "slug": "router", "title": "Router død", "bumped_at": "2026-11-01T00:00:00Z"},
    ]}}  # fmt: skip
    index = adapter.parse(start, json.dumps(latest).encode(), {})
    assert [r.url for r in index.follow] == ["https://f.dk/forum/t/router/9.json"]
    topic = {
        "id": 9,
        "title": "Router død",
        "post_stream": {
            "stream": [101, 102, *range(200, 225)],
            "posts": [
                {"id": 101, "post_number": 1, "username": "kim", "cooked": "<p>Død</p>",
                 "created_at": "2026-11-01T10:00:00Z"},
                {"id": 102, "post_number": 2, "username": "bo", "cooked": "<p>Også</p>",
                 "reply_to_post_number": None},
            ],
        },
    }  # fmt: skip
    parsed = adapter.parse(index.follow[0], json.dumps(topic).encode(), {})
    root, reply = parsed.posts
    assert root.url == root.thread_url == "https://f.dk/forum/t/router/9"
    assert root.title == "Router død"
    assert reply.url == "https://f.dk/forum/t/router/9/2"
    assert reply.parent_url == root.url
    assert len(parsed.follow) == 2
    assert "post_ids%5B%5D=200" in parsed.follow[0].url


def test_reddit_json_listing() -> None:
    listing = {"data": {"children": [{"data": {
        "id": "abc", "name": "t3_abc", "title": "Nordtel?", "selftext": "Virker det?",
        "author": "u1", "permalink": "/r/Denmark/comments/abc/nordtel/", "created_utc": 1793000000,
    }}]}}  # fmt: skip
    url = "https://r.example/r/Denmark/new/.json"
    [post] = adapter_for("reddit").parse(Request(url), json.dumps(listing).encode(), {}).posts
    assert post.url == "https://r.example/r/Denmark/comments/abc/nordtel/"
    assert post.author == "u1"
    assert post.thread_url == post.url


def test_reddit_atom_listing_drops_the_submitted_by_trailer() -> None:
    trailer = (
        ' &#32; submitted by &#32; <a href="https://r.example/user/u1"> /u/u1 </a> <br/>'
        ' <span><a href="https://r.example/r/x/1/">[link]</a></span> &#32; '
        '<span><a href="https://r.example/r/x/1/">[comments]</a></span>'
    )
    content = html.escape(f"<p>Nordtel svarer ikke.</p>{trailer}", quote=False)
    feed = (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>r/x</title><entry><author><name>/u/u1</name></author>"
        f'<content type="html">{content}</content><id>t3_1</id>'
        '<link href="https://r.example/r/x/1/" /><updated>2026-11-02T09:00:00+00:00</updated>'
        "<title>Nordtel?</title></entry></feed>"
    )
    url = "https://r.example/r/x/new/.rss"
    [post] = adapter_for("reddit").parse(Request(url), feed.encode(), {}).posts
    assert (post.text, post.author) == ("Nordtel svarer ikke.", "u1")


def test_html_page_main_text() -> None:
    page = (
        "<html><head><title>Anmeldelse</title></head><body><nav>Menu Forside Kontakt</nav>"
        "<article><h1>Min oplevelse med Nordtel</h1>"
        + "<p>Jeg ventede i telefonkøen i to timer og fik ingen hjælp overhovedet. </p>" * 5
        + "</article><footer>Cookies og privatliv</footer></body></html>"
    )
    parsed = adapter_for("html").parse(Request("https://r.dk/a.html"), page.encode(), {})
    [post] = parsed.posts
    assert "telefonkøen" in post.text
    assert "Cookies" not in post.text


LATIN1 = (
    '<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel><title>t</title>'
    "<item><title>Blåbærgrød på Ærø</title><link>https://x.dk/1</link></item></channel></rss>"
).encode("latin-1")


@pytest.mark.parametrize(
    ("body", "headers", "failed", "titles"),
    [
        (b"", {}, True, []),
        (b"<html><body><p>Not a feed</p></body></html>", {"content-type": "text/html"}, True, []),
        (b"<rss><channel><item><title>Half", {}, True, []),
        (LATIN1, {"content-type": "application/xml"}, False, ["Blåbærgrød på Ærø"]),
        (LATIN1, {"content-type": "application/xml; charset=utf-8"}, False, ["Blåbærgrød på Ærø"]),
        (b"\x00\xff\xfe garbage \x89PNG", {}, True, []),
    ],
)
def test_bad_feeds_fail_softly(
    body: bytes, headers: dict[str, str], failed: bool, titles: list[str]
) -> None:
    parsed = adapter_for("feed").parse(Request("https://x.dk/f"), body, headers)
    assert parsed.failed is failed
    assert [p.title for p in parsed.posts] == titles
    if failed:
        assert parsed.warnings
        assert len(parsed.warnings[0]) < 400


@settings(max_examples=60, deadline=None)
@given(
    st.binary(max_size=2000), st.sampled_from(["feed", "wordpress", "discourse", "reddit", "html"])
)
def test_no_adapter_raises_on_arbitrary_bytes(body: bytes, kind: str) -> None:
    url = "https://x.dk/r/a/new/.json" if kind == "reddit" else "https://x.dk/feed/"
    for role in ("index", "comments", "topic"):
        parsed = adapter_for(kind).parse(Request(url, role, thread_url="https://x.dk/t"), body, {})
        assert parsed.failed or isinstance(parsed.posts, list)


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>" * 100_000,
        "<!--" * 100_000,
        "<script></script>" * 50_000 + "<!--x",
        "<" * 200_000 + "p>",
        "&" + "#x41;" * 100_000,
    ],
)
def test_html_to_text_stays_linear_on_hostile_markup(hostile: str) -> None:
    from monitor.parse.text import html_to_text

    assert len(html_to_text(hostile)) <= len(hostile)  # pytest-timeout guards the time


def test_html_to_text_keeps_only_visible_text() -> None:
    from monitor.parse.text import html_to_text

    html = (
        "<p>Én <b>to</b></p><script>alert(1)</script><!-- x --><style>p{}</style><p>tre &amp; fire"
    )
    assert html_to_text(html) == "Én to\n\ntre & fire"
