"""Fake platform APIs on 127.0.0.1 for the API source kinds, written from each platform's
public documentation: the same paths, parameters, JSON shapes, pagination, error bodies
and rate-limit headers. Nothing here is the real platform; it is what the docs promise.

``FakePlatform`` is a real HTTP/1.1 server in a thread that answers GET and POST through
*handlers* (``Call`` in, ``Reply`` out), records every call (method, path, query, headers,
body), and can be told to answer the next calls to a path with a fault (``fail``): a
401, a 429 with rate-limit headers, a 500, malformed JSON. Each platform section below
builds the handlers from a list of items, so a test states the data and the fake pages
it as the platform would.

It also holds the small crawl harness the ``test_sources_<kind>.py`` files share: one pass
of the real crawler (real fetcher, gate, reader and SQLite store) over given sources.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from sqlalchemy.engine import Engine

from monitor.fetch import Fetcher
from monitor.pipeline import fetch_policy
from monitor.settings import Settings, parse_settings
from monitor.stages.crawl import Crawler, CrawlReport
from monitor.stages.read import Matchers, ProcessReader, ThreadReader, read_config
from monitor.storage import repo
from monitor.storage.db import session_scope

BRANDS = [{"name": "Nordtel", "aliases": ["#nordtel"]}, {"name": "Teleborg"}]


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[[Call], Reply]


def json_reply(doc: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(
        status, json.dumps(doc).encode(), {"Content-Type": "application/json", **(headers or {})}
    )


class FakePlatform:
    """A running fake: ``url(path)``, ``routes[(method, path)] = handler``, ``calls``."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.fallback: Handler | None = None  # for paths with ids in them
        self.calls: list[Call] = []
        self._faults: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def fail(self, path: str, reply: Reply, times: int = 1) -> None:
        """Answer the next ``times`` calls to ``path`` with ``reply``."""
        with self._lock:
            self._faults.setdefault(path, []).extend([reply] * times)

    def calls_to(self, path: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.path == path]

    def answer(self, call: Call) -> Reply:
        with self._lock:
            self.calls.append(call)
            faults = self._faults.get(call.path)
            if faults:
                return faults.pop(0)
        handler = self.routes.get((call.method, call.path)) or self.fallback
        if handler is None:
            return json_reply({"error": "NotFound", "message": "no such route"}, 404)
        return handler(call)


def _make_handler(platform: FakePlatform) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            call = Call(method, parts.path, parse_qs(parts.query), headers, body)
            reply = platform.answer(call)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # tests read ``platform.calls``

    return _Handler


