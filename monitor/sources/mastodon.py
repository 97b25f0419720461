"""Mastodon statuses matching terms or hashtags on one instance (``url``), through its REST
API: ``GET /api/v2/search?type=statuses&q=TERM`` (needs an access token with ``read:search``)
and ``GET /api/v1/timelines/tag/TAG`` (public on most instances; the token is sent if set).

Each term and each tag is a stream; its mark is the id of the newest status read (ids
grow with time). The first walk of a stream reads the latest page and starts from there.

- A hashtag timeline with ``min_id=MARK`` answers the statuses *immediately* after the
  mark, oldest page first, so every page read moves the mark forward on its own: a walk
  cut short loses nothing already read. The next page is the ``Link`` header's
  ``rel="prev"`` URL (Mastodon's documented way to page), followed only on the
  instance's own origin.
- Search answers newest first (its backend ranks; ``min_id`` only filters), so a search
  walk pages by ``offset`` with ``min_id`` = the mark and commits the newest id at its end.

The access token is a Secret: sent as ``Authorization: Bearer`` to the instance only,
never in a URL, so it appears in no log, error or stored URL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from monitor.parse.text import from_iso, html_to_text
from monitor.sources.api import (
    JSON_HEADERS,
    MAX_PAGES,
    ApiBase,
    Walk,
    as_dict,
    as_int,
    as_text,
    load_json,
)
from monitor.sources.base import Parsed, RawPost, Request

if TYPE_CHECKING:  # only annotations: keep pydantic and httpx out of the parse workers
    from monitor.fetch import Fetcher
    from monitor.settings import SourceSettings

PAGE_SIZE = 40  # the documented maximum of both endpoints
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([a-z]+)"?')


class MastodonAdapter(ApiBase):
    kind: ClassVar[str] = "mastodon"

    def resume(
        self, source: SourceSettings, marks: Mapping[str, str], now: datetime
    ) -> list[Request]:
        base = source.url.rstrip("/")
        streams = [
            (f"q:{t}", f"{base}/api/v2/search", {"q": t, "type": "statuses"}) for t in source.terms
        ]
        streams += [
            (f"tag:{t}", f"{base}/api/v1/timelines/tag/{quote(t.lstrip('#'), safe='')}", {})
            for t in source.tags
        ]
        requests = []
        for stream, path, query in streams:
            mark = marks.get(stream)
            params = {**query, "limit": str(PAGE_SIZE), **({"min_id": mark} if mark else {})}
            walk = Walk(stream, mark, page=1)
            requests.append(Request(f"{path}?{urlencode(params)}", "index", cursor=walk.encode()))
        return requests

    async def sign(self, source: SourceSettings, fetcher: Fetcher, now: datetime) -> dict[str, str]:
        if source.token is None:
            return dict(JSON_HEADERS)
        return {**JSON_HEADERS, "Authorization": f"Bearer {source.token.reveal()}"}

    def parse(self, request: Request, body: bytes, headers: Mapping[str, str]) -> Parsed:
        doc = load_json(body)
        statuses = as_dict(doc).get("statuses") if "/api/v2/search" in request.url else doc
        if not isinstance(statuses, list):
            return Parsed(warnings=["not a Mastodon list of statuses"], failed=True)
        walk = Walk.decode(request)
        mark = as_int(walk.mark)
        found = [(sid, s) for sid, s in (_identified(s) for s in statuses) if sid is not None]
        fresh = [(sid, s) for sid, s in found if mark is None or sid > mark]
        posts = [p for p in (_post(s) for _, s in fresh) if p is not None]
        warnings = _skipped(len(statuses) - len(posts), len(found) - len(fresh))
        ids = [sid for sid, _ in fresh]
        if "/api/v2/search" in request.url:
            return _search_page(request, walk, ids, len(statuses), Parsed(posts, [], warnings))
        newest = max(ids, default=mark)
        marks = {walk.stream: str(newest)} if newest is not None else {}
        follow = _next(request, walk, headers, newest, len(statuses), warnings)
        return Parsed(posts, follow, warnings, marks=marks)


def _search_page(request: Request, walk: Walk, ids: list[int], count: int, page: Parsed) -> Parsed:
    """Search results come newest first whatever ``min_id`` means to the instance's search
    backend, so a search walk keeps ``min_id`` = the mark, pages by ``offset`` until a page
    is not full, and commits the newest id only then (like the newest-first kinds)."""
    seen = [v for v in (as_int(walk.newest), *ids) if v is not None]
    newest = str(max(seen)) if seen else walk.mark
    first = str(ids[0]) if ids else None
    if walk.page > 1 and first is not None and first == walk.oldest:
        page.warnings.append("a page repeats the one before: paging stopped")
        count = 0
    full = walk.mark is not None and count >= PAGE_SIZE
    if full and walk.page >= MAX_PAGES:
        page.warnings.append(f"more than {MAX_PAGES} pages of new statuses; the oldest skipped")
    elif full:
        after = Walk(walk.stream, walk.mark, newest, first, walk.page + 1)
        url = _with_offset(request.url, walk.page * PAGE_SIZE)
        page.follow = [Request(url, "page", cursor=after.encode())]
        return page
    page.marks = {walk.stream: newest} if newest else {}
    return page


def _with_offset(url: str, offset: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "offset"]
    return parts._replace(query=urlencode([*query, ("offset", str(offset))])).geturl()


def _identified(status: object) -> tuple[int | None, dict[str, Any]]:
    data = as_dict(status)
    return as_int(data.get("id")), data


def _skipped(unusable: int, repeats: int) -> list[str]:
    warnings = [f"{repeats} statuses at or before the mark skipped"] if repeats else []
    if unusable - repeats > 0:
        warnings.append(f"{unusable - repeats} statuses without an id or a URL skipped")
    return warnings


def _next(
    request: Request,
    walk: Walk,
    headers: Mapping[str, str],
    newest: int | None,
    count: int,
    warnings: list[str],
) -> list[Request]:
    """The page after this one: only when resuming from a mark (the first walk just sets
    one), when this page was full, and never backwards (a loop) or to another origin."""
    if walk.mark is None or newest is None or count < PAGE_SIZE:
        return []
    if walk.page >= MAX_PAGES:
        warnings.append(f"more than {MAX_PAGES} pages of new statuses; the rest next pass")
        return []
    url = _prev_link(headers.get("link", ""), request.url) or _with_min_id(request.url, newest)
    asked = as_int(dict(parse_qsl(urlsplit(url).query)).get("min_id"))
    if asked is None or asked <= (as_int(walk.mark) or 0):
        warnings.append("the next page would not move forward: paging stopped")
        return []
    after = Walk(walk.stream, str(newest), page=walk.page + 1)
    return [Request(url, "page", cursor=after.encode())]


def _prev_link(header: str, current: str) -> str | None:
    """The ``rel="prev"`` URL of a Link header, if it is on the same origin."""
    for url, rel in _LINK.findall(header):
        if rel == "prev" and _origin(url) == _origin(current):
            return url
    return None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return (parts.scheme, parts.netloc.lower())


def _with_min_id(url: str, newest: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("min_id", "max_id", "since_id")]
    return parts._replace(query=urlencode([*query, ("min_id", str(newest))])).geturl()


def _post(status: dict[str, Any]) -> RawPost | None:
    shown = as_dict(status.get("reblog")) or status  # a boost: the boosted status is the post
    url = as_text(shown.get("url")) or as_text(shown.get("uri"))
    if url is None or not url.startswith(("https://", "http://")):
        return None
    return RawPost(
        url=url,
        text=html_to_text(str(shown.get("content") or "")),
        title=as_text(shown.get("spoiler_text")),  # a content warning reads like a subject
        author=as_text(as_dict(shown.get("account")).get("acct")),
        published_at=from_iso(shown.get("created_at")),
        updated_at=from_iso(shown.get("edited_at")),
        external_id=as_text(shown.get("uri")) or as_text(shown.get("id")),
        thread_url=url,
        lang_hint=as_text(shown.get("language")),
    )
