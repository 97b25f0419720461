"""Platform APIs on the simulated web, written from their public documentation: a Bluesky
PDS (atproto XRPC) and Trustpilot's Business Units API. The demo reads them with the real
``bluesky`` and ``trustpilot`` source kinds, so its storm shows there first.

- ``POST /bsky/xrpc/com.atproto.server.createSession`` ``{"identifier", "password"}`` ->
  ``{"accessJwt", "refreshJwt", "handle", "did", "active"}``; a wrong password is 401
  ``AuthenticationRequired``. ``POST .../com.atproto.server.refreshSession`` with
  ``Bearer <refreshJwt>`` -> new tokens (the old refresh token is spent).
- ``GET /bsky/xrpc/app.bsky.feed.searchPosts?q=&sort=latest&since=&limit=&cursor=`` with
  ``Bearer <accessJwt>`` -> ``{"posts": [postView], "cursor"?, "hitsTotal"}``, newest
  first; ``limit`` at most 100; answers carry ``ratelimit-*`` headers.
- ``GET /trustpilot/v1/business-units/{unit}/reviews?page=&perPage=&orderBy=`` with the
  key in the ``apikey`` header -> ``{"links": [{"rel": "next-page", ...}], "reviews"}``;
  a bad key is 401 ``Invalid ApiKey``, another unit 404.

Pure functions over :class:`~monitor.demo.sampleweb.model.Site` and :class:`Accounts`: the
server calls :func:`answer` under its lock.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from monitor.demo.sampleweb.model import Article, Site

BSKY = "/bsky"
TRUSTPILOT = "/trustpilot"
JSON = "application/json; charset=utf-8"
TOKEN_EXPIRES = datetime(2099, 1, 1, tzinfo=UTC)  # the simulated clock never reaches it


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]


@dataclass
class Accounts:
    """The credentials the platforms accept (fresh for every server) and the tokens issued."""

    identifier: str = "stormwatch-demo.bsky.social"
    app_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    api_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    business_unit: str = "5a1b2c3d4e5f60718293a4b5"
    access: set[str] = field(default_factory=set)
    refresh: set[str] = field(default_factory=set)

    def tokens(self) -> dict[str, Any]:
        access, refresh = _jwt(self.identifier), secrets.token_urlsafe(16)
        self.access.add(access)
        self.refresh.add(refresh)
        return {"accessJwt": access, "refreshJwt": refresh, "handle": self.identifier,
                "did": "did:plc:stormwatchdemo", "active": True}  # fmt: skip


def answer(
    site: Site, accounts: Accounts, method: str, path: str, query: dict[str, list[str]],
    headers: dict[str, str], body: bytes,
) -> Reply | None:  # fmt: skip
    """The platform's answer to a request, or None when ``path`` is not a platform API."""
    if path.startswith(BSKY + "/xrpc/"):
        return _xrpc(site, accounts, method, path.removeprefix(BSKY + "/xrpc/"), query, headers,
                     body)  # fmt: skip
    if path.startswith(TRUSTPILOT + "/v1/"):
        return _reviews(site, accounts, method, path.removeprefix(TRUSTPILOT), query, headers)
    return None


def is_platform_post(path: str) -> bool:
    """True for the POSTs a platform takes (Bluesky's logins); others are 405."""
    return path.startswith(BSKY + "/xrpc/com.atproto.server.")


# --- Bluesky ------------------------------------------------------------------------------


def _xrpc(
    site: Site, accounts: Accounts, method: str, name: str, query: dict[str, list[str]],
    headers: dict[str, str], body: bytes,
) -> Reply:  # fmt: skip
    routes = {
        ("POST", "com.atproto.server.createSession"): lambda: _login(accounts, body),
        ("POST", "com.atproto.server.refreshSession"): lambda: _refresh(accounts, headers),
        ("GET", "app.bsky.feed.searchPosts"): lambda: _search(site, accounts, query, headers),
    }
    route = routes.get((method, name))
    if route is None:
        return _json({"error": "MethodNotImplemented", "message": "Method Not Implemented"}, 501)
    return route()


def _login(accounts: Accounts, body: bytes) -> Reply:
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        return _json({"error": "InvalidRequest", "message": "Invalid JSON body"}, 400)
    if doc.get("identifier") != accounts.identifier or doc.get("password") != accounts.app_password:
        message = "Invalid identifier or password"
        return _json({"error": "AuthenticationRequired", "message": message}, 401, _limits(30))
    return _json(accounts.tokens(), 200, _limits(30))


def _refresh(accounts: Accounts, headers: dict[str, str]) -> Reply:
    token = _bearer(headers)
    if token not in accounts.refresh:
        return _json({"error": "ExpiredToken", "message": "Token has been revoked"}, 400)
    accounts.refresh.discard(token)
    return _json(accounts.tokens())


