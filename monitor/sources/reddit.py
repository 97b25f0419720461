"""Reddit: a subreddit's or a search's listing, as RSS/Atom (``/r/x/new/.rss``) or JSON
(``/r/x/new/.json``). Unauthenticated clients get ~10 requests/minute, so comment
trees are not followed; each submission is a post (its own thread)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urljoin, urlsplit

from monitor.parse.text import from_timestamp, html_to_text
from monitor.sources.base import Parsed, RawPost, Request
from monitor.sources.feed import FeedAdapter

if TYPE_CHECKING:  # only an annotation: keeps pydantic out of the parse workers
    from monitor.settings import SourceSettings


# Reddit's RSS/Atom content ends "submitted by /u/name [link] [comments]": not the post.
_TRAILER = re.compile(r"\s*submitted by\s+/u/[\w-]+\s*\[link\]\s*\[comments\]\s*$")


class RedditAdapter:
    kind: ClassVar[str] = "reddit"

    def start(self, source: SourceSettings) -> list[Request]:
        return [Request(source.url)]

    def parse(self, request: Request, body: bytes, headers: Mapping[str, str]) -> Parsed:
        if urlsplit(request.url).path.endswith(".json"):
            return _listing(request.url, body)
        parsed = FeedAdapter().parse(request, body, headers)
        parsed.posts = [_strip_user(p) for p in parsed.posts]
        return parsed


def _strip_user(post: RawPost) -> RawPost:
    """The author without ``/u/``, and the text without the listing's trailer."""
    author = (post.author or "").removeprefix("/u/") or None
    text = _TRAILER.sub("", post.text) if post.text else post.text
    return replace(post, author=author, thread_url=post.url, text=text)


def _listing(url: str, body: bytes) -> Parsed:
    try:
        doc = json.loads(body)
        children = doc["data"]["children"]
        assert isinstance(children, list)
    except (ValueError, KeyError, TypeError, AssertionError, RecursionError):
        return Parsed(warnings=["not a Reddit listing (data.children missing)"], failed=True)
    posts = [_submission(url, c.get("data")) for c in children if isinstance(c, dict)]
    return Parsed(posts=[p for p in posts if p is not None])


def _submission(base: str, data: Any) -> RawPost | None:
    if not isinstance(data, dict) or not data.get("permalink"):
        return None
    link = urljoin(base, str(data["permalink"]))
    return RawPost(
        url=link,
        # Reddit's JSON escapes selftext_html once more (&lt;p&gt;): unescape, then strip tags.
        text=html_to_text(html.unescape(str(data.get("selftext_html") or "")))
        or str(data.get("selftext") or ""),
        title=str(data.get("title") or "") or None,
        author=data.get("author"),
        published_at=from_timestamp(data.get("created_utc")),
        external_id=data.get("name") or data.get("id"),
        thread_url=link,
    )
