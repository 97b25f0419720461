"""Google Play reviews of the company's own app (``package_name``), through the Google Play
Developer API ``reviews.list`` (``GET {url}/applications/{package}/reviews``; ``url`` is
``https://androidpublisher.googleapis.com/androidpublisher/v3``).

**Credential.** The API wants an OAuth 2.0 access token with the ``androidpublisher``
scope, normally obtained by a service account's signed JWT grant (RS256). No RSA library
is installed with Stormwatch, so this kind takes the *access token* from the source's
``token`` (a Secret, sent as ``Authorization: Bearer``): mint it outside (e.g. with
``gcloud auth print-access-token`` for the service account) and renew it before it expires
(an hour); an expired one reads as "access refused" in source health.

The API returns only reviews with text created or changed in the last week, the most
recently changed first, paged by ``tokenPagination.nextPageToken`` (``token=``). One
stream; its mark is the newest ``lastModified`` of the last completed walk; a walk stops
at the first review changed before the mark. A review edited after the mark comes back at
the top and is stored as an edit (same URL). The stars are kept (``RawPost.rating``); the
developer's reply is a comment under its review (its URL: the review's plus
``&reply=developer``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from monitor.parse.text import from_timestamp
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

REVIEW_URL = "https://play.google.com/store/apps/details?id={package}&reviewId={review}"
PAGE_SIZE = 100
STREAM = "reviews"


class GooglePlayAdapter(ApiBase):
    kind: ClassVar[str] = "google_play"
    refused: ClassVar[str] = (
        "the access token is expired or refused (renew it; the service account needs the "
        "androidpublisher scope and Play Console's reply-to-reviews permission)"
    )

    def resume(
        self, source: SourceSettings, marks: Mapping[str, str], now: datetime
    ) -> list[Request]:
        assert source.package_name is not None  # settings validation: google_play needs it
        package = quote(source.package_name, safe="")
        query = urlencode({"maxResults": str(PAGE_SIZE)})
        url = f"{source.url.rstrip('/')}/applications/{package}/reviews?{query}"
        return [Request(url, "index", cursor=Walk(STREAM, marks.get(STREAM)).encode())]

    async def sign(self, source: SourceSettings, fetcher: Fetcher, now: datetime) -> dict[str, str]:
        assert source.token is not None  # settings validation: google_play needs it
        return {**JSON_HEADERS, "Authorization": f"Bearer {source.token.reveal()}"}

    def parse(self, request: Request, body: bytes, headers: Mapping[str, str]) -> Parsed:
        loaded = load_json(body)
        doc = as_dict(loaded)
        found = doc.get("reviews", [])  # no reviews in the last week: the key is absent
        if not isinstance(loaded, dict) or not isinstance(found, list):
            return Parsed(warnings=["not a Google Play reviews answer"], failed=True)
        package = _package(request.url)
        dated = [(at, r) for at, r in ((_changed(r), as_dict(r)) for r in found) if at is not None]
        skipped = len(found) - len(dated)
        warnings = [f"{skipped} reviews without an id or a date skipped"] if skipped else []
        return _page(request, Walk.decode(request), doc, dated, package, warnings)


def _page(
    request: Request,
    walk: Walk,
    doc: dict[str, Any],
    dated: list[tuple[int, dict[str, Any]]],
    package: str,
    warnings: list[str],
) -> Parsed:
    mark, oldest = as_int(walk.mark), as_int(walk.oldest)
    if oldest is not None and any(at > oldest for at, _ in dated):
        warnings.append("a page repeats newer reviews: paging stopped")
        return _end(walk, [], warnings)
    fresh = [r for at, r in dated if mark is None or at >= mark]
    posts = [p for r in fresh for p in _posts(r, package)]
    times = [at for at, _ in dated]
    newest = max([*times, *[v for v in (as_int(walk.newest),) if v is not None]], default=None)
    seen = Walk(walk.stream, walk.mark, _str(newest), _str(min(times, default=oldest)),
                walk.page + 1)  # fmt: skip
    token = as_text(as_dict(doc.get("tokenPagination")).get("nextPageToken"))
    if token is None or len(fresh) < len(dated) or not dated:
        return _end(seen, posts, warnings)
    if token == dict(parse_qsl(urlsplit(request.url).query)).get("token"):
        warnings.append("the page token repeats: paging stopped")
        return _end(seen, posts, warnings)
    if walk.page >= MAX_PAGES:
        warnings.append(f"more than {MAX_PAGES} pages of new reviews; the oldest skipped")
        return _end(seen, posts, warnings)
    parts = urlsplit(request.url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "token"]
    url = parts._replace(query=urlencode([*query, ("token", token)])).geturl()
    return Parsed(posts, [Request(url, "page", cursor=seen.encode())], warnings)


def _end(walk: Walk, posts: list[RawPost], warnings: list[str]) -> Parsed:
    newest = walk.newest or walk.mark
    return Parsed(posts, [], warnings, marks={walk.stream: newest} if newest else {})


def _str(value: int | None) -> str | None:
    return None if value is None else str(value)


def _package(url: str) -> str:
    parts = urlsplit(url).path.split("/")
    return parts[parts.index("applications") + 1] if "applications" in parts[:-1] else ""


def _comment(review: object, key: str) -> dict[str, Any]:
    comments = as_dict(review).get("comments")
    found = [as_dict(as_dict(c).get(key)) for c in (comments if isinstance(comments, list) else [])]
    return next((c for c in found if c), {})


def _seconds(stamp: object) -> int | None:
    return as_int(as_dict(stamp).get("seconds"))


def _changed(review: object) -> int | None:
    """When the user's comment last changed (Unix seconds), if the review has an id."""
    if as_text(as_dict(review).get("reviewId")) is None:
        return None
    return _seconds(_comment(review, "userComment").get("lastModified"))


def _posts(review: dict[str, Any], package: str) -> list[RawPost]:
    rid = as_text(review.get("reviewId")) or ""
    url = REVIEW_URL.format(package=package, review=quote(rid, safe=""))
    user = _comment(review, "userComment")
    stars = as_int(user.get("starRating"))
    language = (as_text(user.get("reviewerLanguage")) or "").replace("-", "_").split("_")[0]
    post = RawPost(
        url=url,
        text=(as_text(user.get("text")) or "").strip(),
        author=as_text(review.get("authorName")),
        published_at=from_timestamp(_seconds(user.get("lastModified"))),
        external_id=rid,
        thread_url=url,
        lang_hint=language.lower() or None,
        rating=stars if stars is not None and 1 <= stars <= 5 else None,
    )
    reply = _comment(review, "developerComment")
    text = as_text(reply.get("text"))
    if text is None:
        return [post]
    answer = RawPost(
        url=f"{url}&reply=developer",  # a fragment would be canonicalised away
        text=text,
        author="developer",
        published_at=from_timestamp(_seconds(reply.get("lastModified"))),
        thread_url=url,
        parent_url=url,
    )
    return [post, answer]
