"""App Store reviews of one app, per country, from Apple's public customer-reviews feed:
``GET {url}/{country}/rss/customerreviews/page={n}/id={app_id}/sortby=mostrecent/json``
(no key; 50 reviews a page, pages 1 to 10, newest first).

Each country is a stream; its mark is the highest review id of the last completed walk.
A walk reads pages from 1 until it meets a review at or below the mark (or the last page),
keeps only the newer ones, and commits the highest id it saw. The stars are kept
(``RawPost.rating``); the country is a language hint (dk -> da, se -> sv, ...).

The feed is JSON translated from Atom, with its quirks: every value is wrapped in
``{"label": ...}``, a page with one review has ``entry`` as an object instead of a list,
and a page past the last has no ``entry`` at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from monitor.parse.text import from_iso
from monitor.sources.api import MAX_PAGES, ApiBase, Walk, as_dict, as_int, as_text, load_json
from monitor.sources.base import Parsed, RawPost, Request

if TYPE_CHECKING:  # only an annotation: keeps pydantic out of the parse workers
    from monitor.settings import SourceSettings

REVIEW_URL = "https://apps.apple.com/{country}/app/id{app}?reviewId={review}"
_FEED = re.compile(
    r"/(?P<country>[a-z]{2})/rss/customerreviews/page=(?P<page>\d+)/id=(?P<app>\d+)/"
)
_PAGE = re.compile(r"/page=(\d+)/")
_LANGUAGES = {"dk": "da", "se": "sv", "no": "nb", "fi": "fi", "de": "de", "at": "de",
              "ch": "de", "gb": "en", "us": "en", "ie": "en", "au": "en", "ca": "en"}  # fmt: skip


class AppStoreAdapter(ApiBase):
    kind: ClassVar[str] = "appstore"
    keyless: ClassVar[bool] = True

    def resume(
        self, source: SourceSettings, marks: Mapping[str, str], now: datetime
    ) -> list[Request]:
        assert source.app_id is not None  # settings validation: appstore needs app_id
        return [
            Request(
                feed_url(source.url, country, source.app_id, 1),
                "index",
                cursor=Walk(f"cc:{country}", marks.get(f"cc:{country}")).encode(),
            )
            for country in source.countries
        ]

    def parse(self, request: Request, body: bytes, headers: Mapping[str, str]) -> Parsed:
        feed = as_dict(as_dict(load_json(body)).get("feed"))
        if not feed:
            return Parsed(warnings=["not an App Store reviews feed (no feed object)"], failed=True)
        where = _FEED.search(request.url)
        if where is None:
            return Parsed(warnings=["not an App Store reviews feed URL"], failed=True)
        walk = Walk.decode(request)
        reviews = [r for r in (_review(e) for e in _entries(feed)) if r is not None]
        return _page(request, walk, where, feed, reviews)


def feed_url(base: str, country: str, app_id: str, page: int) -> str:
    root = base.rstrip("/")
    return f"{root}/{country}/rss/customerreviews/page={page}/id={app_id}/sortby=mostrecent/json"


def _page(
    request: Request,
    walk: Walk,
    where: re.Match[str],
    feed: dict[str, Any],
    reviews: list[tuple[int, dict[str, Any]]],
) -> Parsed:
    """The posts newer than the mark, and the next page or the end of the walk."""
    mark, oldest, before = as_int(walk.mark), as_int(walk.oldest), as_int(walk.newest)
    if oldest is not None and any(rid >= oldest for rid, _ in reviews):
        unseen = [(rid, e) for rid, e in reviews if rid < oldest]
        return _end(walk, _fresh(unseen, mark, where), ["a page repeats reviews: paging stopped"])
    fresh = _fresh(reviews, mark, where)
    last = min(_last_page(feed), MAX_PAGES)
    done = len(fresh) < len(reviews) or not reviews or walk.page >= last
    ids = [rid for rid, _ in reviews]
    newest = max([*ids, *([before] if before is not None else [])], default=None)
    seen = Walk(walk.stream, walk.mark, _str(newest), _str(min(ids, default=oldest)), walk.page + 1)
    if done:
        return _end(seen, fresh, [])
    country, app = where.group("country"), where.group("app")
    url = feed_url(request.url[: where.start()], country, app, walk.page + 1)
    return Parsed(fresh, [Request(url, "page", cursor=seen.encode())])


def _fresh(
    reviews: list[tuple[int, dict[str, Any]]], mark: int | None, where: re.Match[str]
) -> list[RawPost]:
    country, app = where.group("country"), where.group("app")
    return [_post(rid, entry, country, app) for rid, entry in reviews if mark is None or rid > mark]


def _end(walk: Walk, posts: list[RawPost], warnings: list[str]) -> Parsed:
    newest = as_int(walk.newest) or as_int(walk.mark)
    marks = {walk.stream: str(newest)} if newest is not None else {}
    return Parsed(posts, [], warnings, marks=marks)


def _str(value: int | None) -> str | None:
    return None if value is None else str(value)


def _entries(feed: dict[str, Any]) -> list[Any]:
    entry = feed.get("entry")
    if isinstance(entry, dict):
        return [entry]  # one review: Atom-to-JSON gives an object, not a list
    return entry if isinstance(entry, list) else []


def _last_page(feed: dict[str, Any]) -> int:
    links = feed.get("link")
    for link in links if isinstance(links, list) else []:
        attributes = as_dict(as_dict(link).get("attributes"))
        if attributes.get("rel") == "last":
            found = _PAGE.search(str(attributes.get("href") or ""))
            if found:
                return int(found.group(1))
    return MAX_PAGES


def _label(entry: dict[str, Any], key: str) -> str | None:
    return as_text(as_dict(entry.get(key)).get("label"))


def _review(entry: object) -> tuple[int, dict[str, Any]] | None:
    data = as_dict(entry)
    rid = as_int(_label(data, "id"))
    return (rid, data) if rid is not None and "im:rating" in data else None


def _post(rid: int, entry: dict[str, Any], country: str, app: str) -> RawPost:
    rating = as_int(_label(entry, "im:rating"))
    return RawPost(
        url=REVIEW_URL.format(country=country, app=app, review=rid),
        text=_label(entry, "content") or "",
        title=_label(entry, "title"),
        author=as_text(as_dict(as_dict(entry.get("author")).get("name")).get("label")),
        published_at=from_iso(_label(entry, "updated")),
        external_id=str(rid),
        thread_url=REVIEW_URL.format(country=country, app=app, review=rid),
        lang_hint=_LANGUAGES.get(country),
        rating=rating if rating is not None and 1 <= rating <= 5 else None,
    )
