"""The fetcher: one polite, guarded, bounded HTTP GET, following redirects by hand.

Decisions, each with its reason (docs/ARCHITECTURE.md, "Fetch: the client"):

- **Redirects by hand**, at most ``max_redirects``: every hop goes through the gate and
  robots.txt again; relative Locations are resolved; a URL seen twice is a loop.
- **An overall deadline** (``asyncio.timeout``) around each fetch, redirects and body
  included: the read timeout is per chunk, so a slow-drip server would otherwise hold a
  fetch forever. Time spent queueing behind our *own* politeness (host lock, interval)
  does not count: the clock is paused there, or a busy host's queue would time out.
- **Politeness**: one ``asyncio.Lock`` per host (one request in flight per host) and at
  least ``min_host_interval`` between request starts to a host; other hosts run freely.
- **API credentials travel as request headers** (``headers=``), sent only to the origin
  of the URL asked for: a redirect to another origin goes on without them, so a token
  never follows a redirect to a host it was not meant for. ``post`` (a login, e.g.
  Bluesky's createSession) follows no redirects and asks no robots.txt: it is an API call
  the operator configured, not crawling.
- **Rate limits**: 429/503 wait for Retry-After, else the platform's own reset header
  (``monitor.fetch.backoff.rate_limit_wait``); a 4xx carrying Graph's usage headers at
  their limit is a rate limit too (Facebook throttles with 400/403: ``throttled_for``).
- **One translation**: whatever goes wrong leaves ``fetch`` as the ``FetchError`` that
  ``monitor.fetch.translate`` makes of it, naming the URL, never a secret.
- ``Fetched.headers`` omit ``content-encoding`` and ``content-length``: they describe the
  body as sent, and ``Fetched.body`` is decoded (``monitor.fetch.decode``).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType, TracebackType
from urllib.parse import urlsplit

import httpcore
import httpx

from monitor.errors import FETCH_ERROR_KINDS, FetchError, URLRefused
from monitor.fetch import robots
from monitor.fetch.backoff import rate_limit_wait, throttled_for
from monitor.fetch.decode import ACCEPT_ENCODING
from monitor.fetch.gate import UrlGate
from monitor.fetch.translate import redact_url, translate
from monitor.fetch.transport import (
    Answer,
    build_request,
    guarded_transport,
    header_bytes,
    header_map,
)

__all__ = ["Conditional", "FetchPolicy", "Fetched", "Fetcher"]

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_RATE_LIMIT_STATUSES = frozenset({429, 503})
_BODY_HEADERS = frozenset({"content-encoding", "content-length"})


@dataclass(frozen=True)
class FetchPolicy:
    """How every fetch behaves. Built once from ``[network]`` settings."""

    user_agent: str = "Stormwatch/0.1 (+https://stormwatch.invalid/bot; brand monitor)"
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    deadline: float = 30.0  # overall wall-clock deadline per fetch, redirects included
    max_bytes: int = 10 * 1024 * 1024  # cap on DECODED bytes (gzip bombs)
    max_redirects: int = 5
    min_host_interval: float = 1.0  # min seconds between request starts to one host
    robots_ttl: float = 24 * 3600.0
    gate: UrlGate = field(default_factory=UrlGate)


@dataclass(frozen=True)
class Conditional:
    """Validators from the previous fetch of the same URL (conditional GET)."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Fetched:
    """A successful answer. ``headers`` have lower-case keys and describe the decoded body."""

    url: str
    final_url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed: float
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass
class _Host:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_start: float | None = None


@asynccontextmanager
async def _paused(budget: asyncio.Timeout) -> AsyncIterator[None]:
    """Stop the fetch deadline's clock while we wait on our own politeness."""
    when = budget.when()
    if when is None:
        yield
        return
    loop = asyncio.get_running_loop()
    remaining = when - loop.time()
    budget.reschedule(None)
    try:
        yield
    finally:
        budget.reschedule(loop.time() + remaining)


