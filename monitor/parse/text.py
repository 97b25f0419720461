"""HTML fragments to plain text, and small helpers shared by the parsers.

Post HTML is untrusted. We keep only its text (paragraphs as blank lines); nothing of its
markup survives into storage, so nothing of it can execute later.
"""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
     "tr", "table", "section", "article", "pre", "hr", "aside", "figure", "figcaption"}
)  # fmt: skip
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n" if tag != "br" else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self._skip:
            self._skip -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(fragment: str | None) -> str:
    """Visible text of an HTML fragment, paragraphs separated by one blank line."""
    if not fragment:
        return ""
    if "<" not in fragment:
        return normalise_space(html.unescape(fragment))
    extractor = _TextExtractor()
    try:
        extractor.feed(fragment)
        extractor.close()
    except (AssertionError, ValueError):  # pathological markup: keep what was read
        pass
    return normalise_space("".join(extractor.parts))


def normalise_space(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def content_hash(title: str | None, text: str) -> str:
    return hashlib.sha256(f"{title or ''}\x1f{text}".encode()).hexdigest()


def from_timestamp(value: float | int | str | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value), UTC) if value is not None else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def from_iso(value: object) -> datetime | None:
    """ISO 8601 (``2026-03-01T10:00:00Z``) to aware UTC; None for anything unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def clip(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else value
