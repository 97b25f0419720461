"""Paths of everything the simulated web serves (shared by renderers and ground truth)."""

from __future__ import annotations

from monitor.demo.sampleweb.model import Article, Topic

BLOG = "/blog/"
BLOG_FEED = "/blog/feed/"
SV_BLOG_FEED = "/sv-blog/atom.xml"
NEWS_RSS = "/news/rss.xml"
NEWS_JSON = "/news/feed.json"
ALERTS = "/alerts/google.xml"
FORUM = "/forum/"
PRIVATE_FEED = "/private/feed.xml"
DUP_TRACKING = "utm_campaign=morning-brief&utm_source=jsonfeed"


def blog_post(slug: str) -> str:
    return f"/blog/{slug}/"


def comment(slug: str, comment_id: int) -> str:
    return f"/blog/{slug}/#comment-{comment_id}"


def comment_feed(slug: str) -> str:
    return f"/blog/{slug}/feed/"


def sv_entry(key: str) -> str:
    return f"/sv-blog/{key}/"


def news(key: str) -> str:
    return f"/news/{key}/"


def page(key: str) -> str:
    return f"/pages/{key}.html"


def private(key: str) -> str:
    return f"/private/{key}/"


def topic(t: Topic) -> str:
    """A Discourse topic's canonical URL (``/forum/t/{slug}/{id}``), no ``.json``."""
    return f"/forum/t/{t.slug}/{t.id}"


def forum_post(t: Topic, number: int) -> str:
    return topic(t) if number == 1 else f"{topic(t)}/{number}"


def reddit_listing(sub: str, ext: str) -> str:
    return f"/r/{sub}/new/.{ext}"


def reddit_item(sub: str, item: Article) -> str:
    return f"/r/{sub}/comments/{item.key}/{item.slug}/"
