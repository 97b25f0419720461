"""RSS / Atom / JSON Feed bytes to entries, via feedparser given OUR bytes.

feedparser's own fetching has no timeout, so it never fetches here. Its HTML sanitiser is
off: post HTML never survives into storage (plain text only), so sanitising it is waste.
``bozo`` is common and often benign (an encoding override); we count it as a warning and
fail the document only when no entries come out of it (docs/ARCHITECTURE.md, "Sources and
parsing").
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser

from monitor.parse.text import from_iso, html_to_text


@dataclass
class FeedEntry:
    link: str | None
    entry_id: str | None
    title: str | None
    text: str
    author: str | None
    published_at: datetime | None
    updated_at: datetime | None
    comments_feed: str | None
    raw: Any = field(repr=False, default=None)


@dataclass
class FeedDocument:
    entries: list[FeedEntry]
    warnings: list[str]
    failed: bool
    title: str | None = None
    language: str | None = None


def parse_feed(body: bytes, headers: Mapping[str, str]) -> FeedDocument:
    if not body.strip():
        return FeedDocument([], ["empty body: no feed to read"], failed=True)
    if body.lstrip()[:1] == b"{":
        return parse_json_feed(body)
    # No HTML sanitising: we keep only plain text (html_to_text drops scripts, styles and
    # every tag), so cleaning markup we then throw away would be a good part of the parse.
    parsed = feedparser.parse(
        body, response_headers=dict(headers), sanitize_html=False, resolve_relative_uris=False
    )
    warnings = [f"feed not well-formed: {_bozo(parsed)}"] if parsed.get("bozo") else []
    entries = [_entry(e) for e in parsed.get("entries", [])]
    if not entries and (parsed.get("bozo") or not parsed.get("version")):
        why = _bozo(parsed) if parsed.get("bozo") else "no feed elements found"
        return FeedDocument([], [f"not a readable feed: {why}"], failed=True)
    feed = parsed.get("feed", {})
    return FeedDocument(entries, warnings, False, feed.get("title"), feed.get("language"))


def _bozo(parsed: Any) -> str:
    exc = parsed.get("bozo_exception")
    text = str(exc).strip().splitlines()[0] if exc is not None and str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300] if exc is not None else "unknown problem"


def _entry(e: Any) -> FeedEntry:
    return FeedEntry(
        link=e.get("link") or _url_id(e.get("id")),
        entry_id=e.get("id"),
        title=html_to_text(e.get("title")) or None,
        text=html_to_text(_body_html(e)),
        author=e.get("author") or None,
        published_at=_when(e.get("published_parsed")) or _when(e.get("created_parsed")),
        updated_at=_when(e.get("updated_parsed")),
        comments_feed=e.get("wfw_commentrss") or None,
        raw=e,
    )


def _body_html(e: Any) -> str:
    contents = e.get("content") or []
    best = max((c.get("value", "") for c in contents), key=len, default="")
    return best or e.get("summary", "") or ""


def _url_id(value: object) -> str | None:
    return value if isinstance(value, str) and value.startswith(("http://", "https://")) else None


def _when(value: time.struct_time | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def parse_json_feed(body: bytes) -> FeedDocument:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org), which feedparser 6.0 does not read."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:
        return FeedDocument([], [f"not a readable JSON feed: {str(exc)[:200]}"], failed=True)
    items = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(items, list) or "jsonfeed.org" not in str(doc.get("version", "")):
        return FeedDocument([], ["not a readable JSON feed: no version/items"], failed=True)
    entries = [_json_entry(item) for item in items if isinstance(item, dict)]
    warnings = [f"{len(items) - len(entries)} JSON feed item(s) were not objects"]
    return FeedDocument(
        entries,
        warnings if len(entries) < len(items) else [],
        False,
        _str(doc.get("title")),
        _str(doc.get("language")),
    )


def _json_entry(item: dict[str, Any]) -> FeedEntry:
    authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
    author = authors[0].get("name") if authors and isinstance(authors[0], dict) else None
    text = _str(item.get("content_html")) or _str(item.get("content_text")) or ""
    return FeedEntry(
        link=_str(item.get("url")) or _url_id(item.get("id")),
        entry_id=_str(item.get("id")),
        title=html_to_text(_str(item.get("title"))) or None,
        text=html_to_text(text or _str(item.get("summary"))),
        author=_str(author),
        published_at=from_iso(item.get("date_published")),
        updated_at=from_iso(item.get("date_modified")),
        comments_feed=None,
        raw=item,
    )


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None