@contextmanager
def running() -> Iterator[FakePlatform]:
    platform = FakePlatform()
    thread = threading.Thread(target=platform._httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield platform
    finally:
        platform._httpd.shutdown()
        platform._httpd.server_close()
        thread.join(5)


# ---------------------------------------------------------------- the crawl harness


def make_settings(db_url: str, sources: list[dict[str, Any]]) -> Settings:
    return parse_settings(
        {
            "database": {"url": db_url},
            "network": {"allowed_hosts": ["127.0.0.1"], "min_host_interval": 0.0, "deadline": 5.0},
            "crawl": {"backoff_base": 60, "parse_processes": 0, "languages": ["da", "en"]},
            "brands": BRANDS,
            "sources": sources,
        }
    )


def crawl_once(
    settings: Settings, engine: Engine, matchers: Matchers, now: datetime, processes: int = 0
) -> list[CrawlReport]:
    """One pass of the real crawler over every configured source, due or not; parsing in
    a thread, or in ``processes`` spawned workers as the daemon's default does."""

    async def go() -> list[CrawlReport]:
        fetcher = Fetcher(fetch_policy(settings.network), now=lambda: now)
        config = read_config(settings)
        reader = ProcessReader(config, processes) if processes else ThreadReader(config, matchers)
        crawler = Crawler(settings, engine, fetcher, reader, rand=lambda: 0.5)
        try:
            return await crawler.crawl([s.name for s in settings.sources], now)
        finally:
            await fetcher.aclose()
            reader.close()

    return asyncio.run(go())


def stored(engine: Engine) -> dict[str, dict[str, Any]]:
    """Stored posts by canonical URL, as plain dicts."""
    with session_scope(engine) as session:
        posts = repo.list_posts(session, limit=10_000)
        return {p.canonical_url: p.model_dump() for p in posts}


def source_row(engine: Engine, name: str) -> Any:
    with session_scope(engine) as session:
        row = repo.source_by_name(session, name)
        assert row is not None
        session.expunge(row)
        return row


def places_showing(
    secret: str, engine: Engine, row: Any, report: Any, settings: Settings, log_text: str
) -> list[str]:
    """Everything a failed crawl shows or stores (logs, report, last error, settings, stored
    URLs) that contains ``secret``: a test asserts it is empty."""
    with session_scope(engine) as session:
        urls = [v.url for v in repo.validators_of(session, [row.id])]
    shown = [log_text, str(report), row.last_error, repr(settings), settings.model_dump_json()]
    return [text for text in [*shown, *urls] if secret in text]


def host_backoff(engine: Engine) -> dict[str, datetime]:
    with session_scope(engine) as session:
        return {h.host: h.backoff_until for h in session.exec(_all_hosts()) if h.backoff_until}


def _all_hosts() -> Any:
    from sqlmodel import select

    from monitor.storage.models import HostState

    return select(HostState)


# ---------------------------------------------------------------- Hacker News (Algolia)
# hn.algolia.com/api: GET /api/v1/search_by_date?query=&tags=&numericFilters=&page=&hitsPerPage=
# newest first; {"hits": [...], "page", "nbPages", "nbHits", "hitsPerPage", ...}; a hit
# has objectID, created_at, created_at_i, author, _tags, title/story_text (stories),
# comment_text/story_id/parent_id/story_title (comments).


def hn_story(item: int, at: int, title: str, text: str = "") -> dict[str, Any]:
    return {
        "objectID": str(item),
        "created_at": datetime.fromtimestamp(at).isoformat() + "Z",
        "created_at_i": at,
        "author": f"user{item}",
        "title": title,
        "url": f"https://example.org/{item}",
        "story_text": text or None,
        "points": 3,
        "num_comments": 0,
        "_tags": ["story", f"author_user{item}", f"story_{item}"],
    }


def hn_comment(item: int, at: int, text: str, story: int, parent: int) -> dict[str, Any]:
    return {
        "objectID": str(item),
        "created_at": datetime.fromtimestamp(at).isoformat() + "Z",
        "created_at_i": at,
        "author": f"user{item}",
        "comment_text": text,
        "story_id": story,
        "parent_id": parent,
        "story_title": "a story",
        "_tags": ["comment", f"author_user{item}", f"story_{story}"],
    }


def hn_search(hits: list[dict[str, Any]]) -> Handler:
    """``search_by_date`` over ``hits`` (a live list: tests append to it): the query is a
    case-insensitive substring of title/text, ``created_at_i>N`` filters, newest first."""

    def handle(call: Call) -> Reply:
        query = (call.arg("query") or "").lower()
        since = _numeric_filter(call.arg("numericFilters") or "")
        per_page = min(int(call.arg("hitsPerPage") or 20), 1000)
        page = int(call.arg("page") or 0)
        found = [h for h in hits if h["created_at_i"] > since and query in _hn_text(h)]
        found.sort(key=lambda h: h["created_at_i"], reverse=True)
        pages = (len(found) + per_page - 1) // per_page
        chunk = found[page * per_page : (page + 1) * per_page]
        doc = {
            "hits": chunk,
            "nbHits": len(found),
            "page": page,
            "nbPages": pages,
            "hitsPerPage": per_page,
            "exhaustiveNbHits": True,
            "query": query,
            "params": "",
            "processingTimeMS": 1,
        }
        return json_reply(doc)

    return handle


def _numeric_filter(value: str) -> int:
    name, _, number = value.partition(">")
    return int(number) if name.strip() == "created_at_i" and number.strip().isdigit() else 0


def _hn_text(hit: dict[str, Any]) -> str:
    return " ".join(str(hit.get(k) or "") for k in ("title", "story_text", "comment_text")).lower()


# ---------------------------------------------------------------- App Store reviews feed
# GET /{cc}/rss/customerreviews/page={n}/id={app}/sortby=mostrecent/json: Atom as JSON,
# every value in {"label": ...}; 50 a page, pages 1-10, newest first; "entry" is an object
# when there is one review and missing past the last page; links first/last/next.


def appstore_review(rid: int, stars: int, title: str, text: str, updated: str) -> dict[str, Any]:
    return {
        "author": {
            "uri": {"label": f"https://itunes.apple.com/dk/reviews/id{rid + 7}"},
            "name": {"label": f"reviewer{rid}"},
            "label": "",
        },
        "updated": {"label": updated},
        "im:rating": {"label": str(stars)},
        "im:version": {"label": "4.2.1"},
        "id": {"label": str(rid)},
        "title": {"label": title},
        "content": {"label": text, "attributes": {"type": "text"}},
        "link": {
            "attributes": {"rel": "related", "href": f"https://itunes.apple.com/dk/review?id={rid}"}
        },
        "im:voteSum": {"label": "0"},
        "im:contentType": {"attributes": {"term": "Application", "label": "Application"}},
        "im:voteCount": {"label": "0"},
    }


def appstore_feed(reviews: dict[str, list[dict[str, Any]]], per_page: int = 50) -> Handler:
    """The feed over ``reviews`` by country (live lists), sorted by id, newest first."""
    import re

    pattern = re.compile(
        r"^/([a-z]{2})/rss/customerreviews/page=(\d+)/id=(\d+)/sortby=mostrecent/json$"
    )

    def handle(call: Call) -> Reply:
        found = pattern.match(call.path)
        if found is None:
            return Reply(404, b"<html>Not Found</html>", {"Content-Type": "text/html"})
        country, page, app = found.group(1), int(found.group(2)), found.group(3)
        if page > 10:
            return Reply(400, b"CustomerReviews RSS page depth is limited to 10")
        ordered = sorted(reviews.get(country, []), key=lambda r: -int(r["id"]["label"]))
        chunk = ordered[(page - 1) * per_page : page * per_page]
        last = max(1, min(10, (len(ordered) + per_page - 1) // per_page))
        base = f"https://itunes.apple.com/{country}/rss/customerreviews"
        feed: dict[str, Any] = {
            "author": {
                "name": {"label": "iTunes Store"},
                "uri": {"label": "http://www.apple.com/itunes/"},
            },
            "updated": {"label": "2026-11-02T01:00:00-07:00"},
            "title": {"label": "iTunes Store: Customer Reviews"},
            "link": [
                {
                    "attributes": {
                        "rel": "alternate",
                        "type": "text/html",
                        "href": f"https://apps.apple.com/{country}/app/id{app}",
                    }
                },
                {
                    "attributes": {
                        "rel": "self",
                        "href": f"{base}/page={page}/id={app}/sortby=mostrecent/json",
                    }
                },
                {
                    "attributes": {
                        "rel": "first",
                        "href": f"{base}/page=1/id={app}/sortby=mostrecent/xml",
                    }
                },
                {
                    "attributes": {
                        "rel": "last",
                        "href": f"{base}/page={last}/id={app}/sortby=mostrecent/xml",
                    }
                },
                {
                    "attributes": {
                        "rel": "next",
                        "href": f"{base}/page={min(page + 1, last)}/id={app}/sortby=mostrecent/xml",
                    }
                },
            ],
            "id": {"label": f"{base}/page={page}/id={app}/sortby=mostrecent/json"},
        }
        if len(chunk) == 1:
            feed["entry"] = chunk[0]
        elif chunk:
            feed["entry"] = chunk
        return json_reply(
            {"feed": feed}, headers={"Content-Type": "text/javascript; charset=utf-8"}
        )

    return handle


# ---------------------------------------------------------------- Mastodon
# docs.joinmastodon.org: GET /api/v2/search?q=&type=statuses&limit=(max 40)&offset=
# &min_id=&max_id= (statuses need a user token: 401 {"error": "The access token is
# invalid"}) answers {"accounts": [], "statuses": [...], "hashtags": []}, ranked newest
# first, min_id/max_id as filters, paged by offset. GET /api/v1/timelines/tag/:tag answers
# a list, newest first; min_id = the page immediately after that id, max_id = older than;
# a Link header with rel="next" (max_id) and rel="prev" (min_id).
# Every answer carries X-RateLimit-Limit/Remaining/Reset (an ISO 8601 time): 300 per 5 min.


def mastodon_status(sid: int, text: str, at: str, host: str = "social.example") -> dict[str, Any]:
    return {
        "id": str(sid),
        "created_at": at,
        "in_reply_to_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "da",
        "uri": f"https://{host}/users/kunde{sid}/statuses/{sid}",
        "url": f"https://{host}/@kunde{sid}/{sid}",
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "edited_at": None,
        "content": f"<p>{text}</p>",
        "reblog": None,
        "account": {"id": "1", "username": f"kunde{sid}", "acct": f"kunde{sid}@{host}"},
        "media_attachments": [],
        "mentions": [],
        "tags": [],
    }


@dataclass
class MastodonInstance:
    """The instance's statuses (a live list), its token, and its rate-limit window."""

    statuses: list[dict[str, Any]]
    token: str
    limit: int = 300
    used: int = 0
    reset: str = "2026-11-02T09:05:00.000Z"

    def handlers(self, platform: FakePlatform) -> None:
        platform.routes[("GET", "/api/v2/search")] = self.search
        platform.fallback = self.tag

    def search(self, call: Call) -> Reply:
        if call.headers.get("authorization") != f"Bearer {self.token}":
            return self._reply({"error": "The access token is invalid"}, 401)
        query = (call.arg("q") or "").lower()
        found = [s for s in self.statuses if query in s["content"].lower()]
        ordered = sorted(found, key=lambda s: int(s["id"]), reverse=True)  # ranked: newest
        if call.arg("min_id"):  # search filters by min_id/max_id; it pages by offset
            ordered = [s for s in ordered if int(s["id"]) > int(call.arg("min_id") or 0)]
        if call.arg("max_id"):
            ordered = [s for s in ordered if int(s["id"]) < int(call.arg("max_id") or 0)]
        limit, offset = min(int(call.arg("limit") or 20), 40), int(call.arg("offset") or 0)
        page = ordered[offset : offset + limit]
        return self._reply({"accounts": [], "statuses": page, "hashtags": []}, 200)

    def tag(self, call: Call) -> Reply:
        prefix = "/api/v1/timelines/tag/"
        if not call.path.startswith(prefix):
            return self._reply({"error": "Record not found"}, 404)
        tag = call.path[len(prefix) :].lower()
        found = [s for s in self.statuses if f"#{tag}" in s["content"].lower()]
        page = self._page(call, found)
        return self._reply(page, 200, call, page)

    def _page(self, call: Call, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        limit = min(int(call.arg("limit") or 20), 40)
        ordered = sorted(found, key=lambda s: int(s["id"]), reverse=True)
        if call.arg("max_id"):
            ordered = [s for s in ordered if int(s["id"]) < int(call.arg("max_id") or 0)]
        if call.arg("min_id"):  # immediately newer: the oldest ones after min_id
            after = [s for s in ordered if int(s["id"]) > int(call.arg("min_id") or 0)]
            return after[-limit:]
        return ordered[:limit]

    def _reply(
        self, doc: Any, status: int, call: Call | None = None, page: list[Any] | None = None
    ) -> Reply:
        self.used += 1
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.limit - self.used, 0)),
            "X-RateLimit-Reset": self.reset,
        }
        if call is not None and page:
            base = f"http://{call.headers.get('host')}{call.path}"
            keep = [(k, v[0]) for k, v in call.query.items() if k not in ("min_id", "max_id")]
            older = urlencode([*keep, ("max_id", page[-1]["id"])])
            newer = urlencode([*keep, ("min_id", page[0]["id"])])
            headers["Link"] = f'<{base}?{older}>; rel="next", <{base}?{newer}>; rel="prev"'
        return json_reply(doc, status, headers)


# ---------------------------------------------------------------- Bluesky (atproto XRPC)
# docs.bsky.app: POST /xrpc/com.atproto.server.createSession {"identifier", "password"} ->
# {"accessJwt", "refreshJwt", "handle", "did", "active"}; wrong password: 401
# {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}.
# POST /xrpc/com.atproto.server.refreshSession with "Bearer <refreshJwt>" -> new tokens.
# GET /xrpc/app.bsky.feed.searchPosts?q=&sort=latest&since=&limit=(max 100)&cursor= ->
# {"posts": [postView], "cursor"?, "hitsTotal"?}; an expired access token: 400
# {"error": "ExpiredToken", "message": "Token has expired"}. Rate-limit headers
# ratelimit-limit / -remaining / -reset (Unix seconds) / -policy ("30;w=300").


def bsky_post(
    did: str, rkey: str, text: str, at: str, reply_to: str | None = None
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": at,
        "langs": ["da"],
    }
    if reply_to:
        record["reply"] = {
            "root": {"uri": reply_to, "cid": "bafyroot"},
            "parent": {"uri": reply_to, "cid": "bafyroot"},
        }
    return {
        "uri": f"at://{did}/app.bsky.feed.post/{rkey}",
        "cid": f"bafy{rkey}",
        "author": {"did": did, "handle": f"{rkey}.bsky.social", "displayName": "Kunde"},
        "record": record,
        "replyCount": 0,
        "repostCount": 0,
        "likeCount": 0,
        "indexedAt": at,
        "labels": [],
    }


def fake_jwt(subject: str, expires: datetime) -> str:
    import base64

    def part(doc: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")

    claims = {"scope": "com.atproto.appPass", "sub": subject, "exp": int(expires.timestamp())}
    return f"{part({'typ': 'at+jwt', 'alg': 'ES256K'})}.{part(claims)}.c2lnbmF0dXJl"


@dataclass
class BlueskyPds:
    """A PDS that logs in one account and proxies search over ``posts`` (a live list)."""

    posts: list[dict[str, Any]]
    identifier: str
    password: str
    clock: datetime  # the server's now: tokens expire two hours after issue
    issued: int = 0
    logins: int = 0
    refreshes: int = 0
    access: dict[str, datetime] = field(default_factory=dict)
    refresh: set[str] = field(default_factory=set)

    def handlers(self, platform: FakePlatform) -> None:
        platform.routes[("POST", "/xrpc/com.atproto.server.createSession")] = self.create
        platform.routes[("POST", "/xrpc/com.atproto.server.refreshSession")] = self.refreshed
        platform.routes[("GET", "/xrpc/app.bsky.feed.searchPosts")] = self.search

    def _tokens(self) -> dict[str, Any]:
        self.issued += 1
        expires = self.clock + timedelta(hours=2)
        access = fake_jwt(f"did:plc:monitor{self.issued}", expires)
        refresh = f"refresh-{self.issued}"
        self.access[access] = expires
        self.refresh.add(refresh)
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "handle": self.identifier,
            "did": "did:plc:monitor",
            "active": True,
        }

    def create(self, call: Call) -> Reply:
        self.logins += 1
        doc = json.loads(call.body or b"{}")
        headers = {
            "ratelimit-limit": "30",
            "ratelimit-remaining": "29",
            "ratelimit-reset": "1793000000",
            "ratelimit-policy": "30;w=300",
        }
        if doc.get("identifier") != self.identifier or doc.get("password") != self.password:
            return json_reply(
                {"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
                401,
                headers,
            )
        return json_reply(self._tokens(), 200, headers)

    def refreshed(self, call: Call) -> Reply:
        token = (call.headers.get("authorization") or "").removeprefix("Bearer ")
        if token not in self.refresh:
            return json_reply({"error": "ExpiredToken", "message": "Token has been revoked"}, 400)
        self.refreshes += 1
        self.refresh.discard(token)
        return json_reply(self._tokens())

    def search(self, call: Call) -> Reply:
        token = (call.headers.get("authorization") or "").removeprefix("Bearer ")
        if token not in self.access:
            return json_reply(
                {"error": "AuthenticationRequired", "message": "Authentication Required"}, 401
            )
        if self.access[token] <= self.clock:
            return json_reply({"error": "ExpiredToken", "message": "Token has expired"}, 400)
        query = (call.arg("q") or "").lower()
        since = call.arg("since") or ""
        limit = min(int(call.arg("limit") or 25), 100)
        offset = int(call.arg("cursor") or 0)
        found = [
            p
            for p in self.posts
            if query in p["record"]["text"].lower() and p["indexedAt"] >= since
        ]
        found.sort(key=lambda p: p["indexedAt"], reverse=True)
        page = found[offset : offset + limit]
        doc: dict[str, Any] = {"posts": page, "hitsTotal": len(found)}
        if offset + limit < len(found):
            doc["cursor"] = str(offset + limit)
        headers = {
            "ratelimit-limit": "3000",
            "ratelimit-remaining": "2999",
            "ratelimit-reset": "1793000000",
            "ratelimit-policy": "3000;w=300",
        }
        return json_reply(doc, 200, headers)


# ---------------------------------------------------------------- Trustpilot
# developers.trustpilot.com, Business Units API: GET /v1/business-units/{id}/reviews with
# the key in the "apikey" header (or query); page (from 1), perPage (max 100), orderBy
# createdat.desc|asc -> {"links": [{"href", "method", "rel": "next-page"|"prev-page"}],
# "reviews": [{"id", "stars", "title", "text", "language", "createdAt", "updatedAt",
# "consumer": {"displayName"}, "links": [...]}]}. A bad key: 401; unknown unit: 404.


def trustpilot_review(rid: str, stars: int, text: str, created: datetime) -> dict[str, Any]:
    when = created.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "links": [
            {
                "href": f"https://api.trustpilot.com/v1/reviews/{rid}",
                "method": "GET",
                "rel": "reviews",
            }
        ],
        "id": rid,
        "consumer": {"id": f"c{rid}", "displayName": f"Kunde {rid}", "numberOfReviews": 1},
        "businessUnit": {
            "id": "5a1b2c3d4e5f60718293a4b5",
            "identifyingName": "nordtel.dk",
            "displayName": "Nordtel",
        },
        "stars": stars,
        "title": f"Nordtel svigter {rid}",
        "text": f"Ingen forbindelse i tre dage {rid}",
        "language": "da",
        "createdAt": when,
        "updatedAt": None,
        "isVerified": False,
        "numberOfLikes": 0,
        "status": "active",
        "companyReply": None,
    }


def trustpilot_reviews(reviews: list[dict[str, Any]], key: str, unit: str) -> Handler:
    def handle(call: Call) -> Reply:
        if call.path != f"/v1/business-units/{unit}/reviews":
            return json_reply({"message": "Business unit not found"}, 404)
        if call.headers.get("apikey") != key:
            return json_reply(
                {
                    "fault": {
                        "faultstring": "Invalid ApiKey",
                        "detail": {"errorcode": "oauth.v2.InvalidApiKey"},
                    }
                },
                401,
            )
        page, per_page = int(call.arg("page") or 1), min(int(call.arg("perPage") or 20), 100)
        ordered = sorted(
            reviews, key=lambda r: r["createdAt"], reverse=call.arg("orderBy") != "createdat.asc"
        )
        chunk = ordered[(page - 1) * per_page : page * per_page]
        base = f"http://{call.headers.get('host')}{call.path}"
        links = []
        if page * per_page < len(ordered):
            query = urlencode(
                {"orderBy": call.arg("orderBy"), "perPage": per_page, "page": page + 1}
            )
            links.append({"href": f"{base}?{query}", "method": "GET", "rel": "next-page"})
        return json_reply({"links": links, "reviews": chunk})

    return handle


# ---------------------------------------------------------------- YouTube Data API v3
# developers.google.com/youtube/v3: GET /youtube/v3/commentThreads?part=snippet,replies
# &allThreadsRelatedToChannelId=|videoId=&order=time&maxResults=(max 100)&pageToken=
# &textFormat=plainText -> {"kind": "youtube#commentThreadListResponse", "nextPageToken"?,
# "pageInfo", "items": [commentThread]}; GET /youtube/v3/search?part=snippet&q=&type=video
# &order=date&publishedAfter=&maxResults=(max 50)&pageToken= -> {"items": [{"id":
# {"kind": "youtube#video", "videoId"}, "snippet": {...}}]}. The key: ``key=`` or the
# X-goog-api-key header; a bad key is 400 (reason badRequest, API_KEY_INVALID), a spent
# quota 403 (reason quotaExceeded). Quota: search.list 100 units, commentThreads.list 1.


def yt_error(code: int, reason: str, message: str, domain: str = "global") -> Reply:
    errors = [{"message": message, "domain": domain, "reason": reason}]
    return json_reply({"error": {"code": code, "message": message, "errors": errors}}, code)


def yt_thread(cid: str, video: str, text: str, at: datetime, replies: int = 0) -> dict[str, Any]:
    when = at.strftime("%Y-%m-%dT%H:%M:%SZ")

    def comment(ident: str, words: str, parent: str | None = None) -> dict[str, Any]:
        snippet = {
            "channelId": "UCnordtel0000000000000a",
            "videoId": video,
            "textDisplay": words,
            "textOriginal": words,
            "authorDisplayName": f"@viewer-{ident[-4:]}",
            "authorChannelId": {"value": f"UCviewer{ident[-4:]}"},
            "canRate": True,
            "viewerRating": "none",
            "likeCount": 0,
            "publishedAt": when,
            "updatedAt": when,
        }
        if parent:
            snippet["parentId"] = parent
        return {"kind": "youtube#comment", "etag": "e", "id": ident, "snippet": snippet}

    thread: dict[str, Any] = {
        "kind": "youtube#commentThread",
        "etag": "e",
        "id": cid,
        "snippet": {
            "channelId": "UCnordtel0000000000000a",
            "videoId": video,
            "topLevelComment": comment(cid, text),
            "canReply": True,
            "totalReplyCount": replies,
            "isPublic": True,
        },
    }
    if replies:
        answers = [comment(f"{cid}.r{i}", f"Samme her ({i})", cid) for i in range(replies)]
        thread["replies"] = {"comments": answers}
    return thread


def yt_video(vid: str, title: str, at: datetime, description: str = "") -> dict[str, Any]:
    when = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "kind": "youtube#searchResult",
        "etag": "e",
        "id": {"kind": "youtube#video", "videoId": vid},
        "snippet": {
            "publishedAt": when,
            "channelId": "UCtechreview000000000000",
            "title": title,
            "description": description,
            "thumbnails": {"default": {"url": f"https://i.ytimg.com/vi/{vid}/default.jpg"}},
            "channelTitle": "Tech Review DK",
            "liveBroadcastContent": "none",
            "publishTime": when,
        },
    }


