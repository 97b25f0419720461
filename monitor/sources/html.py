"""Plain HTML pages (a review page, a news article without a feed): the page is one post,
its main text extracted by trafilatura. Comments on such pages come as one blob without
authors or dates (docs/ARCHITECTURE.md, "Sources and parsing"), so they are not split into
posts; use a feed or API instead."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

import trafilatura

from monitor.parse.text import from_iso, normalise_space
from monitor.sources.base import Parsed, RawPost, Request

if TYPE_CHECKING:  # only an annotation: keeps pydantic out of the parse workers
    from monitor.settings import SourceSettings


class HtmlAdapter:
    kind: ClassVar[str] = "html"

    def start(self, source: SourceSettings) -> list[Request]:
        return [Request(source.url)]

    def parse(self, request: Request, body: bytes, headers: Mapping[str, str]) -> Parsed:
        if not body.strip():
            return Parsed(warnings=["empty page"], failed=True)
        try:
            doc = trafilatura.bare_extraction(
                body, url=request.url, include_comments=False, with_metadata=True
            )
        except Exception as exc:  # trafilatura/lxml raise many types on hostile markup
            return Parsed(warnings=[f"page could not be read: {type(exc).__name__}"], failed=True)
        text = normalise_space(getattr(doc, "text", None) or "")
        if not text:
            return Parsed(warnings=["no main text found on the page"], failed=True)
        post = RawPost(
            url=request.url,
            text=text,
            title=getattr(doc, "title", None),
            author=getattr(doc, "author", None),
            published_at=from_iso(getattr(doc, "date", None)),
            thread_url=request.url,
            lang_hint=getattr(doc, "language", None),
        )
        return Parsed(posts=[post])
