"""Discourse forums through their JSON API: ``/latest.json``, then each topic's posts.

A topic is a thread; its first post is the root (``url`` = the topic URL) and every reply
a comment whose parent is ``reply_to_post_number`` (or the root). A topic's JSON carries at
most ~20 posts; the rest are fetched by id through ``/t/{id}/posts.json`` in chunks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode, urlsplit

from monitor.parse.text import from_iso, html_to_text
from monitor.sources.base import Parsed, RawPost, Request

if TYPE_CHECKING:  # only an annotation: keeps pydantic out of the parse workers
    from monitor.settings import SourceSettings

_CHUNK = 20


class DiscourseAdapter:
    kind: ClassVar[str] = "discourse"

    def __init__(self, max_follow: int = 50) -> None:
        self.max_follow = max_follow

    def start(self, source: SourceSettings) -> list[Request]:
        return [Request(forum_root(source.url) + "/latest.json")]

    def parse(self, request: Request, body: bytes, headers: Mapping[str, str]) -> Parsed:
        doc = _load(body)
        if doc is None:
            return Parsed(warnings=["not a Discourse JSON document"], failed=True)
        root = forum_root(request.url)
        if request.role == "index":
            return self._topics(root, doc)
        return _posts(root, request, doc)

    def _topics(self, root: str, doc: dict[str, Any]) -> Parsed:
        topics = _dict(doc.get("topic_list")).get("topics")
        if not isinstance(topics, list):
            return Parsed(warnings=["latest.json has no topic_list.topics"], failed=True)
        valid = [t for t in topics if isinstance(t, dict) and isinstance(t.get("id"), int)]
        valid.sort(key=lambda t: str(t.get("bumped_at") or ""), reverse=True)
        follow = [_topic_request(root, t) for t in valid[: self.max_follow]]
        return Parsed(follow=follow)


def forum_root(url: str) -> str:
    """The forum's base URL (handles forums under a path, e.g. ``/forum``)."""
    parts = urlsplit(url)
    path = parts.path
    for marker in ("/latest.json", "/latest", "/t/", "/posts.json", "/c/"):
        if marker in path:
            path = path[: path.index(marker)]
            break
    return f"{parts.scheme}://{parts.netloc}{path.rstrip('/')}"


def _topic_request(root: str, topic: dict[str, Any]) -> Request:
    slug = _text(topic.get("slug")) or "topic"
    thread = f"{root}/t/{slug}/{topic['id']}"
    return Request(
        f"{thread}.json", "topic", thread_url=thread, thread_title=_text(topic.get("title"))
    )


def _posts(root: str, request: Request, doc: dict[str, Any]) -> Parsed:
    posts = _dict(doc.get("post_stream")).get("posts")
    if not isinstance(posts, list):
        return Parsed(warnings=["topic JSON has no post_stream.posts"], failed=True)
    thread = request.thread_url or request.url.removesuffix(".json")
    title = _text(doc.get("title")) or request.thread_title
    usable = [p for p in posts if isinstance(p, dict) and _number(p.get("post_number")) is not None]
    out = [_post(thread, p, title) for p in usable]
    have = {p.get("id") for p in posts if isinstance(p, dict) and isinstance(p.get("id"), int)}
    missing = _missing_posts(root, doc, have) if request.role == "topic" else []
    follow = [Request(u, "posts", thread_url=thread, thread_title=title) for u in missing]
    return Parsed(posts=out, follow=follow)


def _post(thread: str, p: dict[str, Any], title: str | None) -> RawPost:
    number = _number(p.get("post_number"))
    reply_to = _number(p.get("reply_to_post_number"))
    first = number == 1
    return RawPost(
        url=thread if first else f"{thread}/{number}",
        text=html_to_text(str(p.get("cooked") or "")),
        title=title if first else None,
        author=_text(p.get("username")) or _text(p.get("name")),
        published_at=from_iso(p.get("created_at")),
        updated_at=from_iso(p.get("updated_at")),
        external_id=_text(p.get("id")),
        thread_url=thread,
        parent_url=None
        if first
        else (f"{thread}/{reply_to}" if reply_to not in (None, 1) else thread),
    )


def _missing_posts(root: str, doc: dict[str, Any], have: set[Any]) -> list[str]:
    ids = _dict(doc.get("post_stream")).get("stream")
    missing = (
        [i for i in ids if isinstance(i, int) and i not in have] if isinstance(ids, list) else []
    )
    topic_id = _number(doc.get("id"))
    if topic_id is None:
        return []
    chunks = [missing[i : i + _CHUNK] for i in range(0, len(missing), _CHUNK)]
    return [
        f"{root}/t/{topic_id}/posts.json?" + urlencode([("post_ids[]", i) for i in chunk])
        for chunk in chunks
    ]


def _load(body: bytes) -> dict[str, Any] | None:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


# Forum JSON is untrusted: every field may be missing or of another type.


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    return str(value) if isinstance(value, str | int) and str(value) else None


def _number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