@dataclass
class YouTubeApi:
    """Comment threads and videos (live lists), the key it accepts, the units it charged."""

    threads: list[dict[str, Any]]
    videos: list[dict[str, Any]]
    key: str
    units: int = 0

    def handlers(self, platform: FakePlatform) -> None:
        platform.routes[("GET", "/youtube/v3/commentThreads")] = self.comment_threads
        platform.routes[("GET", "/youtube/v3/search")] = self.search

    def _refused(self, call: Call) -> Reply | None:
        if (call.headers.get("x-goog-api-key") or call.arg("key")) != self.key:
            message = "API key not valid. Please pass a valid API key."
            return yt_error(400, "badRequest", message)
        return None

    def comment_threads(self, call: Call) -> Reply:
        self.units += 1
        refused = self._refused(call)
        if refused:
            return refused
        video, channel = call.arg("videoId"), call.arg("allThreadsRelatedToChannelId")
        found = [
            t
            for t in self.threads
            if (video and t["snippet"]["videoId"] == video)
            or (channel and t["snippet"]["channelId"] == channel)
        ]
        found.sort(key=lambda t: t["snippet"]["topLevelComment"]["snippet"]["publishedAt"])
        found.reverse()
        per_page = min(int(call.arg("maxResults") or 20), 100)
        return self._page(call, found, per_page, "youtube#commentThreadListResponse")

    def search(self, call: Call) -> Reply:
        self.units += 100
        refused = self._refused(call)
        if refused:
            return refused
        query = (call.arg("q") or "").lower()
        after = call.arg("publishedAfter") or ""
        found = [
            v
            for v in self.videos
            if query in (v["snippet"]["title"] + v["snippet"]["description"]).lower()
            and v["snippet"]["publishedAt"] >= after
        ]
        found.sort(key=lambda v: v["snippet"]["publishedAt"], reverse=True)
        per_page = min(int(call.arg("maxResults") or 5), 50)
        return self._page(call, found, per_page, "youtube#searchListResponse")

    def _page(self, call: Call, found: list[dict[str, Any]], per_page: int, kind: str) -> Reply:
        offset = int(call.arg("pageToken", "0").removeprefix("CA") or 0)
        doc: dict[str, Any] = {
            "kind": kind,
            "etag": "e",
            "pageInfo": {"totalResults": len(found), "resultsPerPage": per_page},
            "items": found[offset : offset + per_page],
        }
        if offset + per_page < len(found):
            doc["nextPageToken"] = f"CA{offset + per_page}"
        return json_reply(doc)


