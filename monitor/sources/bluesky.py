"""Bluesky posts matching the source's terms, through ``app.bsky.feed.searchPosts`` on the
account's PDS (``url``, e.g. ``https://bsky.social``, which proxies it to the AppView), with
a session from an app password (``identifier`` + ``app_password``): Bluesky's public
mirror refuses unauthenticated search, and cursor paging needs the session.

**Session.** ``com.atproto.server.createSession`` (POST, identifier and password) gives an
access token (a JWT, ~2 h) and a refresh token. The session is kept in memory per source
and reused: createSession is limited per handle (30 per 5 min, 300 a day). Before the
access token's ``exp`` it is renewed with ``com.atproto.server.refreshSession``; when the
platform refuses it anyway (400 ExpiredToken, 401) the crawler asks ``renew`` and retries
once with a refreshed session, and a refused refresh falls back to a new login. Tokens and
the password are Secrets or stay in this object: never in a URL, a log or an error.

**Marks.** Each term is a stream; its mark is the newest ``indexedAt`` of the last
completed walk. A walk asks ``sort=latest&since=MARK-OVERLAP`` and follows ``cursor``
(newest first) to the end; the overlap covers posts indexed late, and those read twice are
recognised by their URL in the store. The first walk of a term reads the last day.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit

from monitor.errors import FetchError
from monitor.parse.text import from_iso
from monitor.sources.api import (
    JSON_HEADERS,
    MAX_PAGES,
    ApiBase,
    Walk,
    as_dict,
    as_text,
    load_json,
)
from monitor.sources.base import Parsed, RawPost, Request

if TYPE_CHECKING:  # only annotations: keep pydantic and httpx out of the parse workers
    from monitor.fetch import Fetcher
    from monitor.settings import SourceSettings

SEARCH = "/xrpc/app.bsky.feed.searchPosts"
CREATE_SESSION = "/xrpc/com.atproto.server.createSession"
REFRESH_SESSION = "/xrpc/com.atproto.server.refreshSession"
PAGE_SIZE = 100  # the documented maximum
OVERLAP = timedelta(minutes=10)
FIRST_LOOKBACK = timedelta(days=1)
RENEW_BEFORE = timedelta(minutes=2)  # refresh this long before the token says it expires
POST_URL = "https://bsky.app/profile/{did}/post/{rkey}"


@dataclass
class _Session:
    access: str
    refresh: str
    expires: datetime | None  # the access token's ``exp``; None if unreadable
    refused: bool = False  # the platform refused the access token: refresh before use


class BlueskyAdapter(ApiBase):
    kind: ClassVar[str] = "bluesky"

    def __init__(self) -> None:
        self._sessions: dict[tuple[str, str, str], _Session] = {}

    def resume(
        self, source: SourceSettings, marks: Mapping[str, str], now: datetime
    ) -> list[Request]:
        base = source.url.rstrip("/")
        requests = []
        for term in source.terms:
            stream = f"q:{term}"
            mark = from_iso(marks.get(stream))
            since = mark - OVERLAP if mark else now - FIRST_LOOKBACK
            query = {"q": term, "sort": "latest", "limit": PAGE_SIZE, "since": _iso(since)}
            walk = Walk(stream, _iso(mark) if mark else None)
            url = f"{base}{SEARCH}?{urlencode(query)}"
            requests.append(Request(url, "index", cursor=walk.encode()))
        return requests

    async def sign(self, source: SourceSettings, fetcher: Fetcher, now: datetime) -> dict[str, str]:
        key = _key(source)
        session = self._sessions.get(key)
        if session is not None and _expiring(session, now):
            session = await self._refresh(source, fetcher, session)
        if session is None:
            session = await _login(source, fetcher)
        self._sessions[key] = session
        return {**JSON_HEADERS, "Authorization": f"Bearer {session.access}"}

    def renew(self, source: SourceSettings, status: int | None) -> bool:
        """The platform refused the access token (400 ExpiredToken or 401): refresh it."""
        session = self._sessions.get(_key(source))
        if session is None or status not in (400, 401):
            return False
        session.refused = True  # the next ``sign`` refreshes it
        return True

    async def _refresh(
        self, source: SourceSettings, fetcher: Fetcher, session: _Session
    ) -> _Session | None:
        """A refreshed session, or None (log in again) if the refresh token is refused."""
        url = source.url.rstrip("/") + REFRESH_SESSION
        headers = {**JSON_HEADERS, "Authorization": f"Bearer {session.refresh}"}
        try:
            answer = await fetcher.post(url, b"", headers=headers)
        except FetchError as exc:
            if exc.kind == "http_status" and exc.status in (400, 401):
                self._sessions.pop(_key(source), None)
                return None
            raise
        return _session(answer.body, url)

    def parse(self, request: Request, body: bytes, headers: Mapping[str, str]) -> Parsed:
        doc = as_dict(load_json(body))
        found = doc.get("posts")
        if not isinstance(found, list):
            return Parsed(
                warnings=["not a Bluesky searchPosts answer (no posts list)"], failed=True
            )
        walk = Walk.decode(request)
        posts = [p for p in (_post(as_dict(v)) for v in found) if p is not None]
        skipped = len(found) - len(posts)
        warnings = [f"{skipped} posts without a uri or text skipped"] if skipped else []
        newest = _newest(walk, found)
        cursor = as_text(doc.get("cursor"))
        stop = _stop(request, walk, cursor, found)
        if stop is not None:
            warnings += [stop] if stop else []
            return Parsed(posts, [], warnings, marks={walk.stream: newest} if newest else {})
        after = Walk(walk.stream, walk.mark, newest, page=walk.page + 1)
        url = _with_cursor(request.url, cursor or "")
        return Parsed(posts, [Request(url, "page", cursor=after.encode())], warnings)


def _newest(walk: Walk, found: list[Any]) -> str | None:
    """The newest ``indexedAt`` of the walk so far (this page included), as the mark."""
    times = [from_iso(as_dict(v).get("indexedAt")) for v in found]
    known = [t for t in (*times, from_iso(walk.newest), from_iso(walk.mark)) if t is not None]
    return _iso(max(known)) if known else None


def _expiring(session: _Session, now: datetime) -> bool:
    if session.refused:
        return True
    return session.expires is not None and now >= session.expires - RENEW_BEFORE


def _stop(request: Request, walk: Walk, cursor: str | None, found: list[Any]) -> str | None:
    """Why the walk ends here ("" for the plain end of the results), or None to go on."""
    if not cursor or not found:
        return ""
    if cursor == dict(parse_qsl(urlsplit(request.url).query)).get("cursor"):
        return "the cursor repeats: paging stopped"
    if walk.page >= MAX_PAGES:
        return f"more than {MAX_PAGES} pages of new posts; the oldest skipped"
    return None


def _with_cursor(url: str, cursor: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "cursor"]
    return parts._replace(query=urlencode([*query, ("cursor", cursor)])).geturl()


def _key(source: SourceSettings) -> tuple[str, str, str]:
    return (source.name, source.url, source.identifier or "")


async def _login(source: SourceSettings, fetcher: Fetcher) -> _Session:
    assert source.app_password is not None  # settings validation: bluesky needs it
    url = source.url.rstrip("/") + CREATE_SESSION
    payload = {"identifier": source.identifier, "password": source.app_password.reveal()}
    headers = {**JSON_HEADERS, "Content-Type": "application/json"}
    answer = await fetcher.post(url, json.dumps(payload).encode(), headers=headers)
    return _session(answer.body, url)


def _session(body: bytes, url: str) -> _Session:
    doc = as_dict(load_json(body))
    access, refresh = as_text(doc.get("accessJwt")), as_text(doc.get("refreshJwt"))
    if access is None or refresh is None:
        raise FetchError("parse", f"{url}: the session answer has no tokens", url=url)
    return _Session(access, refresh, _expiry(access))


def _expiry(token: str) -> datetime | None:
    """The ``exp`` claim of a JWT (read, not verified: the server verifies it)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return datetime.fromtimestamp(float(claims["exp"]), UTC)
    except (IndexError, ValueError, KeyError, TypeError, OverflowError):
        return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _post(view: dict[str, Any]) -> RawPost | None:
    uri = as_text(view.get("uri"))
    record = as_dict(view.get("record"))
    text = as_text(record.get("text"))
    url = _web_url(uri)
    if url is None or text is None:
        return None
    reply = as_dict(record.get("reply"))
    root = _web_url(as_text(as_dict(reply.get("root")).get("uri")))
    parent = _web_url(as_text(as_dict(reply.get("parent")).get("uri")))
    langs = record.get("langs")
    return RawPost(
        url=url,
        text=text,
        author=as_text(as_dict(view.get("author")).get("handle")),
        published_at=from_iso(record.get("createdAt")),
        external_id=uri,
        thread_url=root or url,
        parent_url=parent,
        lang_hint=as_text(langs[0]) if isinstance(langs, list) and langs else None,
    )


def _web_url(uri: str | None) -> str | None:
    """``at://did:plc:x/app.bsky.feed.post/rkey`` -> its bsky.app URL (by DID: handles change)."""
    if not uri or not uri.startswith("at://"):
        return None
    parts = uri[len("at://") :].split("/")
    if len(parts) != 3 or parts[1] != "app.bsky.feed.post" or not parts[0] or not parts[2]:
        return None
    return POST_URL.format(did=parts[0], rkey=parts[2])
