"""The fetch stage: one polite, guarded, bounded HTTP GET. The only module that imports httpx.

Design decisions, each with its reason:

- **One module owns httpx/httpcore** (ARCHITECTURE.md): switching to the httpx2 fork is a
  one-line import change, and third-party exceptions are translated into
  ``monitor.errors`` in exactly one place, ``_translate``, called once, in ``fetch``.
  Nothing but ``FetchError`` (or ``asyncio.CancelledError``) leaves ``fetch``.
- **The gate applies to the address actually connected to.** ``_GuardedBackend`` is an
  httpcore network backend that resolves the host itself (``getaddrinfo`` runs in the
  loop's thread pool), asks ``UrlGate.check_address`` about every candidate and connects
  only to an admitted IP. Checking names before the request is not enough: DNS decides
  where a name goes and can change its answer between check and connect (rebinding).
  httpcore calls ``start_tls(server_hostname=<origin host>)`` on the stream we return,
  so TLS SNI and certificate checks still use the host *name*, not the IP we dialled.
  No proxies: through a proxy the gate would only ever see the proxy's address.
- **httpx's transport, not its client.** Requests go straight to httpx's HTTP/1.1
  connections (httpcore, with h11 parsing every answer; ``_Connections`` keeps one per
  origin) over ``monitor.netio``'s asyncio streams.
  ``httpx.AsyncClient`` adds cookies, auth, event hooks and redirect machinery that we do
  not use (a cookie jar would even carry one site's state into the next request) and, on
  anyio's streams, cost twice a sync httpx request per 304: a sweep of 304s must cost
  little more than the requests themselves (benchmarks/crawl.py). URLs are still parsed
  and IDNA-encoded by ``httpx.URL``; the request carries what httpx's client would send.
- **Redirects by hand**, at most ``max_redirects``: every hop
  goes through the gate and robots.txt again; relative Locations are resolved; a URL seen
  twice is a loop.
- **An overall deadline** (``asyncio.timeout``) around each fetch, redirects and body
  included: the read timeout is per chunk, so a slow-drip server would otherwise hold
  a fetch forever. Time spent queueing behind our *own* politeness (host lock, interval)
  does not count: the clock is paused there, or a busy host's queue would time out.
- **Bodies are decoded here, with bounded output.** httpx's own decoders inflate a whole
  network chunk at once and stack ``Content-Encoding: gzip, gzip`` (and silently skip
  unknown codings), so one 64 KiB chunk of a double-gzip bomb can become gigabytes before
  anyone counts. We send ``Accept-Encoding: gzip, deflate``, read raw bytes, inflate in
  64 KiB steps and stop as soon as the *decoded* size passes ``max_bytes``. A single
  gzip/deflate coding is accepted; anything else is a protocol error. ``Fetched.headers``
  therefore omit ``content-encoding`` and ``content-length`` (they describe the body).
- **Politeness**: one ``asyncio.Lock`` per host (one request in flight per host) and at
  least ``min_host_interval`` between request starts to a host; other hosts run freely.
- **robots.txt** (RFC 9309, parsed by protego): fetched through the same guarded path,
  cached per (scheme, host, port) for ``robots_ttl``; 4xx means allow all; 5xx/429 means
  disallow this attempt and is not cached; a network failure propagates as its own kind
  (so "host down" is not reported as "robots"), which also means nothing was fetched.
- **API credentials travel as request headers** (``headers=``), sent only to the origin
  of the URL asked for: a redirect to another origin goes on without them, so a token
  never follows a redirect to a host it was not meant for. ``post`` (a login, e.g.
  Bluesky's createSession) follows no redirects and asks no robots.txt: it is an API call
  the operator configured, not crawling.
- **Rate limits**: 429/503 wait for Retry-After, else the platform's own reset header
  (``monitor.backoff.rate_limit_wait``); a 4xx carrying Graph's usage headers at their
  limit is a rate limit too (Facebook throttles with 400/403: ``throttled_for``).
- **Errors name the URL, never secrets**: messages carry the URL without userinfo and with
  secret-looking query values replaced; request headers never appear.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import ssl
import time
import zlib
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType, TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpcore
import httpx
from protego import Protego

from monitor.errors import FETCH_ERROR_KINDS, FetchError, URLRefused, first_line
from monitor.fetch import streams as netio
from monitor.fetch.backoff import rate_limit_wait, throttled_for
from monitor.fetch.gate import UrlGate

__all__ = ["ROBOTS_TOKEN", "Conditional", "FetchPolicy", "Fetched", "Fetcher", "redact_url"]

log = logging.getLogger(__name__)

ROBOTS_TOKEN = "Stormwatch"
_ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309: parse at least 500 KiB; ignore the rest
_ROBOTS_MAX_REDIRECTS = 5  # RFC 9309 §2.3.1.2
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_RATE_LIMIT_STATUSES = frozenset({429, 503})
_DECODE_STEP = 64 * 1024
_DRAIN_BYTES = 64 * 1024
_ZLIB_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": 15}
_BODY_HEADERS = frozenset({"content-encoding", "content-length"})
_SECRET_PARAM = re.compile(r"token|key|secret|sig|pass|auth|session|credential|code", re.I)


# ---------------------------------------------------------------- public data types


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


# ---------------------------------------------------------------- the guarded connection


async def _resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in resolver order (off the event loop)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _Stream(httpcore.AsyncNetworkStream):
    """httpcore's stream interface over ``monitor.netio``, its errors mapped to httpcore's."""

    def __init__(self, stream: netio.Stream) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return await self._stream.read(max_bytes, timeout)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout("no data within the read timeout") from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            await self._stream.write(buffer, timeout)
        except TimeoutError as exc:
            raise httpcore.WriteTimeout("could not send within the write timeout") from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        self._stream.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            return _Stream(await self._stream.start_tls(ssl_context, server_hostname, timeout))
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout("TLS handshake timed out") from exc
        except OSError as exc:  # ssl.SSLError included: a bad certificate is a connect error
            raise httpcore.ConnectError(str(exc)) from exc

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return self._stream.readable
        name = _EXTRA_INFO.get(info)
        return self._stream.extra(name) if name else None


# httpcore's names for a stream's details -> asyncio's transport names
_EXTRA_INFO = {
    "ssl_object": "ssl_object",
    "client_addr": "sockname",
    "server_addr": "peername",
    "socket": "socket",
}


class _AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Connections on ``monitor.netio`` (see there why not anyio's)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            stream = await netio.connect(host, port, timeout, local_address)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"no connection to {host}:{port} in time") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return _Stream(stream)


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves names itself and connects only to addresses the gate admits."""

    def __init__(self, gate: UrlGate, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._gate = gate
        self._inner = inner or _AsyncioBackend()

    def _admitted(self, host: str, addresses: list[str]) -> list[str]:
        admitted, refusals = [], []
        for address in addresses:
            try:
                self._gate.check_address(host, address)
                admitted.append(address)
            except URLRefused as exc:
                refusals.append(exc)
        if not admitted:
            raise refusals[0] if refusals else URLRefused(f"{host} resolves to no address")
        return admitted

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        last: Exception | None = None
        for address in self._admitted(host, await _resolve(host, port)):
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc  # try the next admitted address, as a resolver-aware client would
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise URLRefused("Unix sockets are never fetched")


class _Connections:
    """One keep-alive HTTP/1.1 connection per origin (scheme, host, port), reused while
    idle; at most ``max_idle`` kept, the least recently used closed first.

    Why not httpcore's connection pool: politeness already allows one request per host at
    a time, so a pool's bookkeeping (queued requests, connection assignment, cancellation
    shields) bought nothing here, and cost more CPU per request than a 304 answer itself
    (benchmarks/crawl.py). Each connection is still httpcore's, h11 reading every answer.
    """

    def __init__(
        self,
        backend: httpcore.AsyncNetworkBackend,
        ssl_context: ssl.SSLContext,
        *,
        keepalive_expiry: float = 5.0,
        max_idle: int = 20,
    ) -> None:
        self._backend = backend
        self._ssl_context = ssl_context
        self._ssl_context.set_alpn_protocols(["http/1.1"])  # as httpcore's: no HTTP/2
        self._keepalive_expiry = keepalive_expiry
        self._max_idle = max_idle
        self._idle: OrderedDict[tuple[bytes, bytes, int], httpcore.AsyncHTTP11Connection] = (
            OrderedDict()
        )

    async def send(
        self, request: httpcore.Request
    ) -> tuple[httpcore.Response, httpcore.AsyncHTTP11Connection]:
        """The answer's head (its body still to read) and the connection to ``release``."""
        connection = await self._take(request)
        try:
            return await connection.handle_async_request(request), connection
        except BaseException:
            await connection.aclose()
            raise

    async def release(
        self, connection: httpcore.AsyncHTTP11Connection, origin: httpcore.Origin
    ) -> None:
        """Keep the connection if its answer was read to the end and it is still open."""
        if connection.is_idle() and not connection.is_closed():
            self._idle[_origin_key(origin)] = connection
            while len(self._idle) > self._max_idle:
                await self._idle.popitem(last=False)[1].aclose()
        else:
            await connection.aclose()

    async def _take(self, request: httpcore.Request) -> httpcore.AsyncHTTP11Connection:
        await self._close_expired()
        origin = request.url.origin
        idle = self._idle.pop(_origin_key(origin), None)
        if idle is not None and not idle.has_expired():
            return idle
        if idle is not None:
            await idle.aclose()
        return await self._open(origin, request.extensions.get("timeout", {}).get("connect"))

    async def _open(
        self, origin: httpcore.Origin, timeout: float | None
    ) -> httpcore.AsyncHTTP11Connection:
        """A new connection, as httpcore's own would open it: TCP through the guarded
        backend, TLS with SNI and certificate checks by host name, HTTP/1.1 only."""
        host = origin.host.decode("ascii")
        stream = await self._backend.connect_tcp(host, origin.port, timeout=timeout)
        try:
            if origin.scheme == b"https":
                stream = await stream.start_tls(self._ssl_context, host, timeout=timeout)
        except BaseException:
            await stream.aclose()
            raise
        return _HTTP11(origin, stream, self._keepalive_expiry)

    async def _close_expired(self) -> None:
        """The least recently used come first: close them while they have expired."""
        while self._idle:
            oldest = next(iter(self._idle.values()))
            if not oldest.has_expired():
                return
            await self._idle.popitem(last=False)[1].aclose()

    async def aclose(self) -> None:
        idle, self._idle = list(self._idle.values()), OrderedDict()
        for connection in idle:
            await connection.aclose()


class _HTTP11(httpcore.AsyncHTTP11Connection):
    """httpcore's HTTP/1.1 connection (h11 parses every answer) without its state lock.

    The lock guards the connection's state against concurrent requests, and
    ``_Connections`` lends a connection to one request at a time, so there is nothing to
    guard; but under asyncio that lock is anyio's, which yields to the event loop on every
    acquire, twice per request (three times with httpcore's ``AsyncHTTPConnection`` around
    it, which ``_Connections._open`` replaces): a tenth of a 304's cost
    (benchmarks/crawl.py).
    httpcore is pinned (pyproject.toml); a version without ``_state_lock`` fails here, at
    the first connection, not silently.
    """

    def __init__(
        self, origin: httpcore.Origin, stream: httpcore.AsyncNetworkStream, keepalive: float
    ) -> None:
        super().__init__(origin, stream, keepalive_expiry=keepalive)
        if not hasattr(self, "_state_lock"):
            raise RuntimeError("httpcore's HTTP/1.1 connection changed: see fetch._HTTP11")
        self._state_lock = nullcontext()  # type: ignore[assignment]  # async-capable no-op


def _origin_key(origin: httpcore.Origin) -> tuple[bytes, bytes, int]:
    return (origin.scheme, origin.host, origin.port)


def _connections(
    gate: UrlGate,
    inner: httpcore.AsyncNetworkBackend | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> _Connections:
    """Connections on ``_GuardedBackend``, trusting ``ssl_context`` (default: certifi's
    CAs, as httpx), keep-alive and idle limits as httpx's defaults."""
    limits = httpx.Limits()
    return _Connections(
        _GuardedBackend(gate, inner),
        ssl_context or httpx.create_ssl_context(),
        keepalive_expiry=limits.keepalive_expiry or 5.0,
        max_idle=limits.max_keepalive_connections or 20,
    )


# ---------------------------------------------------------------- bounded body decoding


class _Decoder:
    """Inflates gzip/deflate in steps of ``_DECODE_STEP`` decoded bytes (or passes through)."""

    def __init__(self, wbits: int | None) -> None:
        self._wbits = wbits
        self._zlib = zlib.decompressobj(wbits) if wbits is not None else None
        self._fed = False

    @classmethod
    def for_encoding(cls, header: str, url: str) -> _Decoder:
        codings = [c.strip().lower() for c in header.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if not codings:
            return cls(None)
        if len(codings) == 1 and codings[0] in _ZLIB_WBITS:
            return cls(_ZLIB_WBITS[codings[0]])
        raise FetchError("protocol", f"{url}: unsupported Content-Encoding {header!r}", url=url)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:
            yield data
            return
        if not self._fed and self._wbits == 15 and not _has_zlib_header(data):
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as httpx allows
        self._fed = self._fed or bool(data)
        pending = data
        while pending and not self._zlib.eof:
            out = self._zlib.decompress(pending, _DECODE_STEP)
            pending = self._zlib.unconsumed_tail
            if out:
                yield out

    def finish(self) -> None:
        if self._zlib is not None and self._fed and not self._zlib.eof:
            raise zlib.error("compressed body ends before the end of its stream")


def _has_zlib_header(data: bytes) -> bool:
    """RFC 1950 header: compression method 8 and a check value divisible by 31."""
    return len(data) >= 2 and data[0] & 0x0F == 8 and ((data[0] << 8) | data[1]) % 31 == 0


async def _read_body(
    response: httpcore.Response, encoding: str, limit: int, url: str, *, truncate: bool
) -> bytes:
    """The decoded body, at most ``limit`` bytes: cut there (``truncate``) or FetchError."""
    decoder = _Decoder.for_encoding(encoding, url)
    body = bytearray()
    async for raw in response.aiter_stream():
        for piece in decoder.feed(raw):
            body += piece
            if len(body) > limit:
                if truncate:
                    return bytes(body[:limit])
                raise FetchError(
                    "too_large", f"{url}: body is larger than {limit} bytes (decoded)", url=url
                )
    decoder.finish()
    return bytes(body)


async def _drain(response: httpcore.Response) -> None:
    """Read the (usually empty) body of a 304, redirect or error answer, so the keep-alive
    connection goes back to the pool: an unread response forces httpcore to close it, and
    a new TCP connection per 304 would cost more than the 304 itself. A large error body is
    not worth reading: past ``_DRAIN_BYTES`` the connection is simply closed."""
    read = 0
    try:
        async for raw in response.aiter_stream():
            read += len(raw)
            if read > _DRAIN_BYTES:
                return
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.TimeoutException):
        return  # the answer is already known; a broken body only costs the connection


# ---------------------------------------------------------------- one answer, politeness


@dataclass(frozen=True)
class _Answer:
    url: str
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes


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


# ---------------------------------------------------------------- robots.txt


@dataclass(frozen=True)
class _Robots:
    parser: Protego | None  # None: allow everything
    expires: float

    def allows(self, url: str) -> bool:
        return self.parser is None or bool(self.parser.can_fetch(url, ROBOTS_TOKEN))


def _robots_key(url: httpx.URL) -> tuple[str, str, int]:
    port = url.port or (443 if url.scheme == "https" else 80)
    return (url.scheme, url.host, port)


# ---------------------------------------------------------------- the fetcher


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
        self._connections = _connections(policy.gate, ssl_context=ssl_context)
        self._timeouts = {
            "connect": policy.connect_timeout,
            "read": policy.read_timeout,
            "write": policy.read_timeout,
            "pool": policy.deadline,
        }
        self._headers = [
            (b"Accept", b"*/*"),
            (b"Accept-Encoding", b"gzip, deflate"),
            (b"User-Agent", _header_bytes(policy.user_agent)),
        ]
        self._hosts: dict[str, _Host] = {}
        self._robots: dict[tuple[str, str, int], _Robots] = {}
        self._robots_locks: dict[tuple[str, str, int], asyncio.Lock] = {}
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
        await self._connections.aclose()

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

    def _failed(self, exc: Exception, hop: _Hop) -> FetchError:
        """The FetchError to raise for ``exc`` (counted): ``exc`` itself if it is one."""
        error = _translate(exc, hop.shown)
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
    ) -> _Answer:
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

    def _accept(self, answer: _Answer, hop: _Hop) -> _Answer:
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
    ) -> _Answer:
        """One GET (a POST of ``body``) under the host's politeness; the body is read only
        for 2xx answers. ``target``: ``url`` already parsed."""
        request = self._build_request(target or httpx.URL(url), headers, body)
        async with self._polite(host, budget):
            self._counts["requests"] += 1
            response, connection = await self._connections.send(request)
            try:
                answer = _header_map(response.headers)
                content = b""
                if 200 <= response.status < 300:
                    encoding = answer.get("content-encoding", "")
                    shown = redact_url(url)
                    content = await _read_body(response, encoding, limit, shown, truncate=truncate)
                else:
                    await _drain(response)
                return _Answer(url, response.status, answer, content)
            finally:
                await response.aclose()
                await self._connections.release(connection, request.url.origin)

    def _build_request(
        self, parsed: httpx.URL, headers: Mapping[str, str], body: bytes | None = None
    ) -> httpcore.Request:
        """A GET for httpx's connections, sent as httpx's client would send it (Host,
        Accept, our User-Agent) with no cookie jar: every fetch stands alone, so nothing a
        site sets follows us to the next request, and no client layers we do not use
        (cookies, auth, hooks, redirects) cost time on every request. ``parsed`` comes from
        ``httpx.URL``, which validates and IDNA-encodes as httpx's client does."""
        target = httpcore.URL(
            scheme=parsed.raw_scheme, host=parsed.raw_host, port=parsed.port, target=parsed.raw_path
        )
        extra = [(name.encode("ascii"), _header_bytes(v)) for name, v in headers.items()]
        return httpcore.Request(
            b"GET" if body is None else b"POST",
            target,
            headers=[(b"Host", parsed.netloc), *self._headers, *extra],
            content=body,
            extensions={"timeout": self._timeouts},
        )

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
        rules = await self._robots_for(target, budget)
        if not rules.allows(hop.url):
            raise FetchError("robots", f"{hop.shown}: disallowed by robots.txt", url=hop.shown)

    async def _robots_for(self, url: httpx.URL, budget: asyncio.Timeout) -> _Robots:
        key = _robots_key(url)
        cached = self._robots.get(key)
        if cached is not None and cached.expires > self._monotonic():
            return cached  # the usual case, without queueing on the lock
        async with self._robots_locks.setdefault(key, asyncio.Lock()):
            cached = self._robots.get(key)
            if cached is not None and cached.expires > self._monotonic():
                return cached
            rules = await self._load_robots(url, budget)
            self._robots[key] = rules
            return rules

    async def _load_robots(self, url: httpx.URL, budget: asyncio.Timeout) -> _Robots:
        """RFC 9309 §2.3.1: 2xx parse, 4xx allow all, 5xx/429 disallow (not cached)."""
        answer = await self._get_robots(str(url.copy_with(path="/robots.txt", query=None)), budget)
        expires = self._monotonic() + self._policy.robots_ttl
        if answer is None:  # more than 5 redirects: "unavailable", i.e. allow all
            return _Robots(None, expires)
        if 200 <= answer.status < 300:
            text = answer.body.decode("utf-8", errors="replace")
            return _Robots(Protego.parse(text), expires)
        if 400 <= answer.status < 500 and answer.status != 429:
            return _Robots(None, expires)
        shown = redact_url(str(url))
        raise FetchError(
            "robots",
            f"{shown}: robots.txt answered HTTP {answer.status}; not fetching for now (RFC 9309)",
            url=shown,
            status=answer.status,
        )

    async def _get_robots(self, url: str, budget: asyncio.Timeout) -> _Answer | None:
        """robots.txt, following up to 5 redirects through the gate; None if more."""
        hop = _Hop(url)
        for _ in range(_ROBOTS_MAX_REDIRECTS + 1):
            host = self._policy.gate.check_url(hop.url)
            answer = await self._request(
                host, hop.url, {}, budget, _ROBOTS_MAX_BYTES, truncate=True
            )
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