# ---------------------------------------------------------------- X API v2
# docs.x.com: GET /2/tweets/search/recent?query=&since_id=|start_time=&max_results=(10-100)
# &next_token=&tweet.fields=&expansions=author_id&user.fields=username with an app's
# "Authorization: Bearer" -> {"data": [post], "includes": {"users": [...]}, "meta":
# {"newest_id", "oldest_id", "result_count", "next_token"?}}, newest first; no match:
# {"meta": {"result_count": 0}}. Every answer: x-rate-limit-limit/-remaining/-reset (Unix
# seconds); over the limit 429 {"title": "Too Many Requests", ...}; a bad token 401
# {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}.


def x_post(pid: int, text: str, at: datetime, reply_to: int | None = None) -> dict[str, Any]:
    post: dict[str, Any] = {
        "id": str(pid),
        "text": text,
        "created_at": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "author_id": str(9000 + pid % 7),
        "conversation_id": str(reply_to or pid),
        "lang": "da",
        "edit_history_tweet_ids": [str(pid)],
    }
    if reply_to:
        post["referenced_tweets"] = [{"type": "replied_to", "id": str(reply_to)}]
    return post


@dataclass
class XApi:
    """Posts (a live list), the bearer token it accepts, and a 15-minute request window."""

    posts: list[dict[str, Any]]
    token: str
    limit: int = 450
    used: int = 0
    reset: int = 1793000000

    def handlers(self, platform: FakePlatform) -> None:
        platform.routes[("GET", "/2/tweets/search/recent")] = self.search

    def _headers(self) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(self.limit),
            "x-rate-limit-remaining": str(max(self.limit - self.used, 0)),
            "x-rate-limit-reset": str(self.reset),
        }

    def search(self, call: Call) -> Reply:
        self.used += 1
        if call.headers.get("authorization") != f"Bearer {self.token}":
            doc = {"title": "Unauthorized", "type": "about:blank", "status": 401,
                   "detail": "Unauthorized"}  # fmt: skip
            return json_reply(doc, 401, self._headers())
        if self.used > self.limit:
            doc = {"title": "Too Many Requests", "detail": "Too Many Requests",
                   "type": "about:blank", "status": 429}  # fmt: skip
            return json_reply(doc, 429, self._headers())
        query = (call.arg("query") or "").lower()
        since = int(call.arg("since_id") or 0)
        start = call.arg("start_time") or ""
        found = [
            p
            for p in self.posts
            if query in p["text"].lower() and int(p["id"]) > since and p["created_at"] >= start
        ]
        found.sort(key=lambda p: int(p["id"]), reverse=True)
        per_page = min(int(call.arg("max_results") or 10), 100)
        offset = int(call.arg("next_token", "0").removeprefix("b26v89c19zqg8o3f") or 0)
        chunk = found[offset : offset + per_page]
        if not chunk:
            return json_reply({"meta": {"result_count": 0}}, 200, self._headers())
        users = sorted({p["author_id"] for p in chunk})
        meta: dict[str, Any] = {
            "newest_id": chunk[0]["id"],
            "oldest_id": chunk[-1]["id"],
            "result_count": len(chunk),
        }
        if offset + per_page < len(found):
            meta["next_token"] = f"b26v89c19zqg8o3f{offset + per_page}"
        found_users = [{"id": u, "name": "Kunde", "username": f"kunde{u}"} for u in users]
        doc = {"data": chunk, "includes": {"users": found_users}, "meta": meta}
        return json_reply(doc, 200, self._headers())


