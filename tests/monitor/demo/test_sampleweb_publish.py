"""Publishing on the simulated web at an explicit (simulated) time: every new item reaches
its feed over real HTTP with that time, ``expected()`` agrees, conditional GETs see the
change, and bad input is refused. No sleeps."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import feedparser
import httpx
import pytest

from monitor.demo.sampleweb import SampleWeb

WHEN = datetime(2026, 3, 4, 12, 5, tzinfo=timezone(timedelta(hours=1)))  # 11:05 UTC


@pytest.fixture
def web() -> Iterator[SampleWeb]:
    with SampleWeb() as server:
        yield server


def get(web: SampleWeb, path: str, **headers: str) -> httpx.Response:
    with httpx.Client(base_url=web.base_url, timeout=5) as client:
        return client.get(path, headers=headers)


def entries(web: SampleWeb, path: str) -> list[feedparser.FeedParserDict]:
    response = get(web, path)
    assert response.status_code == 200
    return list(feedparser.parse(response.content).entries)


def test_blog_post_and_comments_at_given_times(web: SampleWeb) -> None:
    web.publish_post("nyt-opslag", "Nyt opslag", "Første afsnit.\n\nAndet afsnit.", published=WHEN)
    first = web.add_comment("nyt-opslag", "Ida", "Enig!", published=WHEN + timedelta(minutes=3))
    reply = web.add_comment(
        "nyt-opslag", "Bo", "Også mig.", parent=first, published=WHEN + timedelta(minutes=9)
    )
    post = next(e for e in entries(web, "/blog/feed/") if "nyt-opslag" in e.link)
    assert post.title == "Nyt opslag"
    assert post.slash_comments == "2"
    comments = {e.link: e for e in entries(web, "/blog/nyt-opslag/feed/")}
    truth = web.expected().by_url()
    base = f"{web.base_url}/blog/nyt-opslag/"
    assert truth[base].published == WHEN
    assert truth[base].text == "Første afsnit.\n\nAndet afsnit."
    assert truth[f"{base}#comment-{reply}"].parent == f"{base}#comment-{first}"
    assert truth[f"{base}#comment-{first}"].published == datetime(2026, 3, 4, 11, 8, tzinfo=UTC)
    assert set(comments) == {f"{base}#comment-{first}", f"{base}#comment-{reply}"}


def test_articles_on_every_feed(web: SampleWeb) -> None:
    for feed, path in [
        ("news-rss", "/news/rss.xml"),
        ("news-json", "/news/feed.json"),
        ("sv-blog", "/sv-blog/atom.xml"),
        ("google-alerts", "/alerts/google.xml"),
    ]:
        key = f"ny-{feed}"
        web.publish_article(feed, key, f"Titel {feed}", "Nordtel tekst.", published=WHEN,
                            author="Redaktionen", lang="da")  # fmt: skip
        body = get(web, path).text
        assert f"Titel {feed}" in body, feed
    by_url = web.expected().by_url()
    assert by_url[f"{web.base_url}/news/ny-news-rss/"].published == WHEN
    assert by_url[f"{web.base_url}/pages/ny-google-alerts.html"].source == "google-alerts"
    doc = json.loads(get(web, "/news/feed.json").text)
    assert doc["items"][0]["date_published"] == "2026-03-04T11:05:00+00:00"


def test_a_new_subreddit_becomes_a_source(web: SampleWeb) -> None:
    assert "reddit-norge" not in web.feeds()
    web.publish_article("reddit-norge", "1cabcd", "Nordtel nede?", "Ingen dekning.",
                        published=WHEN, author="ola", lang="nb", slug="nordtel_nede")  # fmt: skip
    kind, path = web.feeds()["reddit-norge"]
    assert (kind, path) == ("reddit", "/r/norge/new/.json")
    listing = json.loads(get(web, path).text)
    assert listing["data"]["children"][0]["data"]["title"] == "Nordtel nede?"
    assert [e.title for e in entries(web, "/r/norge/new/.rss")] == ["Nordtel nede?"]
    web.publish_article("reddit-Denmark", "1cabce", "Hej", "Nordtel.", published=WHEN,
                        author="a", lang="da", slug="hej")  # fmt: skip
    assert "Hej" in get(web, "/r/Denmark/new/.rss").text  # an existing sub, any case


def test_forum_topic_and_replies(web: SampleWeb) -> None:
    topic = web.open_topic("ingen-net", "Ingen net?", "jens", "Er nettet nede?",
                           published=WHEN, lang="da")  # fmt: skip
    number = web.reply_in_topic(topic, "mette", "Vi kigger på det.", published=WHEN, lang="da",
                                reply_to=1)  # fmt: skip
    assert number == 2
    latest = json.loads(get(web, "/forum/latest.json").text)
    assert latest["topic_list"]["topics"][0]["slug"] == "ingen-net"
    posts = json.loads(get(web, f"/forum/t/ingen-net/{topic}.json").text)["post_stream"]["posts"]
    assert [p["post_number"] for p in posts] == [1, 2]
    assert posts[1]["reply_to_post_number"] == 1
    assert posts[1]["created_at"] == "2026-03-04T11:05:00.000Z"
    root = f"{web.base_url}/forum/t/ingen-net/{topic}"
    assert web.expected().by_url()[f"{root}/2"].parent == root


def test_publishing_changes_the_etag(web: SampleWeb) -> None:
    before = get(web, "/news/rss.xml")
    web.publish_article("news-rss", "nyhed", "Nyhed", "Tekst.", published=WHEN,
                        author="R", lang="da")  # fmt: skip
    after = get(web, "/news/rss.xml", **{"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert "Nyhed" in after.text


def test_bad_input_is_refused(web: SampleWeb) -> None:
    naive = datetime(2026, 3, 4, 12, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        web.publish_article("news-rss", "x", "X", "x", published=naive, author="a", lang="da")
    with pytest.raises(ValueError, match="already has"):
        web.publish_article("news-json", "nordtel-record-quarter", "X", "x", published=WHEN,
                            author="a", lang="en")  # fmt: skip
    with pytest.raises(KeyError, match="no article feed"):
        web.publish_article("blog", "x", "X", "x", published=WHEN, author="a", lang="da")
    with pytest.raises(ValueError, match="slug"):
        web.publish_article("reddit-norge", "1c", "X", "x", published=WHEN, author="a", lang="nb")
    with pytest.raises(ValueError, match="exists"):
        web.publish_post("surdej-tredje-forsoeg", "X", "x", published=WHEN)
    with pytest.raises(KeyError):
        web.reply_in_topic(999, "a", "x", published=WHEN, lang="da")
    with pytest.raises(KeyError):
        web.reply_in_topic(101, "a", "x", published=WHEN, lang="da", reply_to=99)
    with pytest.raises(ValueError, match="exists"):
        web.open_topic("router-genstarter-hele-tiden", "X", "a", "x", published=WHEN, lang="da")
