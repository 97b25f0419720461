"""X posts matching the source's terms, through the X API v2 recent search
(``GET {url}/2/tweets/search/recent``; ``url`` is ``https://api.x.com``) with an app's
bearer token (``token``, sent as ``Authorization: Bearer``; a Secret, never in a URL).

Each term is a stream; its mark is the newest post id of the last completed walk (ids
grow with time). A walk asks ``since_id=MARK`` (the first walk: ``start_time`` a day
back), newest first, 100 a page, and follows ``meta.next_token`` until the last page; the
newest id seen (the first page's ``meta.newest_id``) is committed at the end, as X's
documentation describes for polling with ``since_id``. A token that repeats, or a page
with posts newer than the page before it, ends the walk.

Rate limits: ``x-rate-limit-limit/remaining/reset`` (Unix seconds) on every answer; a 429
waits for the reset, and a page that says none remain ends the walk there (the crawler
does both, persisted per host).

A post over 280 characters is read whole from ``note_tweet``. A post's URL is
``https://x.com/i/status/ID`` (stable when the author renames); its thread
is its ``conversation_id``, its parent the post it replies to.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit

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

SEARCH = "/2/tweets/search/recent"
POST_URL = "https://x.com/i/status/"
PAGE_SIZE = 100  # the documented maximum
FIRST_LOOKBACK = timedelta(days=1)
FIELDS = {
    "tweet.fields": "created_at,author_id,conversation_id,lang,referenced_tweets,note_tweet",
    "expansions": "author_id",
    "user.fields": "username",
}


class XAdapter(ApiBase):
    kind: ClassVar[str] = "x"

    def resume(
        self, source: SourceSettings, marks: Mapping[str, str], now: datetime
    ) -> list[Request]:
        base = source.url.rstrip("/")
        requests = []
        for term in source.terms:
            stream = f"q:{term}"
            mark = as_int(marks.get(stream))
            start = (now - FIRST_LOOKBACK).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            since = {"since_id": str(mark)} if mark is not None else {"start_time": start}
            query = {"query": term, "max_results": str(PAGE_SIZE), **since, **FIELDS}
            walk = Walk(stream, None if mark is None else str(mark))
            requests.append(Request(f"{base}{SEARCH}?{urlencode(query)}", "index",
                                    cursor=walk.encode()))  # fmt: skip
        return requests

    async def sign(self, source: SourceSettings, fetcher: Fetcher, now: datetime) -> dict[str, str]:
        assert source.token is not None  # settings validation: x needs it
        return {**JSON_HEADERS, "Authorization": f"Bearer {source.token.reveal()}"}

    def parse(self, request: Request, body: bytes, headers: Mapping[str, str]) -> Parsed:
        doc = as_dict(load_json(body))
        meta = doc.get("meta")
        found = doc.get("data", [])
        if not isinstance(meta, dict) or not isinstance(found, list):
            return Parsed(warnings=["not an X search answer (no meta, or data not a list)"],
                          failed=True)  # fmt: skip
        walk = Walk.decode(request)
        users = _usernames(doc)
        dated = [(pid, p) for pid, p in ((as_int(as_dict(p).get("id")), as_dict(p)) for p in found)
                 if pid is not None]  # fmt: skip
        posts = [post for post in (_post(p, users) for _, p in dated) if post is not None]
        warnings = _skipped(len(found) - len(posts))
        return _page(request, walk, as_dict(meta), [pid for pid, _ in dated], posts, warnings)


def _page(
    request: Request,
    walk: Walk,
    meta: dict[str, Any],
    ids: list[int],
    posts: list[RawPost],
    warnings: list[str],
) -> Parsed:
    oldest = as_int(walk.oldest)
    if oldest is not None and any(pid >= oldest for pid in ids):
        warnings.append("a page repeats newer posts: paging stopped")
        return _end(walk, [p for p in posts if _id(p) < oldest], warnings)
    token = as_text(meta.get("next_token"))
    seen = Walk(walk.stream, walk.mark, _newest(walk, ids), _str(min(ids, default=oldest)),
                walk.page + 1)  # fmt: skip
    if token is None or not ids:
        return _end(seen, posts, warnings)
    if token == dict(parse_qsl(urlsplit(request.url).query)).get("next_token"):
        warnings.append("the next_token repeats: paging stopped")
        return _end(seen, posts, warnings)
    if walk.page >= MAX_PAGES:
        warnings.append(f"more than {MAX_PAGES} pages of new posts; the oldest skipped")
        return _end(seen, posts, warnings)
    parts = urlsplit(request.url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "next_token"]
    url = parts._replace(query=urlencode([*query, ("next_token", token)])).geturl()
    return Parsed(posts, [Request(url, "page", cursor=seen.encode())], warnings)


def _end(walk: Walk, posts: list[RawPost], warnings: list[str]) -> Parsed:
    newest = _newest(walk, [])
    return Parsed(posts, [], warnings, marks={walk.stream: newest} if newest else {})


def _newest(walk: Walk, ids: list[int]) -> str | None:
    known = [v for v in (as_int(walk.newest), as_int(walk.mark), *ids) if v is not None]
    return str(max(known)) if known else None


def _id(post: RawPost) -> int:
    return as_int(post.external_id) or 0


def _str(value: int | None) -> str | None:
    return None if value is None else str(value)


def _skipped(count: int) -> list[str]:
    return [f"{count} posts without an id or text skipped"] if count else []


def _usernames(doc: dict[str, Any]) -> dict[str, str]:
    users = as_dict(doc.get("includes")).get("users")
    pairs = [(as_text(as_dict(u).get("id")), as_text(as_dict(u).get("username")))
             for u in (users if isinstance(users, list) else [])]  # fmt: skip
    return {uid: name for uid, name in pairs if uid and name}


def _post(post: dict[str, Any], users: dict[str, str]) -> RawPost | None:
    pid = as_text(post.get("id"))
    # a post over 280 characters comes whole in note_tweet, cut short in text
    text = as_text(as_dict(post.get("note_tweet")).get("text")) or as_text(post.get("text"))
    if pid is None or text is None:
        return None
    conversation = as_text(post.get("conversation_id")) or pid
    refs = post.get("referenced_tweets")
    replied = [as_text(as_dict(r).get("id")) for r in (refs if isinstance(refs, list) else [])
               if as_dict(r).get("type") == "replied_to"]  # fmt: skip
    author, lang = as_text(post.get("author_id")), as_text(post.get("lang"))
    return RawPost(
        url=POST_URL + pid,
        text=text,
        author=users.get(author or "", author),
        published_at=from_iso(post.get("created_at")),
        external_id=pid,
        thread_url=POST_URL + conversation,
        parent_url=POST_URL + replied[0] if replied and replied[0] else None,
        lang_hint=None if lang in ("und", "zxx", "qme", "qht") else lang,
    )