# ---------------------------------------------------------------- Google Play Developer API
# developers.google.com/android-publisher: GET /androidpublisher/v3/applications/{package}
# /reviews?maxResults=&token=&startIndex=&translationLanguage= with an OAuth access token
# (scope androidpublisher) -> {"reviews": [{"reviewId", "authorName", "comments":
# [{"userComment": {"text", "lastModified": {"seconds", "nanos"}, "starRating",
# "reviewerLanguage", ...}}, {"developerComment": {"text", "lastModified"}}]}],
# "tokenPagination": {"nextPageToken"}, "pageInfo": {...}}; only reviews with text changed
# in the last week, the most recently changed first; no reviews: {} (no "reviews" key).
# Google's error shape: {"error": {"code", "message", "status", "errors": [...]}}.


def play_review(
    rid: str, stars: int, text: str, at: datetime, reply: str | None = None
) -> dict[str, Any]:
    def stamp(moment: datetime) -> dict[str, Any]:
        return {"seconds": str(int(moment.timestamp())), "nanos": 713000000}

    user = {
        "text": text,
        "lastModified": stamp(at),
        "starRating": stars,
        "reviewerLanguage": "da_DK",
        "device": "a52q",
        "androidOsVersion": 33,
        "appVersionCode": 4021,
        "appVersionName": "4.2.1",
        "thumbsUpCount": 0,
        "thumbsDownCount": 0,
    }
    comments: list[dict[str, Any]] = [{"userComment": user}]
    if reply:
        comments.append({"developerComment": {"text": reply, "lastModified": stamp(at)}})
    return {"reviewId": rid, "authorName": f"Kunde {rid[-3:]}", "comments": comments}


