"""The simulated web, over real HTTP on 127.0.0.1: every good route parses, conditional GET
works, edits show up, ``expected()`` agrees with the feeds, and every ``/bad/`` route
misbehaves exactly as documented, without ever harming the server. No sleeps."""

from __future__ import annotations

import html
import json
import threading
import time
import zlib
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import feedparser
import httpx
import pytest
from protego import Protego

from monitor.demo.sampleweb import SampleWeb
from monitor.demo.sampleweb.bad import BAD_ROUTES, LATIN1_TITLE
from monitor.demo.sampleweb.content import ANGRY_SLUG, build_site, mentions

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def web() -> Iterator[SampleWeb]:
    with SampleWeb() as server:
        yield server


@pytest.fixture
def fresh() -> Iterator[SampleWeb]:
    """A server of its own, for tests that edit content or stop it."""
    with SampleWeb() as server:
        yield server


@pytest.fixture(scope="module")
def client(web: SampleWeb) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web.base_url, timeout=5) as c:
        yield c


def parse(response: httpx.Response) -> feedparser.FeedParserDict:
    return feedparser.parse(response.content, response_headers=dict(response.headers))


def expected_count(web: SampleWeb, source: str) -> int:
    return len(web.expected().from_source(source))


# --- well-behaved routes ----------------------------------------------------------------


XML_FEEDS = [
    ("/blog/feed/", "application/rss+xml", 5),
    ("/sv-blog/atom.xml", "application/atom+xml", 4),
    ("/news/rss.xml", "application/rss+xml", 7),
    ("/alerts/google.xml", "application/atom+xml", 4),
    ("/r/Denmark/new/.rss", "application/atom+xml", 6),
    ("/r/sweden/new/.rss", "application/atom+xml", 3),
    ("/private/feed.xml", "application/rss+xml", 1),
    (f"/blog/{ANGRY_SLUG}/feed/", "application/rss+xml", 25),
]


@pytest.mark.parametrize(("path", "ctype", "count"), XML_FEEDS)
def test_xml_feeds_parse_cleanly(client: httpx.Client, path: str, ctype: str, count: int) -> None:
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"] == f"{ctype}; charset=utf-8"
    doc = parse(r)
    assert not doc.bozo, doc.get("bozo_exception")
    assert len(doc.entries) == count
    assert all(e.get("published_parsed") or e.get("updated_parsed") for e in doc.entries)


def test_every_comment_feed_matches_expected(web: SampleWeb, client: httpx.Client) -> None:
    expected = web.expected()
    for post in expected.of_kind("blog_post"):
        doc = parse(client.get(urlsplit(post.url).path + "feed/"))
        assert not doc.bozo
        comments = [i for i in expected.of_kind("blog_comment") if i.thread == post.url]
        assert {e.link for e in doc.entries} == {c.url for c in comments}
        for entry in doc.entries:
            truth = expected.by_url()[entry.link]
            assert entry.author == truth.author
            reply = entry.get("thr_in-reply-to")
            assert (reply["href"] if reply else post.url) == truth.parent


def test_blog_feed_is_wordpress_shaped(web: SampleWeb, client: httpx.Client) -> None:
    doc = parse(client.get("/blog/feed/"))
    by_url = web.expected().by_url()
    for entry in doc.entries:
        truth = by_url[entry.link]
        assert entry.author == truth.author == "Jonas Riis"
        assert entry.wfw_commentrss == entry.link + "feed/"
        assert int(entry.slash_comments) == len(
            [c for c in web.expected().of_kind("blog_comment") if c.thread == entry.link]
        )
        assert entry.id.startswith(web.base_url + "/blog/?p=")
        assert truth.text.split("\n\n")[0][:40] in entry.content[0].value
        assert entry.published_parsed is not None


