"""What a failed fetch says: every exception as one ``FetchError``, URLs fit for a message.

``translate`` is the only place where third-party exceptions (httpcore, httpx, zlib,
``OSError``) become ``monitor.errors`` types, and the fetcher calls it once per fetch:
nothing but ``FetchError`` (or ``asyncio.CancelledError``) leaves ``Fetcher.fetch``.
Messages name the URL, never a secret: ``redact_url`` drops userinfo and fragments and hides
secret-looking query values, and request headers (where API credentials travel) never
appear (docs/ARCHITECTURE.md, "Fetch: errors").
"""

from __future__ import annotations

import logging
import re
import zlib
from urllib.parse import urlsplit, urlunsplit

import httpcore
import httpx

from monitor.errors import FetchError, URLRefused, first_line

__all__ = ["redact_url", "translate"]

log = logging.getLogger("monitor.fetch")

_SECRET_PARAM = re.compile(r"token|key|secret|sig|pass|auth|session|credential|code", re.I)


def redact_url(url: str) -> str:
    """``url`` fit for a message: no userinfo, no fragment, secret-looking query values hidden."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unreadable URL)"
    netloc = parts.netloc.rpartition("@")[2]
    query = "&".join(_redact_param(p) for p in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _redact_param(param: str) -> str:
    name, sep, _value = param.partition("=")
    return f"{name}=REDACTED" if sep and _SECRET_PARAM.search(name) else param


_KINDS: tuple[tuple[type[BaseException], str], ...] = (
    (httpcore.ConnectTimeout, "connect"),
    (httpcore.TimeoutException, "timeout"),
    (httpcore.ProtocolError, "protocol"),
    (zlib.error, "protocol"),
    (httpcore.NetworkError, "connect"),  # ConnectError, ReadError, WriteError
    (OSError, "connect"),
)


def translate(exc: Exception, shown_url: str) -> FetchError:
    """Any exception from a fetch as the FetchError a user can read. The only translation."""
    if isinstance(exc, FetchError):
        return exc if exc.url else _naming(exc, shown_url)
    what = first_line(exc, limit=200)
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol | httpcore.UnsupportedProtocol):
        return URLRefused(f"{shown_url}: URL cannot be fetched: {what}", url=shown_url)
    if isinstance(exc, TimeoutError):
        return FetchError(
            "timeout", f"{shown_url}: no complete answer within the fetch deadline", url=shown_url
        )
    if isinstance(exc, httpcore.LocalProtocolError):  # its text quotes the header value
        return FetchError(
            "protocol",
            f"{shown_url}: the request is not valid HTTP (a header value with a line break or"
            " another control character?); not sent",
            url=shown_url,
        )
    for exc_type, kind in _KINDS:
        if isinstance(exc, exc_type):
            return FetchError(kind, f"{shown_url}: {what}", url=shown_url)
    log.error("unexpected error fetching %s", shown_url, exc_info=exc)
    return FetchError("protocol", f"{shown_url}: unexpected {what}", url=shown_url)


def _naming(error: FetchError, shown_url: str) -> FetchError:
    """The same error, its message prefixed with the URL (the gate does not know it)."""
    message = f"{shown_url}: {error}"
    if isinstance(error, URLRefused):
        return URLRefused(message, url=shown_url)
    return FetchError(
        error.kind, message, url=shown_url, status=error.status, retry_after=error.retry_after
    )