def google_error(code: int, status: str, message: str) -> Reply:
    errors = [{"message": message, "domain": "global", "reason": status}]
    doc = {"error": {"code": code, "message": message, "status": status, "errors": errors}}
    return json_reply(doc, code)


@dataclass
class PlayApi:
    """Reviews (a live list) of one package and the access token it accepts."""

    reviews: list[dict[str, Any]]
    token: str
    package: str = "dk.nordtel.app"

    def handlers(self, platform: FakePlatform) -> None:
        path = f"/androidpublisher/v3/applications/{self.package}/reviews"
        platform.routes[("GET", path)] = self.list

    def list(self, call: Call) -> Reply:
        if call.headers.get("authorization") != f"Bearer {self.token}":
            message = "Request had invalid authentication credentials."
            return google_error(401, "UNAUTHENTICATED", message)

        def changed(review: dict[str, Any]) -> int:
            return int(review["comments"][0]["userComment"]["lastModified"]["seconds"])

        ordered = sorted(self.reviews, key=changed, reverse=True)
        per_page = min(int(call.arg("maxResults") or 10), 100)
        offset = int(call.arg("token", "0").removeprefix("Ch0") or 0)
        chunk = ordered[offset : offset + per_page]
        if not chunk:
            return json_reply({})
        doc: dict[str, Any] = {
            "reviews": chunk,
            "pageInfo": {"totalResults": len(ordered), "resultPerPage": per_page},
        }
        if offset + per_page < len(ordered):
            doc["tokenPagination"] = {"nextPageToken": f"Ch0{offset + per_page}"}
        return json_reply(doc)