def _header_map(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Response headers as a dict with lower-case names; a repeated header is joined with
    ", " (RFC 9110 §5.3). Values are UTF-8 where they decode, else ISO-8859-1."""
    headers: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        text = _header_text(value)
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


def _header_text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _header_bytes(value: str) -> bytes:
    """Request header values: ISO-8859-1 where possible, so a validator read as such goes
    back byte for byte; UTF-8 otherwise."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``url``: credentials are sent to this origin only."""
    try:
        parts = urlsplit(url)
        return (parts.scheme.lower(), (parts.hostname or "").lower(), parts.port)
    except ValueError:
        return ("", url, None)


def _location(answer: _Answer, hop: _Hop) -> str:
    """The absolute redirect target (fragment dropped); FetchError('redirect') if unusable."""
    value = answer.headers.get("location", "").strip()
    if not value:
        raise FetchError("redirect", f"{hop.shown}: redirect without a Location", url=hop.shown)
    try:
        return str(httpx.URL(answer.url).join(value).copy_with(fragment=None))
    except (httpx.InvalidURL, ValueError, UnicodeError):
        raise FetchError("redirect", f"{hop.shown}: unusable Location", url=hop.shown) from None


def _fetched(url: str, answer: _Answer, elapsed: float, conditional: Conditional | None) -> Fetched:
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


# ---------------------------------------------------------------- the one translation

_KINDS: tuple[tuple[type[BaseException], str], ...] = (
    (httpcore.ConnectTimeout, "connect"),
    (httpcore.TimeoutException, "timeout"),
    (httpcore.ProtocolError, "protocol"),
    (zlib.error, "protocol"),
    (httpcore.NetworkError, "connect"),  # ConnectError, ReadError, WriteError
    (OSError, "connect"),
)


def _translate(exc: Exception, shown_url: str) -> FetchError:
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
