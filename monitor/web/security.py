"""What every response carries and what every change must prove.

- ``SecurityHeaders``: an ASGI middleware putting the CSP and friends on every response
  (errors and static files included), refusing unknown Host names and oversized bodies,
  and turning an unhandled error into a plain 500 that still carries the headers.
- CSRF: state changes carry the session's synchronizer token (form field ``csrf_token`` or
  header ``X-CSRF-Token``); the login form, which has no session yet, uses a double-submit
  cookie. Both compare in constant time.
- ``same_origin``: a state change whose ``Origin`` (or ``Sec-Fetch-Site``) says it came from
  another site is refused even with a token.
- ``safe_next``: only same-site relative paths survive as a post-login destination.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("stormwatch.web")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
MAX_BODY_BYTES = 1_000_000
CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LOGIN_CSRF_COOKIE = "stormwatch_login_csrf"
UNKNOWN_HOST = (
    "this server does not answer to that host name; "
    "add it to [web] allowed_hosts or set [web] public_url"
)
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})


def own_host_names(bind_host: str, public_url: str | None, extra: Iterable[str]) -> frozenset[str]:
    """The names a request's Host may carry: loopback names, a specific bind address,
    ``public_url``'s host and ``[web] allowed_hosts``."""
    names = set(LOOPBACK_HOSTS) | {name.lower() for name in extra}
    if bind_host.lower() not in WILDCARD_BINDS:
        names.add(bind_host.lower())
    if public_url:
        names.add(urlsplit(public_url).hostname or "")
    return frozenset(names - {""})


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def host_name(header: str) -> str | None:
    """``example.org`` of ``Example.org:8080``, ``::1`` of ``[::1]:8080``; None if garbled."""
    try:
        return urlsplit("//" + header).hostname if header else None
    except ValueError:
        return None


class SecurityHeaders:
    """Adds ``HEADERS`` (and ``Cache-Control``) to every HTTP response of ``app``, and
    refuses a request whose Host is none of ``hosts``: a page on a hostile domain that
    re-points its DNS at us (DNS rebinding) sends its own name, never one of ours."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str] = LOOPBACK_HOSTS) -> None:
        self.app = app
        self.hosts = hosts

    def allows(self, host: str | None) -> bool:
        """One of our names, or an IP address: rebinding needs a name the attacker owns,
        and a page opened by address is its own origin (monitoring scrapes by address)."""
        return host is not None and (host in self.hosts or _is_ip(host))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")
        headers = Headers(scope=scope)
        if not self.allows(host_name(headers.get("host", ""))):
            log.info("refused a request for an unknown Host: %.80r", headers.get("host"))
            await _plain(send, 400, UNKNOWN_HOST, static)
            return
        if _too_large(headers):
            await _plain(send, 413, "request body too large", static)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                _decorate(MutableHeaders(scope=message), static)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if not started:
                await _plain(send, 500, "internal error; the details are in the server log", static)


def _decorate(headers: MutableHeaders, static: bool) -> None:
    for name, value in HEADERS.items():
        headers[name] = value
    # Pages and API answers hold post content and tokens: never store them. Static files
    # have fixed names, so they are revalidated (ETag) rather than cached blindly.
    headers["cache-control"] = "no-cache" if static else "no-store"


def _too_large(headers: Headers) -> bool:
    length = headers.get("content-length", "")
    return length.isdigit() and int(length) > MAX_BODY_BYTES


async def _plain(send: Send, status: int, text: str, static: bool) -> None:
    headers = MutableHeaders(raw=[(b"content-type", b"text/plain; charset=utf-8")])
    _decorate(headers, static)
    await send({"type": "http.response.start", "status": status, "headers": headers.raw})
    await send({"type": "http.response.body", "body": text.encode()})


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; an empty or missing token never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def new_login_token() -> str:
    return secrets.token_urlsafe(32)


async def submitted_csrf(request: Request) -> str | None:
    """The token a state-changing request carries: header first, then the form field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def same_origin(request: Request, public_url: str | None) -> bool:
    """False when the browser tells us a state change comes from elsewhere.

    ``Sec-Fetch-Site`` (sent by current browsers) must be ``same-origin`` (or ``none``: typed
    by the user). ``Origin`` must name this host or ``public_url``'s; browsers send
    ``Origin: null`` for forms under ``Referrer-Policy: no-referrer``, which is accepted
    only when ``Sec-Fetch-Site`` vouches for it. No header at all: not a browser, and the
    CSRF token still has to match.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin == "null":
        return site == "same-origin"
    netloc = urlsplit(origin).netloc.lower()
    return bool(netloc) and netloc in _own_hosts(request, public_url)


def _own_hosts(request: Request, public_url: str | None) -> set[str]:
    hosts = {request.headers.get("host", "").lower()}
    if public_url:
        hosts.add(urlsplit(public_url).netloc.lower())
    return hosts - {""}


def safe_next(target: str | None, default: str = "/incidents") -> str:
    """``target`` if it is a path on this site (``/queue?brand=x``), else ``default``.

    Refused: absolute URLs, scheme-relative ``//host``, ``/\\host`` (browsers read ``\\``
    as ``/``), any control character or space (browsers drop tabs and newlines, turning
    ``/\\t/host`` into ``//host``), and anything over 2000 characters.
    """
    if not target or len(target) > 2000 or not target.startswith("/"):
        return default
    if _has_bad_chars(target) or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def _has_bad_chars(text: str) -> bool:
    return "\\" in text or any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in text)


def http_url(url: str | None) -> str | None:
    """``url`` when it is a plain http(s) link safe to put in ``href``; else None."""
    if not url or len(url) > 4000 or _has_bad_chars(url):
        return None
    if not url.lower().startswith(("http://", "https://")):
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url