# ---------------------------------------------------------------- Facebook Graph API
# developers.facebook.com/docs/graph-api: GET /v21.0/{page-id}/feed?fields=&limit=&since=
# &after= and GET /v21.0/{post-id}/comments?fields=&filter=stream&order=reverse_chronological
# &limit=&after= with a Page access token -> {"data": [...], "paging": {"cursors":
# {"before", "after"}, "next"?}} (no "next" on the last page). Times "2026-11-02T08:59:00
# +0000". Errors {"error": {"message", "type": "OAuthException", "code", "error_subcode"?,
# "fbtrace_id"}}: an expired token is 400 code 190; throttling is 400/403 code 4/17/32/613
# with X-App-Usage / X-Business-Use-Case-Usage ({"<business id>": [{"type": "pages",
# "call_count", "total_cputime", "total_time", "estimated_time_to_regain_access"}]}).


def fb_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S+0000")


def fb_post(pid: str, text: str, at: datetime, author: str = "Nordtel") -> dict[str, Any]:
    return {
        "id": pid,
        "message": text,
        "created_time": fb_time(at),
        "updated_time": fb_time(at),
        "from": {"name": author, "id": "1000" + pid[-3:]},
        "permalink_url": f"https://www.facebook.com/nordtel/posts/{pid.split('_')[-1]}",
    }


