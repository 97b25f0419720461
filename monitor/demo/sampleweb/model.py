"""The data model of the simulated web: what the site holds and what tests may expect.

Site content (:class:`BlogPost`, :class:`Comment`, ...) is plain mutable dataclasses kept
by :class:`Site`; the server renders every response from it on each request, so an edit
shows up everywhere at once. :class:`ExpectedSite` is the ground truth a crawler test
compares against: one :class:`ExpectedItem` per post, comment, forum post or submission,
keyed by its canonical URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class RequestRecord:
    """One request the server answered (``status`` 0: no status line was ever sent)."""

    method: str
    path: str  # the request target as sent: path plus query string
    headers: dict[str, str]  # lowercased names
    status: int


@dataclass
class Comment:
    id: int
    author: str
    text: str
    published: datetime
    lang: str
    parent: int | None = None  # id of the comment this one answers
    brands: tuple[str, ...] | None = None  # None: computed from the text


@dataclass
class BlogPost:
    """A WordPress post. ``wp_id`` is its ``?p=`` number (the guid)."""

    slug: str
    wp_id: int
    title: str
    author: str
    lang: str
    category: str
    paragraphs: list[str]
    published: datetime
    modified: datetime
    comments: list[Comment] = field(default_factory=list)
    brands: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Article:
    """A single-page item: Swedish blog entry, news item, HTML page, Reddit submission.

    ``key`` is the slug (or the Reddit id); ``title``/``paragraphs`` the visible text."""

    key: str
    title: str
    author: str
    lang: str
    paragraphs: tuple[str, ...]
    published: datetime
    brands: tuple[str, ...] | None = None
    slug: str = ""  # Reddit only: the permalink's slug
    rating: int | None = None  # a review's stars, 1-5 (Trustpilot)


@dataclass(frozen=True)
class ForumPost:
    number: int  # post_number, 1 = the topic's first post
    username: str
    text: str
    published: datetime
    lang: str
    reply_to: int | None = None  # reply_to_post_number
    brands: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Topic:
    id: int
    slug: str
    title: str
    posts: tuple[ForumPost, ...]

    def post_id(self, number: int) -> int:
        """Discourse post ids are global; ours are derived from topic id and number."""
        return self.id * 1000 + number


@dataclass
class Site:
    """Everything the simulated web serves (the mutable part is the WordPress blog)."""

    blog: list[BlogPost]
    sv_blog: list[Article]
    news_rss: list[Article]
    news_json: list[Article]
    dup_news_key: str  # in both news feeds; the JSON Feed adds a tracking parameter
    pages: list[Article]
    topics: list[Topic]
    reddit: dict[str, list[Article]]
    private: list[Article]
    # platform APIs (monitor.demo.sampleweb.social): Bluesky posts, Trustpilot reviews
    bluesky: list[Article] = field(default_factory=list)
    reviews: list[Article] = field(default_factory=list)

    def post(self, slug: str) -> BlogPost:
        for post in self.blog:
            if post.slug == slug:
                return post
        raise KeyError(f"no blog post with slug {slug!r}")

    def news(self, key: str) -> Article | None:
        return next((a for a in [*self.news_rss, *self.news_json] if a.key == key), None)


@dataclass(frozen=True)
class ExpectedItem:
    """Ground truth for one post: ``url`` is canonical (no tracking parameters); ``thread``
    the thread root's URL (itself for a root); ``parent`` the URL it answers, or None."""

    kind: str  # blog_post, blog_comment, sv_blog, news, page, forum_post, reddit
    source: str  # the name in SampleWeb.feeds() that yields it
    url: str
    thread: str
    parent: str | None
    author: str
    lang: str
    brands: frozenset[str]
    title: str | None
    text: str
    published: datetime


@dataclass(frozen=True)
class ExpectedSite:
    items: tuple[ExpectedItem, ...]

    def by_url(self) -> dict[str, ExpectedItem]:
        return {item.url: item for item in self.items}

    def of_kind(self, kind: str) -> list[ExpectedItem]:
        return [item for item in self.items if item.kind == kind]

    def from_source(self, source: str) -> list[ExpectedItem]:
        return [item for item in self.items if item.source == source]

    def mentioning(self, brand: str) -> list[ExpectedItem]:
        return [item for item in self.items if brand in item.brands]


@dataclass(frozen=True)
class Resource:
    """A rendered response: the body, its Content-Type and when its content last changed."""

    body: bytes
    content_type: str
    modified: datetime