def test_angry_thread_is_large_and_multilingual(web: SampleWeb) -> None:
    comments = [i for i in web.expected().of_kind("blog_comment") if ANGRY_SLUG in i.thread]
    assert len(comments) == 25
    assert {c.lang for c in comments} >= {"da", "sv", "nb", "en", "de", "fi"}
    assert any(c.parent != c.thread for c in comments)  # threaded replies
    assert any(not c.brands for c in comments)  # "Samme her" names no brand


@pytest.mark.parametrize(
    "source", ["sv-blog", "news-rss", "google-alerts", "reddit-denmark", "reddit-sweden"]
)
def test_feed_links_are_the_expected_items(
    web: SampleWeb, client: httpx.Client, source: str
) -> None:
    path = web.feeds()[source][1]
    r = client.get(path)
    links = _links(r, source)
    assert links == {i.url for i in web.expected().from_source(source)}


def _links(r: httpx.Response, source: str) -> set[str]:
    if r.headers["content-type"].startswith("application/json"):
        children = r.json()["data"]["children"]
        return {c["data"]["url"] for c in children}
    links = {e.link for e in parse(r).entries}
    if source == "google-alerts":
        return {parse_qs(urlsplit(link).query)["url"][0] for link in links}
    return links


def test_json_feed_and_duplicate_news_item(web: SampleWeb, client: httpx.Client) -> None:
    r = client.get("/news/feed.json")
    assert r.headers["content-type"] == "application/feed+json; charset=utf-8"
    doc = r.json()
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert all(
        {"id", "url", "title", "content_html", "date_published"} <= set(i) for i in doc["items"]
    )
    rss_links = {e.link for e in parse(client.get("/news/rss.xml")).entries}
    shared = [i["url"] for i in doc["items"] if i["url"].split("?")[0] in rss_links]
    assert len(shared) == 1
    assert "utm_campaign=" in shared[0]
    assert client.get(shared[0]).content == client.get(shared[0].split("?")[0]).content
    news = web.expected().of_kind("news")
    assert len(news) == len({i.url for i in news}) == 7 + 2


def test_google_alerts_wrap_real_pages(web: SampleWeb, client: httpx.Client) -> None:
    doc = parse(client.get("/alerts/google.xml"))
    for entry in doc.entries:
        wrapped = urlsplit(entry.link)
        assert (wrapped.netloc, wrapped.path) == ("www.google.com", "/url")
        real = parse_qs(wrapped.query)["url"][0]
        assert real.startswith(web.base_url + "/pages/")
        assert client.get(real).status_code == 200
        assert "<b>Nordtel</b>" in entry.summary


def test_html_pages_have_boilerplate_around_the_article(
    web: SampleWeb, client: httpx.Client
) -> None:
    for item in web.expected().of_kind("page") + web.expected().of_kind("reddit"):
        r = client.get(item.url)
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        body = r.text
        assert 'id="cookie-banner"' in body
        assert "<nav>" in body
        assert "<footer" in body
        assert html.escape(item.text.split("\n\n")[0][:60], quote=False) in body


def test_blog_page_has_threaded_comments(client: httpx.Client) -> None:
    body = client.get(f"/blog/{ANGRY_SLUG}/").text
    assert body.count('class="comment"') == 25
    assert 'id="comment-101"' in body
    assert '<ol class="children">' in body


def test_discourse_forum(web: SampleWeb, client: httpx.Client) -> None:
    topics = client.get("/forum/latest.json").json()["topic_list"]["topics"]
    assert len(topics) >= 3
    assert {
        "id",
        "slug",
        "title",
        "posts_count",
        "created_at",
        "last_posted_at",
        "bumped_at",
    } <= set(topics[0])
    seen: set[str] = set()
    for topic in topics:
        posts = _all_posts(client, topic)
        assert len(posts) == topic["posts_count"]
        assert client.get(f"/forum/t/{topic['id']}.json").status_code == 200
        root = f"{web.base_url}/forum/t/{topic['slug']}/{topic['id']}"
        seen |= {root if p["post_number"] == 1 else f"{root}/{p['post_number']}" for p in posts}
    assert seen == {i.url for i in web.expected().of_kind("forum_post")}