def _search(
    site: Site, accounts: Accounts, query: dict[str, list[str]], headers: dict[str, str]
) -> Reply:
    if _bearer(headers) not in accounts.access:
        message = "Authentication Required"
        return _json({"error": "AuthenticationRequired", "message": message}, 401)
    term = _arg(query, "q").lower()
    since = _when(_arg(query, "since"))
    found = [
        a for a in site.bluesky
        if term in _post_text(a).lower() and (since is None or a.published >= since)
    ]  # fmt: skip
    found.sort(key=lambda a: a.published, reverse=True)
    limit = min(_number(_arg(query, "limit"), 25), 100)
    offset = _number(_arg(query, "cursor"), 0)
    doc: dict[str, Any] = {
        "posts": [_post_view(a) for a in found[offset : offset + limit]],
        "hitsTotal": len(found),
    }
    if offset + limit < len(found):
        doc["cursor"] = str(offset + limit)
    return _json(doc, 200, _limits(3000))


def _post_view(a: Article) -> dict[str, Any]:
    did = "did:plc:" + "".join(ch for ch in a.author.lower() if ch.isalnum())[:24]
    at = _iso(a.published)
    record = {"$type": "app.bsky.feed.post", "text": _post_text(a), "createdAt": at,
              "langs": [a.lang]}  # fmt: skip
    return {
        "uri": f"at://{did}/app.bsky.feed.post/{a.key}",
        "cid": f"bafyrei{a.key}",
        "author": {"did": did, "handle": f"{did[8:]}.bsky.social", "displayName": a.author},
        "record": record,
        "replyCount": 0,
        "repostCount": 0,
        "likeCount": 0,
        "indexedAt": at,
        "labels": [],
    }


def _post_text(a: Article) -> str:
    return "\n\n".join(a.paragraphs)


def _limits(limit: int) -> dict[str, str]:
    reset = int(datetime.now(UTC).timestamp()) + 300
    return {"ratelimit-limit": str(limit), "ratelimit-remaining": str(limit - 1),
            "ratelimit-reset": str(reset), "ratelimit-policy": f"{limit};w=300"}  # fmt: skip


def _jwt(subject: str) -> str:
    """A token shaped like the PDS's (header.claims.signature); the client reads ``exp``."""

    def part(doc: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")

    claims = {"scope": "com.atproto.appPass", "sub": subject,
              "exp": int(TOKEN_EXPIRES.timestamp()), "jti": secrets.token_hex(8)}  # fmt: skip
    return f"{part({'typ': 'at+jwt', 'alg': 'ES256K'})}.{part(claims)}.c2lnbmF0dXJl"


# --- Trustpilot ----------------------------------------------------------------------------


def _reviews(
    site: Site, accounts: Accounts, method: str, path: str, query: dict[str, list[str]],
    headers: dict[str, str],
) -> Reply:  # fmt: skip
    if method != "GET" or path != f"/v1/business-units/{accounts.business_unit}/reviews":
        return _json({"message": "Business unit not found"}, 404)
    if headers.get("apikey") != accounts.api_key:
        fault = {"faultstring": "Invalid ApiKey", "detail": {"errorcode": "oauth.v2.InvalidApiKey"}}
        return _json({"fault": fault}, 401)
    page = max(_number(_arg(query, "page"), 1), 1)
    per_page = min(_number(_arg(query, "perPage"), 20), 100)
    order = _arg(query, "orderBy") or "createdat.desc"
    ordered = sorted(site.reviews, key=lambda a: a.published, reverse=order != "createdat.asc")
    links = []
    if page * per_page < len(ordered):
        href = f"{headers.get('host', '')}{TRUSTPILOT}{path}?" + urlencode(
            {"orderBy": order, "perPage": per_page, "page": page + 1}
        )
        links.append({"href": f"http://{href}", "method": "GET", "rel": "next-page"})
    chunk = ordered[(page - 1) * per_page : page * per_page]
    return _json({"links": links, "reviews": [_review(a, accounts) for a in chunk]})


def _review(a: Article, accounts: Accounts) -> dict[str, Any]:
    return {
        "links": [{"href": f"https://api.trustpilot.com/v1/reviews/{a.key}", "method": "GET",
                   "rel": "reviews"}],
        "id": a.key,
        "consumer": {"id": f"c-{a.key}", "displayName": a.author, "numberOfReviews": 1},
        "businessUnit": {"id": accounts.business_unit, "identifyingName": "nordtel.dk",
                         "displayName": "Nordtel"},
        "stars": a.rating,
        "title": a.title,
        "text": _post_text(a),
        "language": a.lang,
        "createdAt": _iso(a.published),
        "updatedAt": None,
        "isVerified": False,
        "status": "active",
    }  # fmt: skip


# --- shared --------------------------------------------------------------------------------


def _json(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps(doc, ensure_ascii=False).encode()
    return Reply(status, body, {"Content-Type": JSON, **(headers or {})})


def _arg(query: dict[str, list[str]], name: str) -> str:
    values = query.get(name)
    return values[-1] if values else ""


def _number(value: str, default: int) -> int:
    return int(value) if value.isdigit() else default


def _bearer(headers: dict[str, str]) -> str:
    return headers.get("authorization", "").removeprefix("Bearer ")


def _when(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
