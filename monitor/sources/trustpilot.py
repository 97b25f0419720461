"""Trustpilot reviews of one business unit, through Trustpilot's Business Units API:
``GET {url}/v1/business-units/{business_unit}/reviews?orderBy=createdat.desc&perPage=100``
with the API key in the ``apikey`` header (a Secret: never in a URL, log or error).

One stream per source; its mark is the newest ``createdAt`` of the last completed walk.
A walk reads pages from 1 (newest first) until it meets a review created before the mark
or the last page (no ``next-page`` link); reviews created at the mark itself are read again
and recognised by their URL in the store. The stars are kept (``RawPost.rating``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from monitor.parse.text import from_iso
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

REVIEW_URL = "https://www.trustpilot.com/reviews/"
PAGE_SIZE = 100  # the documented maximum
STREAM = "reviews"


class TrustpilotAdapter(ApiBase):
    kind: ClassVar[str] = "trustpilot"

    def resume(
        self, source: SourceSettings, marks: Mapping[str, str], now: datetime
    ) -> list[Request]:
        assert source.business_unit is not None  # settings validation: trustpilot needs it
        unit = quote(source.business_unit, safe="")
        query = {"orderBy": "createdat.desc", "perPage": PAGE_SIZE, "page": 1}
        url = f"{source.url.rstrip('/')}/v1/business-units/{unit}/reviews?{urlencode(query)}"
        return [Request(url, "index", cursor=Walk(STREAM, marks.get(STREAM)).encode())]

    async def sign(self, source: SourceSettings, fetcher: Fetcher, now: datetime) -> dict[str, str]:
        assert source.api_key is not None  # settings validation: trustpilot needs it
        return {**JSON_HEADERS, "apikey": source.api_key.reveal()}

    def parse(self, request: Request, body: bytes, headers: Mapping[str, str]) -> Parsed:
        doc = as_dict(load_json(body))
        found = doc.get("reviews")
        if not isinstance(found, list):
            return Parsed(
                warnings=["not a Trustpilot reviews answer (no reviews list)"], failed=True
            )
        walk = Walk.decode(request)
        dated = [(at, r) for at, r in ((_created(r), as_dict(r)) for r in found) if at is not None]
        skipped = len(found) - len(dated)
        warnings = [f"{skipped} reviews without an id or a date skipped"] if skipped else []
        return _page(request, walk, doc, dated, warnings)


def _page(
    request: Request,
    walk: Walk,
    doc: dict[str, Any],
    dated: list[tuple[datetime, dict[str, Any]]],
    warnings: list[str],
) -> Parsed:
    mark, oldest = from_iso(walk.mark), from_iso(walk.oldest)
    if oldest is not None and any(at > oldest for at, _ in dated):
        warnings.append("a page repeats newer reviews: paging stopped")
        return _end(walk, [], warnings)
    fresh = [_post(r) for at, r in dated if mark is None or at >= mark]
    posts = [p for p in fresh if p is not None]
    times = [at for at, _ in dated]
    newest = max([*times, *[t for t in (from_iso(walk.newest),) if t is not None]], default=None)
    seen = Walk(
        walk.stream, walk.mark, _iso(newest), _iso(min(times, default=oldest)), walk.page + 1
    )
    reached = mark is not None and any(at < mark for at in times)
    following = None if reached or not dated else _next_page(request, doc, walk)
    if following is None:
        return _end(seen, posts, warnings)
    if walk.page >= MAX_PAGES:
        warnings.append(f"more than {MAX_PAGES} pages of new reviews; the oldest skipped")
        return _end(seen, posts, warnings)
    return Parsed(posts, [Request(following, "page", cursor=seen.encode())], warnings)


def _next_page(request: Request, doc: dict[str, Any], walk: Walk) -> str | None:
    """The ``next-page`` link when it moves forward on the same origin; else page + 1 if
    the link is there but unusable; None when there is no next page."""
    links = doc.get("links")
    hrefs = [
        as_text(as_dict(link).get("href"))
        for link in (links if isinstance(links, list) else [])
        if as_dict(link).get("rel") == "next-page"
    ]
    if not hrefs or hrefs[0] is None:
        return None
    target = urlsplit(hrefs[0])
    here = urlsplit(request.url)
    page = as_int(dict(parse_qsl(target.query)).get("page"))
    if (target.scheme, target.netloc) == (here.scheme, here.netloc) and page == walk.page + 1:
        return hrefs[0]
    query = [(k, v) for k, v in parse_qsl(here.query) if k != "page"]
    return here._replace(query=urlencode([*query, ("page", str(walk.page + 1))])).geturl()


def _end(walk: Walk, posts: list[RawPost], warnings: list[str]) -> Parsed:
    newest = walk.newest or walk.mark
    return Parsed(posts, [], warnings, marks={walk.stream: newest} if newest else {})


def _created(review: object) -> datetime | None:
    data = as_dict(review)
    return from_iso(data.get("createdAt")) if as_text(data.get("id")) else None


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _post(review: dict[str, Any]) -> RawPost | None:
    rid = as_text(review.get("id"))
    if rid is None:
        return None
    stars = as_int(review.get("stars"))
    return RawPost(
        url=REVIEW_URL + quote(rid, safe=""),
        text=as_text(review.get("text")) or "",
        title=as_text(review.get("title")),
        author=as_text(as_dict(review.get("consumer")).get("displayName")),
        published_at=from_iso(review.get("createdAt")),
        updated_at=from_iso(review.get("updatedAt")),
        external_id=rid,
        thread_url=REVIEW_URL + quote(rid, safe=""),
        lang_hint=as_text(review.get("language")),
        rating=stars if stars is not None and 1 <= stars <= 5 else None,
    )