def _all_posts(client: httpx.Client, topic: dict[str, object]) -> list[dict[str, object]]:
    doc = client.get(f"/forum/t/{topic['slug']}/{topic['id']}.json").json()
    posts = doc["post_stream"]["posts"]
    have = {p["id"] for p in posts}
    missing = [i for i in doc["post_stream"]["stream"] if i not in have]
    if missing:
        params = [("post_ids[]", i) for i in missing]
        more = client.get(f"/forum/t/{topic['id']}/posts.json", params=params).json()
        posts += more["post_stream"]["posts"]
    keys = {"id", "post_number", "username", "cooked", "created_at", "reply_to_post_number"}
    assert all(keys <= set(p) and p["topic_id"] == topic["id"] for p in posts)
    return posts


def test_brand_owned_forum_posts_often_do_not_name_the_brand(web: SampleWeb) -> None:
    posts = web.expected().of_kind("forum_post")
    assert any(not p.brands for p in posts)
    assert any("Nordtel" in p.brands for p in posts)
    router = [p for p in posts if "router-genstarter" in p.url]
    assert len(router) == 11


def test_reddit_json_listing(web: SampleWeb, client: httpx.Client) -> None:
    doc = client.get("/r/Denmark/new/.json").json()
    assert doc["kind"] == "Listing"
    items = [c["data"] for c in doc["data"]["children"]]
    assert len(items) == 6
    for data in items:
        assert data["name"] == "t3_" + data["id"]
        assert data["permalink"].startswith("/r/Denmark/comments/" + data["id"] + "/")
        assert isinstance(data["created_utc"], float)
        assert data["subreddit"] == "Denmark"
    entries = parse(client.get("/r/Denmark/new/.rss")).entries
    assert {e.id for e in entries} == {d["name"] for d in items}
    assert all(e.author.startswith("/u/") for e in entries)


def test_expected_brands_languages_and_times() -> None:
    site = build_site()
    web = SampleWeb()
    web.base_url = "http://127.0.0.1:1"
    items = web.expected().items
    assert {i.lang for i in items} >= {"da", "sv", "nb", "en", "de", "fi"}
    assert any(i.brands == {"Teleborg", "Nordtel"} for i in items)
    assert any(not i.brands for i in items)
    assert all(i.published.year == 2026 and i.published.tzinfo for i in items)
    assert len({i.url for i in items}) == len(items)
    assert site.blog[0].published == build_site(0).blog[0].published
    assert build_site(7).blog[0].published != site.blog[0].published


@pytest.mark.parametrize(
    ("text", "brands"),
    [
        ("Nordtels kundeservice", {"Nordtel"}),
        ("som Nordtel-kunde", {"Nordtel"}),
        ("se nordtel.dk og #nordtel", {"Nordtel"}),
        ("lokalavisen Nordtelegrafen", set()),
        ("Teleborg og Nordtel", {"Teleborg", "Nordtel"}),
    ],
)
def test_mentions(text: str, brands: set[str]) -> None:
    assert mentions(text) == brands


def test_tracking_variants_serve_the_same_content(client: httpx.Client) -> None:
    plain = client.get(f"/blog/{ANGRY_SLUG}/")
    tracked = client.get(f"/blog/{ANGRY_SLUG}/", params={"utm_source": "x", "fbclid": "1"})
    assert tracked.status_code == 200
    assert tracked.content == plain.content
    assert tracked.headers["etag"] == plain.headers["etag"]
    assert client.get(f"/blog/{ANGRY_SLUG}").status_code == 301


def test_robots_txt_and_private_feed(web: SampleWeb, client: httpx.Client) -> None:
    r = client.get("/robots.txt")
    assert r.headers["content-type"].startswith("text/plain")
    robots = Protego.parse(r.text)
    assert not robots.can_fetch(web.base_url + "/private/feed.xml", "stormwatch")
    for _kind, path in web.feeds().values():
        assert robots.can_fetch(web.base_url + path, "stormwatch")
    assert len(parse(client.get("/private/feed.xml")).entries) == 1


