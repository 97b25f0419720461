"""What a request asks for: the query parameters shared by pages, exports and the API (one
definition, one validation), and the queue's filters as the query string carries them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from babel.support import NullTranslations
from fastapi import Depends, Query

from monitor.clock import SinceError, is_span, parse_since
from monitor.queue.service import QueueFilter
from monitor.storage.models import QUEUE_STATUSES
from monitor.web.context import WebContext, web_context
from monitor.web.errors import WebError
from monitor.web.i18n import DEFAULT, translations

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
_TEXT = 200


def since_of(value: str | None, now: datetime, name: str = "since") -> datetime | None:
    """:func:`monitor.clock.parse_since` for a request: a value it refuses is a 400 with
    its sentence."""
    try:
        return parse_since(value, now, name)
    except SinceError as error:
        raise WebError(400, "invalid_input", str(error)) from None


@dataclass(frozen=True)
class QueueParams:
    """The queue's filters as the query string carries them (the same on page and API)."""

    brand: str = ""
    status: str = "open"
    lang: str = ""
    source: str = ""
    assignee: str = ""
    since: str = ""
    q: str = ""
    page: int = 1
    limit: int = PAGE_SIZE
    incident: str = ""

    def to_filter(self, now: datetime) -> QueueFilter:
        if self.page < 1 or not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise WebError(400, "invalid_input", f"page must be ≥ 1, limit 1–{MAX_PAGE_SIZE}")
        return QueueFilter(
            brand=self.brand or None,
            status=self.status or "open",
            lang=self.lang or None,
            source=self.source or None,
            assignee=self.assignee or None,
            since=since_of(self.since, now),
            q=self.q.strip() or None,
            limit=self.limit,
            offset=(self.page - 1) * self.limit,
            incident=self.incident or None,
        )

    def query(self, **changes: Any) -> str:
        """The query string of these filters with ``changes`` (defaults left out)."""
        values = {**self.__dict__, **changes}
        defaults = QueueParams().__dict__
        kept = {k: v for k, v in values.items() if v != defaults[k]}
        return urlencode(kept)

    def filters_set(self) -> int:
        """How many of the folded filters differ from their defaults (the phone's button
        says so, and opens when any is set)."""
        names = ("status", "brand", "lang", "source", "assignee", "since")
        return sum(getattr(self, n) != getattr(QueueParams(), n) for n in names)

    def back(self) -> str:
        """``?back=...`` for links to a post, so its "Back to the queue" keeps these filters."""
        query = self.query()
        return "?" + urlencode({"back": query}) if query else ""

    def pages(self, total: int) -> int:
        return max(1, -(-total // self.limit))

    def nothing_found(self, locale: str = DEFAULT) -> str:
        """The empty result in words, naming what was searched: ``No open posts match
        “kø” with brand Nordtel.`` (an empty search must not read as an empty queue)."""
        tr = translations(locale)
        what = self._what(tr)
        filters = self._filters_in_words(tr)
        q = self.q.strip()
        if not q and not filters:
            if self.status == "open":
                return tr.gettext("The open queue is empty.")
            return tr.gettext("No %(what)s.") % {"what": what}
        said = {"what": what, "q": q, "filters": ", ".join(filters)}
        if q and filters:
            return tr.gettext("No %(what)s match “%(q)s” with %(filters)s.") % said
        if q:
            return tr.gettext("No %(what)s match “%(q)s”.") % said
        return tr.gettext("No %(what)s with %(filters)s.") % said

    def _what(self, tr: NullTranslations) -> str:
        if self.status == "open":
            return tr.gettext("open posts")
        if self.status == "all":
            return tr.gettext("posts")
        status = tr.gettext(self.status) if self.status in QUEUE_STATUSES else self.status
        return tr.gettext("%(status)s posts") % {"status": status}

    def _filters_in_words(self, tr: NullTranslations) -> list[str]:
        named = (
            (tr.gettext("brand %(value)s"), self.brand),
            (tr.gettext("language %(value)s"), self.lang),
            (tr.gettext("source %(value)s"), self.source),
            (tr.gettext("assignee %(value)s"), self.assignee),
        )
        filters = [said % {"value": value} for said, value in named if value]
        if self.incident:
            filters.append(tr.gettext("in this incident"))
        if self.since:
            span = {"value": self.since}
            filters.append(
                tr.gettext("in the last %(value)s") % span
                if is_span(self.since)
                else tr.gettext("since %(value)s") % span
            )
        return filters


def queue_params(
    brand: str = Query("", max_length=_TEXT),
    status: str = Query("open", max_length=20, description="open, all, or one status"),
    lang: str = Query("", max_length=8),
    source: str = Query("", max_length=_TEXT),
    assignee: str = Query("", max_length=_TEXT),
    since: str = Query("", max_length=40, description="e.g. 24h, 7d or 2026-11-02"),
    q: str = Query("", max_length=_TEXT, description="full-text search"),
    page: int = Query(1, ge=1, le=100_000),
    limit: int = Query(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
    incident: str = Query("", max_length=_TEXT, description="one incident's posts"),
) -> QueueParams:
    return QueueParams(brand, status, lang, source, assignee, since, q, page, limit, incident)


def since_param(
    since: str = Query("30d", max_length=40, description="e.g. 24h, 7d or 2026-11-02"),
    until: str = Query("", max_length=40),
    web: WebContext = Depends(web_context),
) -> tuple[datetime | None, datetime | None]:
    now = web.clock()
    return since_of(since, now), since_of(until, now, "until")
