"""RSS, Atom and JSON Feed sources — blogs, news, Google Alerts / Talkwalker Alerts feeds.

An alerts feed is a plain feed whose links go through a redirector; the canonical URL of
each post is the real article (see monitor/canonical.py), so an article found by an alert
and by the site's own feed is stored once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from monitor.canonical import unwrap_redirect
from monitor.parse.feeds import FeedDocument, FeedEntry, parse_feed
from monitor.sources.base import Parsed, RawPost, Request

if TYPE_CHECKING:  # only an annotation: keeps pydantic out of the parse workers
    from monitor.settings import SourceSettings


class FeedAdapter:
    kind: ClassVar[str] = "feed"

    def start(self, source: SourceSettings) -> list[Request]:
        return [Request(source.url)]

    def parse(self, request: Request, body: bytes, headers: Mapping[str, str]) -> Parsed:
        doc = parse_feed(body, headers)
        posts = [entry_post(e, doc.language) for e in doc.entries if e.link]
        skipped = len(doc.entries) - len(posts)
        warnings = doc.warnings + ([f"{skipped} entries without a link skipped"] if skipped else [])
        return Parsed(posts=posts, warnings=warnings, failed=unusable(doc, posts))


def unusable(doc: FeedDocument, posts: list[RawPost]) -> bool:
    """A document fails only when nothing usable came out of a broken one; an empty but
    valid feed is fine, and a slightly broken one that yields posts is a warning."""
    return doc.failed or (not posts and bool(doc.warnings))


def entry_post(entry: FeedEntry, lang: str | None = None, **extra: str | None) -> RawPost:
    """A feed entry as a post; ``extra`` sets thread_url / parent_url / title for comments."""
    assert entry.link
    fields: dict[str, object] = {
        "url": unwrap_redirect(entry.link),
        "text": entry.text,
        "title": entry.title,
        "author": entry.author,
        "published_at": entry.published_at or entry.updated_at,
        "updated_at": entry.updated_at,
        "external_id": entry.entry_id,
        "lang_hint": (lang or "").split("-")[0].lower() or None,
    }
    fields.update(extra)
    return RawPost(**fields)  # type: ignore[arg-type]