def test_index_lists_sources_and_bad_routes(web: SampleWeb, client: httpx.Client) -> None:
    body = client.get("/").text
    assert all(path in body for _kind, path in web.feeds().values())
    assert all(f"/bad/{name}" in body for name in BAD_ROUTES)
    kinds = {kind for kind, _path in web.feeds().values()}
    assert kinds == {"feed", "wordpress", "discourse", "reddit", "html"}
    assert client.get("/blog/").status_code == client.get("/forum/").status_code == 200


def test_requests_are_recorded(web: SampleWeb, client: httpx.Client) -> None:
    web.clear_requests()
    client.get("/robots.txt", headers={"User-Agent": "Stormwatch-test"})
    client.get("/nope")
    first, second = web.requests
    assert (first.method, first.path, first.status) == ("GET", "/robots.txt", 200)
    assert first.headers["user-agent"] == "Stormwatch-test"
    assert second.status == 404
    assert client.head("/news/rss.xml").content == b""


# --- conditional GET and edits -------------------------------------------------------------

CONDITIONAL = [
    "/blog/feed/",
    f"/blog/{ANGRY_SLUG}/",
    f"/blog/{ANGRY_SLUG}/feed/",
    "/sv-blog/atom.xml",
    "/news/rss.xml",
    "/news/feed.json",
    "/alerts/google.xml",
    "/forum/latest.json",
    "/forum/t/101.json",
    "/r/Denmark/new/.rss",
    "/r/Denmark/new/.json",
    "/pages/nordtel-router-recall.html",
]


@pytest.mark.parametrize("path", CONDITIONAL)
def test_conditional_get(client: httpx.Client, path: str) -> None:
    first = client.get(path)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('"')
    assert not etag.startswith("W/")
    assert client.get(path).content == first.content
    by_etag = client.get(path, headers={"If-None-Match": etag})
    assert by_etag.status_code == 304
    assert by_etag.content == b""
    assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 304
    old = "Thu, 01 Jan 2026 00:00:00 GMT"
    assert client.get(path, headers={"If-Modified-Since": old}).status_code == 200
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


def test_edit_post_changes_etag_and_content(fresh: SampleWeb) -> None:
    with httpx.Client(base_url=fresh.base_url) as c:
        before = {p: c.get(p) for p in ("/blog/feed/", "/blog/surdej-tredje-forsoeg/")}
        fresh.edit_post("surdej-tredje-forsoeg", text="Nyt afsnit.\n\nAndet afsnit.", title="Ny")
        for path, old in before.items():
            new = c.get(path, headers={"If-None-Match": old.headers["etag"]})
            assert new.status_code == 200
            assert "Nyt afsnit." in new.text
            assert new.headers["etag"] != old.headers["etag"]
            assert _date(new, "last-modified") > _date(old, "last-modified")
        entry = next(e for e in parse(c.get("/blog/feed/")).entries if "surdej" in e.link)
        old_entry = next(e for e in parse(before["/blog/feed/"]).entries if "surdej" in e.link)
        assert (entry.id, entry.link, entry.title) == (old_entry.id, old_entry.link, "Ny")
    assert fresh.expected().by_url()[entry.link].text == "Nyt afsnit.\n\nAndet afsnit."


def _date(r: httpx.Response, header: str) -> object:
    return parsedate_to_datetime(r.headers[header])


