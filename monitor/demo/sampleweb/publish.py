"""New content at an explicit time: pure functions on :class:`Site` (the server wraps them).

The demo's simulated day publishes through these: a blog post, a comment, an article on a
feed (Swedish blog, news, a Google Alerts page, a Reddit submission), a forum topic or a
reply. Every item carries the time it was published (timezone-aware, stored in UTC), so the
feeds show the simulated clock, not the wall clock. Keys must be new; a name that is not a feed of
the site is a ``KeyError``.

Article feeds are named like :meth:`SampleWeb.feeds` names its sources: ``sv-blog``,
``news-rss``, ``news-json``, ``google-alerts`` (an HTML page the alerts feed lists),
``bluesky`` (a post the fake PDS finds), ``trustpilot`` (a review with ``rating`` stars)
and ``reddit-<sub>`` (a new subreddit is created on first use).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from monitor.demo.sampleweb.model import Article, BlogPost, Comment, ForumPost, Site, Topic

ARTICLE_FEEDS = ("sv-blog", "news-rss", "news-json", "google-alerts", "bluesky", "trustpilot")


def utc(published: datetime) -> datetime:
    """``published`` in UTC (HTTP dates are written in GMT); a naive time is refused."""
    if published.tzinfo is None:
        raise ValueError("published must be timezone-aware")
    return published.astimezone(UTC)


def add_post(site: Site, post: BlogPost) -> None:
    """A new blog post (its ``wp_id`` and slug must be new)."""
    post.published, post.modified = utc(post.published), utc(post.modified)
    if any(p.slug == post.slug or p.wp_id == post.wp_id for p in site.blog):
        raise ValueError(f"blog post {post.slug!r} (p={post.wp_id}) exists")
    site.blog.append(post)


def next_wp_id(site: Site) -> int:
    return 1 + max(p.wp_id for p in site.blog)


def add_comment(
    site: Site,
    slug: str,
    author: str,
    text: str,
    published: datetime,
    *,
    parent: int | None = None,
    lang: str = "da",
) -> int:
    """A comment on a blog post (a reply when ``parent`` is a comment id there)."""
    post = site.post(slug)
    if parent is not None and parent not in {c.id for c in post.comments}:
        raise KeyError(f"post {slug!r} has no comment {parent}")
    new_id = 1 + max((c.id for p in site.blog for c in p.comments), default=100)
    post.comments.append(Comment(new_id, author, text, utc(published), lang, parent))
    return new_id


def article_list(site: Site, feed: str) -> list[Article]:
    """The list an article feed renders (``reddit-<sub>`` creates the sub on first use)."""
    fixed = {
        "sv-blog": site.sv_blog,
        "news-rss": site.news_rss,
        "news-json": site.news_json,
        "google-alerts": site.pages,
        "bluesky": site.bluesky,
        "trustpilot": site.reviews,
    }
    if feed in fixed:
        return fixed[feed]
    if not feed.startswith("reddit-") or len(feed) == len("reddit-"):
        raise KeyError(f"no article feed {feed!r} (one of {ARTICLE_FEEDS} or reddit-<sub>)")
    wanted = feed.removeprefix("reddit-")
    sub = next((s for s in site.reddit if s.lower() == wanted.lower()), wanted)
    return site.reddit.setdefault(sub, [])


def add_article(site: Site, feed: str, article: Article) -> None:
    """An article on one of the article feeds; its key must be new there."""
    article = dataclasses.replace(article, published=utc(article.published))
    items = article_list(site, feed)
    taken = any(a.key == article.key for a in items)
    if taken or (feed.startswith("news-") and site.news(article.key) is not None):
        raise ValueError(f"{feed} already has an item {article.key!r}")
    if feed.startswith("reddit-") and not article.slug:
        raise ValueError("a Reddit submission needs a slug")
    if feed == "trustpilot" and article.rating not in (1, 2, 3, 4, 5):
        raise ValueError("a Trustpilot review needs a rating of 1-5 stars")
    items.append(article)


def add_topic(
    site: Site, slug: str, title: str, first: ForumPost, *, topic_id: int | None = None
) -> int:
    """A new forum topic whose first post is ``first`` (its number is set to 1)."""
    new_id = topic_id or 1 + max(t.id for t in site.topics)
    if any(t.id == new_id or t.slug == slug for t in site.topics):
        raise ValueError(f"forum topic {slug!r} ({new_id}) exists")
    opener = dataclasses.replace(first, number=1, reply_to=None, published=utc(first.published))
    site.topics.append(Topic(new_id, slug, title, (opener,)))
    return new_id


def add_forum_post(site: Site, topic_id: int, post: ForumPost) -> int:
    """A reply in a topic (``post.number`` is assigned); returns its post number."""
    index = next((i for i, t in enumerate(site.topics) if t.id == topic_id), None)
    if index is None:
        raise KeyError(f"no forum topic {topic_id}")
    topic = site.topics[index]
    if post.reply_to is not None and post.reply_to not in {p.number for p in topic.posts}:
        raise KeyError(f"topic {topic_id} has no post {post.reply_to}")
    numbered = dataclasses.replace(post, number=len(topic.posts) + 1, published=utc(post.published))
    site.topics[index] = dataclasses.replace(topic, posts=(*topic.posts, numbered))
    return numbered.number
