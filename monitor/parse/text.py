"""HTML fragments to plain text, and small helpers shared by the parsers.

Post HTML is untrusted. We keep only its text (paragraphs as blank lines); nothing of its
markup survives into storage, so nothing of it can execute later.
"""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, datetime

_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
     "tr", "table", "section", "article", "pre", "hr", "aside", "figure", "figcaption"}
)  # fmt: skip
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
# C0 controls other than tab and newline (and DEL): never text, and PostgreSQL refuses NUL
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


_SKIPPED_OPEN = re.compile(r"<(script|style|noscript|template|svg|head|iframe)\b", re.I)
_BLOCK = re.compile(r"<\s*/?\s*(?:" + "|".join(sorted(_BLOCK_TAGS)) + r")\b[^>]*>", re.I)
_TAG = re.compile(r"</?[A-Za-z][^>]*>")


def html_to_text(fragment: str | None) -> str:
    """Visible text of an HTML fragment, paragraphs separated by one blank line.

    Regular expressions rather than an HTML parser: the crawl calls this for every title
    and body (hundreds of thousands per sweep) and an HTMLParser costs many times more. That is
    safe here because the output is plain text that is escaped again wherever it is shown;
    nothing of the markup survives, and every pattern is linear (no nested quantifiers)."""
    if not fragment:
        return ""
    if "<" in fragment:
        fragment = _TAG.sub("", _BLOCK.sub("\n\n", _without_hidden(fragment)))
    return normalise_space(html.unescape(fragment))


def _without_hidden(fragment: str) -> str:
    """Drop comments and script/style/... elements with their content, in one linear scan
    (an unclosed one hides the rest, as in a browser). A lazy ``.*?`` regex would rescan
    the tail once per unclosed opening tag: quadratic on a hostile document."""
    lowered = fragment.lower()
    out: list[str] = []
    pos = 0
    comment = lowered.find("<!--")
    tag = _SKIPPED_OPEN.search(fragment)
    while comment >= 0 or tag is not None:
        if tag is None or 0 <= comment < tag.start():
            start, end = comment, _hidden_end(lowered, comment, None)
        else:
            start, end = tag.start(), _hidden_end(lowered, tag.start(), tag)
        out.append(fragment[pos:start])
        pos = end
        if 0 <= comment < pos:  # search again only once we have passed the last hit
            comment = lowered.find("<!--", pos)
        if tag is not None and tag.start() < pos:
            tag = _SKIPPED_OPEN.search(fragment, pos)
    out.append(fragment[pos:])
    return " ".join(out)


def _hidden_end(lowered: str, start: int, tag: re.Match[str] | None) -> int:
    """Where the comment or hidden element starting at ``start`` ends (len if never)."""
    if tag is None:
        end = lowered.find("-->", start + 4)
        return end + 3 if end >= 0 else len(lowered)
    close = lowered.find(f"</{tag.group(1).lower()}", tag.end())
    end = lowered.find(">", close) if close >= 0 else -1
    return end + 1 if end >= 0 else len(lowered)


def normalise_space(text: str) -> str:
    text = _CONTROLS.sub("", text.replace("\r\n", "\n"))
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def content_hash(title: str | None, text: str) -> str:
    return hashlib.sha256(f"{title or ''}\x1f{text}".encode()).hexdigest()


COPY_MIN_CHARS = 80  # shorter texts are often written alike by different people
_NOT_WORD = re.compile(r"[\W_]+")  # runs of what is not a letter or digit


def copy_key(text: str) -> str | None:
    """What identifies a text up to case, spacing and punctuation (a syndicated copy, a
    repost), or None when it is too short to tell a copy from two people who wrote the same
    few words."""
    folded = _NOT_WORD.sub(" ", text.casefold()).strip()
    if len(folded) < COPY_MIN_CHARS:
        return None
    return "text:" + hashlib.blake2b(folded.encode(), digest_size=12).hexdigest()


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