def test_add_comment_reaches_feeds_and_expected(fresh: SampleWeb) -> None:
    slug = "surdej-tredje-forsoeg"
    with httpx.Client(base_url=fresh.base_url) as c:
        old_feed = c.get(f"/blog/{slug}/feed/")
        first = fresh.add_comment(slug, "Ida", "Hvor får man surdej fra?")
        reply = fresh.add_comment(slug, "Jonas Riis", "Fra en nabo.", parent=first)
        feed = c.get(f"/blog/{slug}/feed/", headers={"If-None-Match": old_feed.headers["etag"]})
        assert feed.status_code == 200
        entries = {e.link: e for e in parse(feed).entries}
        base = f"{fresh.base_url}/blog/{slug}/"
        assert set(entries) == {f"{base}#comment-{first}", f"{base}#comment-{reply}"}
        assert entries[f"{base}#comment-{reply}"]["thr_in-reply-to"]["href"].endswith(
            f"#comment-{first}"
        )
        post = next(e for e in parse(c.get("/blog/feed/")).entries if slug in e.link)
        assert post.slash_comments == "2"
    truth = fresh.expected().by_url()[f"{base}#comment-{reply}"]
    assert (truth.parent, truth.thread, truth.lang) == (f"{base}#comment-{first}", base, "da")
    with pytest.raises(KeyError):
        fresh.add_comment(slug, "X", "y", parent=99999)


# --- misbehaving routes --------------------------------------------------------------------


def test_bad_documents_are_tolerated_by_feedparser(client: httpx.Client) -> None:
    assert parse(client.get("/bad/malformed.xml")).bozo
    bomb = client.get("/bad/entity-bomb.xml")
    assert len(bomb.content) < 4096
    assert "lol9" in bomb.text
    assert len(str(parse(bomb))) < 100_000  # not expanded
    xxe = parse(client.get("/bad/xxe.xml"))
    assert "root:" not in str(xxe)
    page = client.get("/bad/html-not-feed.xml")
    assert page.headers["content-type"].startswith("text/html")
    assert parse(page).entries == []
    empty = client.get("/bad/empty.xml")
    assert (empty.status_code, empty.content) == (200, b"")


def test_latin1_feeds(client: httpx.Client) -> None:
    good = client.get("/bad/latin1.xml")
    doc = parse(good)
    assert not doc.bozo
    assert doc.entries[0].title == LATIN1_TITLE
    bad = client.get("/bad/latin1-mislabelled.xml")
    assert bad.headers["content-type"].endswith("charset=utf-8")
    with pytest.raises(UnicodeDecodeError):
        bad.content.decode("utf-8")
    assert bad.content == good.content.replace(b' encoding="ISO-8859-1"', b"")


def test_garbage_is_stable_binary(client: httpx.Client) -> None:
    one, two = client.get("/bad/garbage.xml"), client.get("/bad/garbage.xml")
    assert one.content == two.content
    assert len(one.content) == 8192
    assert parse(one).entries == []


def test_status_routes(client: httpx.Client) -> None:
    assert client.get("/bad/500").status_code == 500
    r503 = client.get("/bad/503")
    assert (r503.status_code, r503.headers["retry-after"]) == (503, "120")
    r429 = client.get("/bad/429")
    assert (r429.status_code, r429.headers["retry-after"]) == (429, "30")
    dated = client.get("/bad/429-date")
    assert dated.status_code == 429
    assert parsedate_to_datetime(dated.headers["retry-after"]).timestamp() > time.time()
    assert client.get("/bad/no-such-route").status_code == 404


def test_redirects(client: httpx.Client) -> None:
    with pytest.raises(httpx.TooManyRedirects):
        client.get("/bad/redirect-loop", follow_redirects=True)
    ok = client.get("/bad/redirect-ok", follow_redirects=True)
    assert ok.url.path == "/news/rss.xml"
    assert len(parse(ok).entries) == 7
    outside = client.get("/bad/redirect-outside", params={"port": "8123"})
    assert outside.status_code == 302
    assert outside.headers["location"] == "http://127.0.0.2:8123/feed.xml"
    default = client.get("/bad/redirect-outside").headers["location"]
    assert default == "http://127.0.0.2:9/feed.xml"


def test_huge_streams_more_than_10_mib(client: httpx.Client) -> None:
    received = 0
    with client.stream("GET", "/bad/huge.xml") as r:
        assert r.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in r.headers
        for chunk in r.iter_raw():
            received += len(chunk)
            if received > 10 * MiB:
                break
    assert received > 10 * MiB
    assert client.get("/robots.txt").status_code == 200  # server unharmed


