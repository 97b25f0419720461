"""The transport: one HTTP/1.1 exchange on a connection the address gate admitted.

Decisions, each with its reason (docs/ARCHITECTURE.md, "Fetch: the transport"):

- **Two pools behind one seam** (``POOLS``), both on public API only, so any httpcore 1.x
  will do: httpcore's ``AsyncConnectionPool``, whose documented ``network_backend`` seam is
  where the gate sits, and ``monitor.fetch.h11pool``, lock-free connections on h11 that the
  fetcher uses by default because the crawl benchmark's 304 sweep misses its target on
  httpcore's (see there why). Both dial through the same guarded backend;
  tests/monitor/fetch/test_fetch.py runs every fetch test on each.
- **The gate applies to the address actually connected to.** ``_GuardedBackend`` resolves
  the host itself (``getaddrinfo`` runs in the loop's thread pool), asks
  ``UrlGate.check_address`` about every candidate and connects only to an admitted IP.
  Checking names before the request is not enough: DNS decides where a name goes and can
  change its answer between check and connect (rebinding). Both pools call
  ``start_tls(server_hostname=<origin host>)`` on the stream we return, so TLS SNI and
  certificate checks still use the host *name*, not the IP we dialled.
- **No proxies**: through a proxy the gate would only ever see the proxy's address; the
  pools are built without one, and httpcore (unlike httpx's client) reads no proxy
  environment variables.
- **Lean asyncio streams** (``monitor.fetch.streams``) under the connections instead of
  anyio's: a sweep of 304s costs little more than its requests only if each read and write
  is cheap.
- **httpx's transport, not its client.** ``httpx.AsyncClient`` adds cookies, auth, event
  hooks and redirect machinery that the fetcher does not use (a cookie jar would even carry
  one site's state into the next request); ``build_request`` sends what httpx's client
  would send. URLs are still parsed and IDNA-encoded by ``httpx.URL``.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpcore
import httpx

from monitor.errors import URLRefused
from monitor.fetch import streams
from monitor.fetch.decode import read_body
from monitor.fetch.gate import UrlGate
from monitor.fetch.h11pool import H11Pool
from monitor.fetch.translate import redact_url

__all__ = [
    "DEFAULT_POOL",
    "POOLS",
    "Answer",
    "Pool",
    "Transport",
    "build_request",
    "guarded_transport",
    "header_bytes",
]

Pool = Literal["h11", "httpcore"]
POOLS: tuple[Pool, ...] = ("h11", "httpcore")
DEFAULT_POOL: Pool = "h11"
_DRAIN_BYTES = 64 * 1024


class _Connections(Protocol):
    """What a pool offers (``httpcore.AsyncConnectionPool``'s public methods)."""

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: ``headers`` with lower-case names, ``body`` decoded (2xx only)."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes


class Transport:
    """Sends requests over a connection pool and reads each answer to the end."""

    def __init__(self, pool: _Connections) -> None:
        self._pool = pool

    async def send(self, request: httpcore.Request) -> httpcore.Response:
        """The answer's head, its body still to read: ``aclose`` it to free the connection."""
        return await self._pool.handle_async_request(request)

    async def exchange(
        self, request: httpcore.Request, url: str, limit: int, *, truncate: bool = False
    ) -> Answer:
        """Send ``request`` (for ``url``); a 2xx body is decoded up to ``limit`` bytes (cut
        there if ``truncate``, else FetchError), any other body drained and dropped."""
        response = await self.send(request)
        try:
            headers = header_map(response.headers)
            body = b""
            if 200 <= response.status < 300:
                encoding = headers.get("content-encoding", "")
                chunks = response.aiter_stream()
                body = await read_body(chunks, encoding, limit, redact_url(url), truncate=truncate)
            else:
                await _drain(response)
            return Answer(url, response.status, headers, body)
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        await self._pool.aclose()


def guarded_transport(
    gate: UrlGate,
    inner: httpcore.AsyncNetworkBackend | None = None,
    ssl_context: ssl.SSLContext | None = None,
    *,
    pool: Pool | None = None,
) -> Transport:
    """A transport on ``pool`` (default ``DEFAULT_POOL``) whose every connection goes
    through ``gate`` (dialled by ``inner``, default ``monitor.fetch.streams``), trusting
    ``ssl_context`` (default: certifi's CAs, as httpx); keep-alive limits as httpx's
    defaults. No cap on open connections: the fetcher's politeness already allows only one
    request per host at a time."""
    backend = _GuardedBackend(gate, inner)
    context = ssl_context or httpx.create_ssl_context()
    limits = httpx.Limits()
    expiry = limits.keepalive_expiry or 5.0
    idle = limits.max_keepalive_connections or 20
    if (pool or DEFAULT_POOL) == "h11":
        return Transport(H11Pool(backend, context, keepalive_expiry=expiry, max_idle=idle))
    return Transport(
        httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=None,
            max_keepalive_connections=idle,
            keepalive_expiry=expiry,
            http1=True,
            http2=False,
            network_backend=backend,
        )
    )


def build_request(
    parsed: httpx.URL,
    headers: Mapping[str, str],
    *,
    defaults: list[tuple[bytes, bytes]],
    timeouts: Mapping[str, float],
    body: bytes | None = None,
) -> httpcore.Request:
    """A GET (a POST of ``body``), sent as httpx's client would send it (Host, then
    ``defaults``, then ``headers``) with no cookie jar: every fetch stands alone, so nothing
    a site sets follows us to the next request. ``parsed`` comes from ``httpx.URL``, which
    validates and IDNA-encodes as httpx's client does."""
    target = httpcore.URL(
        scheme=parsed.raw_scheme, host=parsed.raw_host, port=parsed.port, target=parsed.raw_path
    )
    extra = [(name.encode("ascii"), header_bytes(v)) for name, v in headers.items()]
    return httpcore.Request(
        b"GET" if body is None else b"POST",
        target,
        headers=[(b"Host", parsed.netloc), *defaults, *extra],
        content=body,
        extensions={"timeout": timeouts},
    )


def header_bytes(value: str) -> bytes:
    """Request header values: ISO-8859-1 where possible, so a validator read as such goes
    back byte for byte; UTF-8 otherwise."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def header_map(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
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


async def _drain(response: httpcore.Response) -> None:
    """Read the (usually empty) body of a 304, redirect or error answer, so the keep-alive
    connection goes back to the pool: an unread answer makes httpcore close it, and a new
    TCP connection per 304 would cost more than the 304 itself. A large error body is not
    worth reading: past ``_DRAIN_BYTES`` the connection is simply closed."""
    read = 0
    try:
        async for raw in response.aiter_stream():
            read += len(raw)
            if read > _DRAIN_BYTES:
                return
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.TimeoutException):
        return  # the answer is already known; a broken body only costs the connection


# ---------------------------------------------------------------- the guarded backend


async def _resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in resolver order (off the event loop)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves names itself and connects only to addresses the gate admits."""

    def __init__(self, gate: UrlGate, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._gate = gate
        self._inner = inner or _StreamsBackend()

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

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _StreamsBackend(httpcore.AsyncNetworkBackend):
    """Connections on ``monitor.fetch.streams`` (see there why not anyio's)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            stream = await streams.connect(host, port, timeout, local_address)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"no connection to {host}:{port} in time") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return _Stream(stream)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _Stream(httpcore.AsyncNetworkStream):
    """httpcore's stream interface over ``monitor.fetch.streams``, errors mapped to httpcore's."""

    def __init__(self, stream: streams.Stream) -> None:
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
