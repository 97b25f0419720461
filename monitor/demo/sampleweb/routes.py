"""Which content a path names: ``render(site, base, path, query)`` -> :class:`Resource`.

Pure: no sockets, no headers. Query strings are ignored (``?utm_source=x`` serves the same
bytes) except where a route reads them (Discourse ``post_ids[]``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from monitor.demo.sampleweb import feeds, forum, pages, reddit, urls
from monitor.demo.sampleweb.model import Article, Resource, Site, Topic

TEXT = "text/plain; charset=utf-8"
ROBOTS = "User-agent: *\nDisallow: /private/\nAllow: /\n"

M = re.Match[str]
Q = dict[str, list[str]]
Handler = Callable[[Site, str, M, Q], Resource | None]
_ROUTES: list[tuple[re.Pattern[str], Handler]] = []


def _route(pattern: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _ROUTES.append((re.compile(pattern + r"\Z"), fn))
        return fn

    return register


def render(site: Site, base: str, path: str, query: dict[str, list[str]]) -> Resource | None:
    for pattern, handler in _ROUTES:
        match = pattern.match(path)
        if match:
            return handler(site, base, match, query)
    return None


def site_modified(site: Site) -> datetime:
    return max(feeds.blog_modified(p) for p in site.blog)


def _find(items: list[Article], key: str) -> Article | None:
    return next((a for a in items if a.key == key), None)


def _topic(site: Site, topic_id: str) -> Topic | None:
    return next((t for t in site.topics if str(t.id) == topic_id), None)


def _page(a: Article | None) -> Resource | None:
    return pages.article_page(a) if a else None


@_route(r"/robots\.txt")
def _robots(site: Site, base: str, m: M, q: Q) -> Resource:
    return Resource(ROBOTS.encode(), TEXT, site_modified(site))


@_route(r"/blog/")
def _blog_index(site: Site, base: str, m: M, q: Q) -> Resource:
    links = [(p.title, urls.blog_post(p.slug)) for p in site.blog]
    return pages.index_page([("Riis på hverdagen", links)], site_modified(site))


@_route(r"/blog/feed/")
def _blog_feed(site: Site, base: str, m: M, q: Q) -> Resource:
    return feeds.blog_feed(site, base)


@_route(r"/blog/(?P<slug>[\w-]+)/")
def _blog_post(site: Site, base: str, m: M, q: Q) -> Resource | None:
    post = next((p for p in site.blog if p.slug == m["slug"]), None)
    return pages.blog_page(post, feeds.blog_modified(post)) if post else None


@_route(r"/blog/(?P<slug>[\w-]+)/feed/")
def _comment_feed(site: Site, base: str, m: M, q: Q) -> Resource | None:
    post = next((p for p in site.blog if p.slug == m["slug"]), None)
    return feeds.comment_feed(post, base) if post else None


@_route(re.escape(urls.SV_BLOG_FEED))
def _sv_feed(site: Site, base: str, m: M, q: Q) -> Resource:
    return feeds.sv_blog_feed(site, base)


@_route(r"/sv-blog/(?P<key>[\w-]+)/")
def _sv_entry(site: Site, base: str, m: M, q: Q) -> Resource | None:
    return _page(_find(site.sv_blog, m["key"]))


@_route(re.escape(urls.NEWS_RSS))
def _news_rss(site: Site, base: str, m: M, q: Q) -> Resource:
    return feeds.news_rss(site, base)


@_route(re.escape(urls.NEWS_JSON))
def _news_json(site: Site, base: str, m: M, q: Q) -> Resource:
    return feeds.news_json(site, base)


@_route(r"/news/(?P<key>[\w-]+)/")
def _news_item(site: Site, base: str, m: M, q: Q) -> Resource | None:
    return _page(site.news(m["key"]))


@_route(re.escape(urls.ALERTS))
def _alerts(site: Site, base: str, m: M, q: Q) -> Resource:
    return feeds.alerts_feed(site, base)


@_route(r"/pages/(?P<key>[\w-]+)\.html")
def _html_page(site: Site, base: str, m: M, q: Q) -> Resource | None:
    return _page(_find(site.pages, m["key"]))


@_route(r"/forum/")
def _forum_index(site: Site, base: str, m: M, q: Q) -> Resource:
    links = [(t.title, urls.topic(t)) for t in site.topics]
    modified = max(p.published for t in site.topics for p in t.posts)
    return pages.index_page([("Nordtel Community", links)], modified)


@_route(r"/forum/latest\.json")
def _latest(site: Site, base: str, m: M, q: Q) -> Resource:
    return forum.latest(site)


@_route(r"/forum/t/(?:(?P<slug>[\w-]+)/)?(?P<id>\d+)\.json")
def _topic_json(site: Site, base: str, m: M, q: Q) -> Resource | None:
    topic = _topic(site, m["id"])
    if topic is None or (m["slug"] and m["slug"] != topic.slug):
        return None
    return forum.topic(topic)


@_route(r"/forum/t/(?P<id>\d+)/posts\.json")
def _posts_json(site: Site, base: str, m: M, q: Q) -> Resource | None:
    topic = _topic(site, m["id"])
    ids = [int(v) for v in q.get("post_ids[]", []) if v.isdigit()]
    return forum.posts(topic, ids) if topic else None


@_route(r"/forum/t/(?P<slug>[\w-]+)/(?P<id>\d+)(?:/\d+)?")
def _topic_html(site: Site, base: str, m: M, q: Q) -> Resource | None:
    topic = _topic(site, m["id"])
    return pages.topic_page(topic) if topic and topic.slug == m["slug"] else None


@_route(r"/r/(?P<sub>\w+)/new/\.(?P<ext>rss|json)")
def _reddit_listing(site: Site, base: str, m: M, q: Q) -> Resource | None:
    items = site.reddit.get(m["sub"])
    if not items:
        return None
    if m["ext"] == "rss":
        return reddit.atom(m["sub"], items, base)
    return reddit.listing(m["sub"], items, base)


@_route(r"/r/(?P<sub>\w+)/comments/(?P<key>\w+)/(?P<slug>\w+)/")
def _reddit_item(site: Site, base: str, m: M, q: Q) -> Resource | None:
    return _page(_find(site.reddit.get(m["sub"], []), m["key"]))


@_route(re.escape(urls.PRIVATE_FEED))
def _private(site: Site, base: str, m: M, q: Q) -> Resource:
    return feeds.private_feed(site, base)


@_route(r"/private/(?P<key>[\w-]+)/")
def _private_item(site: Site, base: str, m: M, q: Q) -> Resource | None:
    return _page(_find(site.private, m["key"]))