def test_gzip_bomb_is_small_on_the_wire_and_huge_inflated(client: httpx.Client) -> None:
    """Read raw and inflate in bounded steps: httpx's own decoder would inflate each
    network chunk whole (tens of MiB at once)."""
    inflater, inflated, wire = zlib.decompressobj(31), 0, 0
    with client.stream("GET", "/bad/gzip-bomb.xml") as r:
        assert r.headers["content-encoding"] == "gzip"
        assert int(r.headers["content-length"]) < 200_000
        for data in r.iter_raw():
            wire += len(data)
            while data:
                inflated += len(inflater.decompress(data, MiB))
                data = inflater.unconsumed_tail
    assert inflater.eof
    assert wire < 200_000
    assert inflated > 100 * MiB


def test_slow_drip_outlives_a_read_timeout(client: httpx.Client) -> None:
    received, deadline = 0, time.monotonic() + 2.0
    timeout = httpx.Timeout(5.0, read=1.0)  # never fires: a byte arrives every 0.5 s
    with client.stream("GET", "/bad/slow-drip.xml", timeout=timeout) as r:
        for chunk in r.iter_raw():
            received += len(chunk)
            if time.monotonic() > deadline:
                break
    assert 0 < received < 10
    with (
        pytest.raises(httpx.ReadTimeout),
        client.stream("GET", "/bad/slow-drip.xml", timeout=httpx.Timeout(5.0, read=0.2)) as r,
    ):
        r.read()


def test_hang_never_answers(client: httpx.Client) -> None:
    with pytest.raises(httpx.ReadTimeout):
        client.get("/bad/hang", timeout=httpx.Timeout(5.0, read=0.3))


def test_drop_and_wrong_length(client: httpx.Client) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/bad/drop")
    short = client.get("/bad/wrong-length")
    assert len(short.content) == int(short.headers["content-length"])
    assert not short.content.rstrip().endswith(b"</rss>")


def test_stop_returns_promptly_with_open_hang_and_drip(fresh: SampleWeb) -> None:
    outcomes: dict[str, BaseException | None] = {}

    def fetch(path: str) -> None:
        try:
            with httpx.Client(timeout=30) as c, c.stream("GET", fresh.base_url + path) as r:
                r.read()
            outcomes[path] = None
        except httpx.HTTPError as exc:
            outcomes[path] = exc

    threads = [
        threading.Thread(target=fetch, args=(p,)) for p in ("/bad/hang", "/bad/slow-drip.xml")
    ]
    for t in threads:
        t.start()
    assert fresh.wait_for_request("/bad/hang")
    assert fresh.wait_for_request("/bad/slow-drip.xml")
    started = time.monotonic()
    fresh.stop()
    assert time.monotonic() - started < 2.0
    for t in threads:
        t.join(timeout=3)
        assert not t.is_alive()
    assert set(outcomes) == {"/bad/hang", "/bad/slow-drip.xml"}
    assert outcomes["/bad/hang"] is not None  # no answer: a transport error
    statuses = {r.path: r.status for r in fresh.requests}
    assert statuses == {"/bad/hang": 0, "/bad/slow-drip.xml": 200}


def test_json_documents_are_valid(client: httpx.Client) -> None:
    for path in ("/forum/latest.json", "/forum/t/104.json", "/r/sweden/new/.json"):
        r = client.get(path)
        assert r.headers["content-type"] == "application/json; charset=utf-8"
        json.loads(r.content)


def test_other_methods_are_refused_and_recorded(web: SampleWeb, client: httpx.Client) -> None:
    web.clear_requests()
    refused = client.post("/blog/feed/", content=b"x=1")
    assert (refused.status_code, refused.headers["connection"]) == (405, "close")
    assert client.put("/blog/feed/").status_code == 501
    assert [(r.method, r.status) for r in web.requests] == [("POST", 405), ("PUT", 501)]
