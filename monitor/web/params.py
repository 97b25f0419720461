"""Query parameters shared by pages, exports and the API (one definition, one validation)."""

from __future__ import annotations

from datetime import datetime

from fastapi import Depends, Query

from monitor.web.context import WebContext, web_context
from monitor.web.views import MAX_PAGE_SIZE, PAGE_SIZE, QueueParams, parse_since

_TEXT = 200


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
    return parse_since(since, now), parse_since(until, now, "until")
