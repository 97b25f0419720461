"""WordPress blogs: the posts feed, then each post's comment feed.

Every comment becomes a post in its thread (``thread_url`` = the article), so a single
article whose comments explode is visible to the thread-velocity detector. Comment feeds
are followed only for posts that have (or may have) comments, newest first, up to
``max_follow`` per pass; conditional GET keeps the unchanged ones cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from monitor.parse.feeds import FeedEntry, parse_feed
from monitor.sources.base import Parsed, RawPost, Request
from monitor.sources.feed import entry_post, unusable

if TYPE_CHECKING:  # only an annotation: keeps pydantic out of the parse workers
    from monitor.settings import SourceSettings


class WordPressAdapter:
    kind: ClassVar[str] = "wordpress"

    def __init__(self, max_follow: int = 50) -> None:
        self.max_follow = max_follow

    def start(self, source: SourceSettings) -> list[Request]:
        return [Request(posts_feed_url(source.url))]

    def parse(self, request: Request, body: bytes, headers: Mapping[str, str]) -> Parsed:
        doc = parse_feed(body, headers)
        if request.role == "comments":
            posts = [_comment(e, request, doc.language) for e in doc.entries if e.link]
            return Parsed(posts=posts, warnings=doc.warnings, failed=unusable(doc, posts))
        posts = [entry_post(e, doc.language, thread_url=e.link) for e in doc.entries if e.link]
        follow = [
            Request(_comments_url(e), "comments", thread_url=e.link, thread_title=e.title)
            for e in doc.entries
            if e.link and _may_have_comments(e)
        ]
        return Parsed(posts, follow[: self.max_follow], doc.warnings, unusable(doc, posts))


def posts_feed_url(url: str) -> str:
    """``https://blog.example/`` -> ``https://blog.example/feed/``; a feed URL stays."""
    if "/feed" in url or url.endswith((".xml", ".rss", ".atom")) or "?feed=" in url:
        return url
    return url.rstrip("/") + "/feed/"


def _comments_url(entry: FeedEntry) -> str:
    assert entry.link
    return entry.comments_feed or entry.link.split("#")[0].rstrip("/") + "/feed/"


def _may_have_comments(entry: FeedEntry) -> bool:
    count = entry.raw.get("slash_comments") if entry.raw is not None else None
    return count is None or str(count).strip() not in ("0", "")


def _comment(entry: FeedEntry, request: Request, lang: str | None) -> RawPost:
    """WordPress titles comments "Comment on X by Y": noise, so comments carry no title.
    The parent is the comment named by ``?replytocom=N`` / ``thr:in-reply-to`` when the
    feed gives one, otherwise the article."""
    parent = _in_reply_to(entry) or request.thread_url
    return entry_post(entry, lang, thread_url=request.thread_url, parent_url=parent, title=None)


def _in_reply_to(entry: FeedEntry) -> str | None:
    raw = entry.raw or {}
    ref = raw.get("thr_in-reply-to") or raw.get("in-reply-to")
    if isinstance(ref, dict):
        ref = ref.get("href") or ref.get("ref")
    return ref if isinstance(ref, str) and ref.startswith(("http://", "https://")) else None