def fb_comment(cid: str, text: str, at: datetime, parent: str | None = None) -> dict[str, Any]:
    comment: dict[str, Any] = {
        "id": cid,
        "message": text,
        "created_time": fb_time(at),
        "from": {"name": f"Kunde {cid[-3:]}", "id": "2000" + cid[-3:]},
        "permalink_url": f"https://www.facebook.com/nordtel/posts/x?comment_id={cid}",
    }
    if parent:
        comment["parent"] = {"id": parent}
    return comment


def graph_error(
    status: int, code: int, message: str, headers: Mapping[str, str] | None = None
) -> Reply:
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}
    return json_reply({"error": error}, status, headers)


@dataclass
class GraphPage:
    """A page's posts and each post's comments (live), and the Page token it accepts."""

    page_id: str
    posts: list[dict[str, Any]]
    comments: dict[str, list[dict[str, Any]]]
    token: str

    def handlers(self, platform: FakePlatform) -> None:
        platform.fallback = self.answer

    def answer(self, call: Call) -> Reply:
        if call.headers.get("authorization") != f"Bearer {self.token}":
            message = "Error validating access token: Session has expired on Monday, 02-Nov-26."
            return graph_error(400, 190, message)
        parts = call.path.strip("/").split("/")
        if len(parts) == 3 and parts[1] == self.page_id and parts[2] == "feed":
            return self._page(call, self._feed(call))
        known = {p["id"] for p in self.posts}
        if len(parts) == 3 and parts[2] == "comments" and parts[1] in known:
            thread = self.comments.get(parts[1], [])
            found = sorted(thread, key=lambda c: c["created_time"], reverse=True)
            return self._page(call, found)
        message = f"Unsupported get request. Object with ID '{parts[-2]}' does not exist"
        return graph_error(400 if len(parts) > 2 else 404, 100, message)

    def _feed(self, call: Call) -> list[dict[str, Any]]:
        since = int(call.arg("since") or 0)
        found = [
            p
            for p in self.posts
            if datetime.strptime(p["created_time"], "%Y-%m-%dT%H:%M:%S%z").timestamp() >= since
        ]
        return sorted(found, key=lambda p: p["created_time"], reverse=True)

    def _page(self, call: Call, found: list[dict[str, Any]]) -> Reply:
        import base64

        limit = min(int(call.arg("limit") or 25), 100)
        offset = int(base64.b64decode(call.arg("after") or "MA==").decode() or 0)
        chunk = found[offset : offset + limit]

        def cursor(n: int) -> str:
            return base64.b64encode(str(n).encode()).decode()

        doc: dict[str, Any] = {"data": chunk}
        if chunk:
            doc["paging"] = {"cursors": {"before": cursor(offset), "after": cursor(offset + limit)}}
        if offset + limit < len(found):
            keep = [(k, v[0]) for k, v in call.query.items() if k != "after"]
            # Graph puts the token in "next" when the request had it in its query; the
            # adapter sends it in a header, and must drop it from any link it follows
            token = ("access_token", self.token)
            query = urlencode([*keep, token, ("after", cursor(offset + limit))])
            doc["paging"]["next"] = f"http://{call.headers.get('host')}{call.path}?{query}"
        usage = {"call_count": 3, "total_cputime": 1, "total_time": 2}
        return json_reply(doc, 200, {"X-App-Usage": json.dumps(usage)})
