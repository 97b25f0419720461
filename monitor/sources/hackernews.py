"""Hacker News stories and comments matching the source's terms, through the HN Search API
by Algolia (``GET {url}/search_by_date``; no key; documented at hn.algolia.com/api).

Each term is a stream. Its mark is the newest ``created_at_i`` (Unix seconds) of the last
completed walk; the next walk asks ``numericFilters=created_at_i>MARK-OVERLAP``, newest
first, page by page (``page`` from 0 to ``nbPages``). The overlap re-reads a few minutes
because the index lags the site: a post created before the mark but indexed after it
would otherwise be missed; the ones read twice are recognised in the store by their URL.
The first walk of a term reads the last day.

A story is a post in its own thread; a comment is a post in its story's thread whose
parent is ``parent_id``. URLs are the site's own (``news.ycombinator.com/item?id=N``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from monitor.parse.text import from_timestamp, html_to_text
from monitor.sources.api import (
    MAX_PAGES,
    ApiBase,
    Walk,
    as_dict,
    as_int,
    as_text,
    load_json,
)
from monitor.sources.base import Parsed, RawPost, Request

if TYPE_CHECKING:  # only an annotation: keeps pydantic out of the parse workers
    from monitor.settings import SourceSettings

ITEM_URL = "https://news.ycombinator.com/item?id="
OVERLAP_S = 600  # the index lags the site by up to a few minutes
FIRST_LOOKBACK_S = 24 * 3600
HITS_PER_PAGE = 100


class HackerNewsAdapter(ApiBase):
    kind: ClassVar[str] = "hackernews"
    keyless: ClassVar[bool] = True

    def resume(
        self, source: SourceSettings, marks: Mapping[str, str], now: datetime
    ) -> list[Request]:
        base = source.url.rstrip("/")
        requests = []
        for term in source.terms:
            stream = f"q:{term}"
            mark = as_int(marks.get(stream))
            first = int(now.timestamp()) - FIRST_LOOKBACK_S
            since = mark - OVERLAP_S if mark is not None else first
            query = {
                "query": term,
                "tags": "(story,comment)",
                "numericFilters": f"created_at_i>{since}",
                "hitsPerPage": HITS_PER_PAGE,
                "page": 0,
            }
            walk = Walk(stream, None if mark is None else str(mark), page=0)
            url = f"{base}/search_by_date?{urlencode(query)}"
            requests.append(Request(url, "index", cursor=walk.encode()))
        return requests

    def parse(self, request: Request, body: bytes, headers: Mapping[str, str]) -> Parsed:
        doc = as_dict(load_json(body))
        hits = doc.get("hits")
        if not isinstance(hits, list):
            return Parsed(warnings=["not an HN search answer (no hits list)"], failed=True)
        walk = Walk.decode(request)
        usable = [h for h in hits if isinstance(h, dict) and _created(h) is not None]
        posts = [p for p in (_post(h) for h in usable) if p is not None]
        times = [t for t in (_created(h) for h in usable) if t is not None]
        warnings = _skipped(len(hits) - len(posts))
        loop = _loop(walk, doc, times)
        if loop:
            return Parsed(posts, [], [*warnings, loop], marks=_marks(walk, times))
        nb_pages = as_int(doc.get("nbPages")) or 0
        if walk.page + 1 >= nb_pages or not hits:
            return Parsed(posts, [], warnings, marks=_marks(walk, times))
        if walk.page + 1 >= MAX_PAGES:
            warnings.append(f"more than {MAX_PAGES} pages of new posts; the oldest skipped")
            return Parsed(posts, [], warnings, marks=_marks(walk, times))
        return Parsed(posts, [_next_page(request, walk, times)], warnings)


def _created(hit: dict[str, Any]) -> int | None:
    return as_int(hit.get("created_at_i"))


def _loop(walk: Walk, doc: dict[str, Any], times: list[int]) -> str | None:
    """A page other than the one asked for, or one with posts newer than the previous
    page's oldest, means the paging went round: stop."""
    page = as_int(doc.get("page"))
    if page is not None and page != walk.page:
        return f"asked for page {walk.page}, got page {page}: paging stopped"
    oldest = as_int(walk.oldest)
    if oldest is not None and times and max(times) > oldest:
        return f"page {walk.page} repeats newer posts than the page before: paging stopped"
    return None


def _marks(walk: Walk, times: list[int]) -> dict[str, str]:
    seen = [t for t in (as_int(walk.newest), as_int(walk.mark), *times) if t is not None]
    return {walk.stream: str(max(seen))} if seen else {}


def _next_page(request: Request, walk: Walk, times: list[int]) -> Request:
    newest = _marks(walk, times).get(walk.stream)
    oldest = min([*times, *([int(walk.oldest)] if walk.oldest else [])], default=None)
    low = None if oldest is None else str(oldest)
    after = Walk(walk.stream, walk.mark, newest, low, walk.page + 1)
    parts = urlsplit(request.url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "page"]
    url = urlunsplit(parts._replace(query=urlencode([*query, ("page", str(walk.page + 1))])))
    return Request(url, "page", cursor=after.encode())


def _skipped(count: int) -> list[str]:
    return [f"{count} hits without an id or a time skipped"] if count else []


def _post(hit: dict[str, Any]) -> RawPost | None:
    item = as_text(hit.get("objectID"))
    if item is None:
        return None
    raw_tags = hit.get("_tags")
    tags = raw_tags if isinstance(raw_tags, list) else []
    url = ITEM_URL + item
    if "comment" in tags or hit.get("comment_text"):
        return _comment(hit, url)
    title = as_text(hit.get("title")) or as_text(hit.get("story_title"))
    text = html_to_text(str(hit.get("story_text") or "")) or as_text(hit.get("url")) or ""
    return RawPost(
        url=url,
        text=text,
        title=title,
        author=as_text(hit.get("author")),
        published_at=from_timestamp(_created(hit)),
        external_id=item,
        thread_url=url,
    )


def _comment(hit: dict[str, Any], url: str) -> RawPost:
    story = as_text(hit.get("story_id"))
    parent = as_text(hit.get("parent_id"))
    thread = ITEM_URL + story if story else url
    return RawPost(
        url=url,
        text=html_to_text(str(hit.get("comment_text") or "")),
        author=as_text(hit.get("author")),
        published_at=from_timestamp(_created(hit)),
        external_id=as_text(hit.get("objectID")),
        thread_url=thread,
        parent_url=ITEM_URL + parent if parent else thread,
    )