@dataclass
class _Hop:
    """The URL currently being fetched, so an error can name the hop where it happened."""

    url: str

    @property
    def shown(self) -> str:
        return redact_url(self.url)


class Fetcher:
    """Fetches URLs under a ``FetchPolicy``. One per process; share it between sources."""

    def __init__(
        self,
        policy: FetchPolicy = FetchPolicy(),
        *,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``ssl_context``: whom to trust for HTTPS (default: certifi's CAs, as httpx)."""
        self._policy = policy
        self._monotonic = monotonic
        self._now = now  # wall clock, only to read HTTP-date Retry-After headers
        self._transport = guarded_transport(policy.gate, ssl_context=ssl_context)
        self._timeouts = {
            "connect": policy.connect_timeout,
            "read": policy.read_timeout,
            "write": policy.read_timeout,
            "pool": policy.deadline,
        }
        self._headers = [
            (b"Accept", b"*/*"),
            (b"Accept-Encoding", ACCEPT_ENCODING),
            (b"User-Agent", header_bytes(policy.user_agent)),
        ]
        self._hosts: dict[str, _Host] = {}
        self._robots = robots.RobotsCache(self._get_robots, policy.robots_ttl, monotonic)
        self._counts: Counter[str] = Counter()

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    def stats(self) -> dict[str, int]:
        """Counters since start: requests sent, 304s, refusals, errors by kind."""
        names = ["requests", "fetches", "not_modified", "refused"]
        names += [f"errors_{kind}" for kind in FETCH_ERROR_KINDS]
        return {name: self._counts[name] for name in names}

    async def fetch(
        self,
        url: str,
        *,
        conditional: Conditional | None = None,
        respect_robots: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> Fetched:
        """GET ``url``; raise FetchError (kind says why) for anything but a usable answer.
        ``headers`` (credentials) go to ``url``'s origin only, never across a redirect."""
        started = self._monotonic()
        hop = _Hop(url)
        self._counts["fetches"] += 1
        try:
            async with asyncio.timeout(self._policy.deadline) as budget:
                answer = await self._follow(hop, conditional, respect_robots, budget, headers)
        except Exception as exc:
            error = self._failed(exc, hop)
            if error is exc:
                raise
            raise error from exc
        self._counts["not_modified"] += answer.status == 304
        return _fetched(url, answer, self._monotonic() - started, conditional)

    async def post(self, url: str, body: bytes, *, headers: Mapping[str, str]) -> Fetched:
        """POST ``body`` to ``url`` (an API login); 2xx or FetchError, no redirects."""
        started = self._monotonic()
        hop = _Hop(url)
        self._counts["fetches"] += 1
        try:
            async with asyncio.timeout(self._policy.deadline) as budget:
                host = self._policy.gate.check_url(url)
                limit = self._policy.max_bytes
                sent = {**headers, "Content-Length": str(len(body))}
                answer = await self._request(host, url, sent, budget, limit, body=body)
                if answer.status in _REDIRECT_STATUSES:
                    message = f"{hop.shown}: a POST was redirected"
                    raise FetchError("redirect", message, url=hop.shown)
                answer = self._accept(answer, hop)
        except Exception as exc:
            error = self._failed(exc, hop)
            if error is exc:
                raise
            raise error from exc
        return _fetched(url, answer, self._monotonic() - started, None)

    @asynccontextmanager
    async def stream(
        self, url: str, *, headers: Mapping[str, str], idle: float
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """A long-lived GET (Server-Sent Events): the body's chunks as they arrive. The
        connection and the answer's head are under the usual deadline; the body has none,
        but at most ``idle`` seconds may pass between chunks (a server's heartbeats keep
        it open). Through the gate; no redirects and no robots.txt (an API the operator
        configured, like ``post``); uncompressed, so each event is read as it comes; no
        host politeness (a stream would hold the host's turn forever)."""
        hop = _Hop(url)
        self._counts["fetches"] += 1
        try:
            async with asyncio.timeout(self._policy.deadline):
                self._policy.gate.check_url(url)
                plain = [h for h in self._headers if h[0] != b"Accept-Encoding"]
                timeouts = {**self._timeouts, "read": idle}
                request = build_request(httpx.URL(url), headers, defaults=plain, timeouts=timeouts)
                self._counts["requests"] += 1
                response = await self._transport.send(request)
        except Exception as exc:
            error = self._failed(exc, hop)
            raise error from (None if error is exc else exc)
        try:
            head = Answer(url, response.status, header_map(response.headers), b"")
            if not 200 <= response.status < 300:
                raise self._failed(self._refusal(head, hop), hop)
            yield self._chunks(response, hop)
        finally:
            await response.aclose()

    def _refusal(self, head: Answer, hop: _Hop) -> FetchError:
        """What a stream's non-2xx answer means (a 304 included: a stream has no cache)."""
        try:
            self._accept(head, hop)
        except FetchError as refusal:
            return refusal
        return FetchError("http_status", f"{hop.shown}: HTTP {head.status}", url=hop.shown)

    async def _chunks(self, response: httpcore.Response, hop: _Hop) -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_stream():
                yield chunk
        except Exception as exc:
            error = self._failed(exc, hop)
            raise error from (None if error is exc else exc)

    def _failed(self, exc: Exception, hop: _Hop) -> FetchError:
        """The FetchError to raise for ``exc`` (counted): ``exc`` itself if it is one."""
        error = translate(exc, hop.shown)
        self._count_error(error)
        return error

    def _count_error(self, error: FetchError) -> None:
        self._counts[f"errors_{error.kind}"] += 1
        self._counts["refused"] += isinstance(error, URLRefused)

    async def _follow(
        self,
        hop: _Hop,
        conditional: Conditional | None,
        respect_robots: bool,
        budget: asyncio.Timeout,
        extra: Mapping[str, str] | None = None,
    ) -> Answer:
        seen: set[str] = set()
        plain = _conditional_headers(conditional)
        signed = {**plain, **(extra or {})}
        origin = _origin(hop.url)
        for _ in range(self._policy.max_redirects + 1):
            headers = signed if _origin(hop.url) == origin else plain
            host = self._policy.gate.check_url(hop.url)
            if hop.url in seen:
                raise FetchError("redirect", f"{hop.shown}: redirect loop", url=hop.shown)
            seen.add(hop.url)
            target = httpx.URL(hop.url)  # parsed once for robots and the request
            if respect_robots:
                await self._check_robots(hop, target, budget)
            limit = self._policy.max_bytes
            answer = await self._request(host, hop.url, headers, budget, limit, target=target)
            if answer.status not in _REDIRECT_STATUSES:
                return self._accept(answer, hop)
            hop.url = _location(answer, hop)
        limit = self._policy.max_redirects
        raise FetchError("redirect", f"{hop.shown}: more than {limit} redirects", url=hop.shown)

    def _accept(self, answer: Answer, hop: _Hop) -> Answer:
        """The answer if usable (2xx, 304); otherwise the FetchError its status means."""
        status = answer.status
        if 200 <= status < 300 or status == 304:
            return answer
        throttled = throttled_for(answer.headers) if 400 <= status < 500 else None
        if status in _RATE_LIMIT_STATUSES or throttled is not None:
            wait = (
                throttled if throttled is not None else rate_limit_wait(answer.headers, self._now())
            )
            raise FetchError(
                "rate_limited",
                f"{hop.shown}: HTTP {status}, server asks us to slow down",
                url=hop.shown,
                status=status,
                retry_after=wait,
            )
        raise FetchError("http_status", f"{hop.shown}: HTTP {status}", url=hop.shown, status=status)

    async def _request(
        self,
        host: str,
        url: str,
        headers: Mapping[str, str],
        budget: asyncio.Timeout,
        limit: int,
        *,
        truncate: bool = False,
        target: httpx.URL | None = None,
        body: bytes | None = None,
    ) -> Answer:
        """One GET (a POST of ``body``) under the host's politeness; the body is read only
        for 2xx answers. ``target``: ``url`` already parsed."""
        parsed = target or httpx.URL(url)
        request = build_request(
            parsed, headers, defaults=self._headers, timeouts=self._timeouts, body=body
        )
        async with self._polite(host, budget):
            self._counts["requests"] += 1
            return await self._transport.exchange(request, url, limit, truncate=truncate)

    @asynccontextmanager
    async def _polite(self, host: str, budget: asyncio.Timeout) -> AsyncIterator[None]:
        """Hold the host's lock and keep ``min_host_interval`` between request starts."""
        state = self._hosts.setdefault(host, _Host())
        async with _paused(budget):
            await state.lock.acquire()
        try:
            if state.last_start is not None:
                wait = state.last_start + self._policy.min_host_interval - self._monotonic()
                if wait > 0:
                    async with _paused(budget):
                        await asyncio.sleep(wait)
            state.last_start = self._monotonic()
            yield
        finally:
            state.lock.release()

    async def _check_robots(self, hop: _Hop, target: httpx.URL, budget: asyncio.Timeout) -> None:
        rules = await self._robots.rules_for(target, budget)
        if not rules.allows(hop.url):
            raise FetchError("robots", f"{hop.shown}: disallowed by robots.txt", url=hop.shown)

    async def _get_robots(self, url: str, budget: asyncio.Timeout) -> Answer | None:
        """robots.txt, following up to 5 redirects through the gate; None if more."""
        hop = _Hop(url)
        for _ in range(robots.MAX_REDIRECTS + 1):
            host = self._policy.gate.check_url(hop.url)
            answer = await self._request(host, hop.url, {}, budget, robots.MAX_BYTES, truncate=True)
            if answer.status not in _REDIRECT_STATUSES:
                return answer
            hop.url = _location(answer, hop)
        return None


# ---------------------------------------------------------------- helpers


def _conditional_headers(conditional: Conditional | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if conditional is not None and conditional.etag:
        headers["If-None-Match"] = conditional.etag
    if conditional is not None and conditional.last_modified:
        headers["If-Modified-Since"] = conditional.last_modified
    return headers


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``url``: credentials are sent to this origin only."""
    try:
        parts = urlsplit(url)
        return (parts.scheme.lower(), (parts.hostname or "").lower(), parts.port)
    except ValueError:
        return ("", url, None)


def _location(answer: Answer, hop: _Hop) -> str:
    """The absolute redirect target (fragment dropped); FetchError('redirect') if unusable."""
    value = answer.headers.get("location", "").strip()
    if not value:
        raise FetchError("redirect", f"{hop.shown}: redirect without a Location", url=hop.shown)
    try:
        return str(httpx.URL(answer.url).join(value).copy_with(fragment=None))
    except (httpx.InvalidURL, ValueError, UnicodeError):
        raise FetchError("redirect", f"{hop.shown}: unusable Location", url=hop.shown) from None


def _fetched(url: str, answer: Answer, elapsed: float, conditional: Conditional | None) -> Fetched:
    headers = {k: v for k, v in answer.headers.items() if k not in _BODY_HEADERS}
    previous = conditional or Conditional()
    unchanged = answer.status == 304  # a 304 may omit validators: keep the ones we sent
    return Fetched(
        url=url,
        final_url=answer.url,
        status=answer.status,
        headers=MappingProxyType(headers),
        body=answer.body,
        elapsed=elapsed,
        etag=headers.get("etag") or (previous.etag if unchanged else None),
        last_modified=headers.get("last-modified")
        or (previous.last_modified if unchanged else None),
    )
