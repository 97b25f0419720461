"""Keep-alive HTTP/1.1 connections driven by h11 directly: the fetcher's default pool.

It stands beside httpcore's public ``AsyncConnectionPool`` (``transport.POOLS``) for one
reason, the cost of a request: httpcore's connections guard their state with anyio locks,
each of which yields to the event loop on every acquire, several times per request, and on
that pool the crawl benchmark's sweep of 304s misses its target (docs/ARCHITECTURE.md,
"Fetch: the transport"). The fetcher's politeness lends a host one request at a time, so
this pool lends each connection to one request at a time and needs no locks at all.

Both pools take the same ``httpcore.Request``, answer with httpcore's public ``Response``
and dial through the same guarded network backend (so the gate, SNI by host name and the
no-proxy rule hold for both); tests/monitor/fetch/test_fetch.py runs every fetch test on
each. h11 parses every answer here as it does inside httpcore, with httpcore's limits, and
its errors are raised as httpcore's, so ``monitor.fetch.translate`` sees one set of exception types.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable

import h11
import httpcore

__all__ = ["H11Pool"]

_READ_BYTES = 64 * 1024  # as httpcore's AsyncHTTP11Connection.READ_NUM_BYTES
_MAX_HEAD = 100 * 1024  # as httpcore's MAX_INCOMPLETE_EVENT_SIZE: a larger head is refused

_Key = tuple[bytes, bytes, int]
_DISCONNECTED = "Server disconnected without sending a response."  # httpcore's words


class H11Pool:
    """One keep-alive connection per origin (scheme, host, port), reused while idle; at
    most ``max_idle`` kept, the least recently used closed first. The same two methods as
    ``httpcore.AsyncConnectionPool``: ``handle_async_request`` and ``aclose``."""

    def __init__(
        self,
        backend: httpcore.AsyncNetworkBackend,
        ssl_context: ssl.SSLContext,
        *,
        keepalive_expiry: float,
        max_idle: int,
    ) -> None:
        self._backend = backend
        self._ssl_context = ssl_context
        self._ssl_context.set_alpn_protocols(["http/1.1"])  # as httpcore's: no HTTP/2
        self._keepalive_expiry = keepalive_expiry
        self._max_idle = max_idle
        self._idle: OrderedDict[_Key, _Connection] = OrderedDict()

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        """The answer's head; its body still to read. Closing the response gives the
        connection back (kept if the answer was read to the end)."""
        connection = await self._take(request)
        try:
            return await connection.send(request, self._release)
        except BaseException:
            await connection.aclose()
            raise

    async def aclose(self) -> None:
        idle, self._idle = list(self._idle.values()), OrderedDict()
        for connection in idle:
            await connection.aclose()

    async def _release(self, connection: _Connection) -> None:
        if not connection.next_cycle(time.monotonic() + self._keepalive_expiry):
            await connection.aclose()
            return
        self._idle[_key(connection.origin)] = connection
        while len(self._idle) > self._max_idle:
            await self._idle.popitem(last=False)[1].aclose()

    async def _take(self, request: httpcore.Request) -> _Connection:
        await self._close_expired()
        origin = request.url.origin
        idle = self._idle.pop(_key(origin), None)
        if idle is not None and not idle.has_expired(time.monotonic()):
            return idle
        if idle is not None:
            await idle.aclose()
        return await self._open(origin, request.extensions.get("timeout", {}).get("connect"))

    async def _open(self, origin: httpcore.Origin, timeout: float | None) -> _Connection:
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
        return _Connection(origin, stream)

    async def _close_expired(self) -> None:
        """The least recently used come first: close them while they have expired."""
        now = time.monotonic()
        while self._idle:
            oldest = next(iter(self._idle.values()))
            if not oldest.has_expired(now):
                return
            await self._idle.popitem(last=False)[1].aclose()


def _key(origin: httpcore.Origin) -> _Key:
    return (origin.scheme, origin.host, origin.port)


class _Connection:
    """One HTTP/1.1 connection: h11's state machine over a network stream."""

    def __init__(self, origin: httpcore.Origin, stream: httpcore.AsyncNetworkStream) -> None:
        self.origin = origin
        self._stream = stream
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD)
        self._expires_at = float("inf")

    async def send(
        self, request: httpcore.Request, release: Callable[[_Connection], Awaitable[None]]
    ) -> httpcore.Response:
        timeouts = request.extensions.get("timeout", {})
        # a server may answer (an error) before it has read the whole request: read it
        with contextlib.suppress(httpcore.WriteError):
            await self._send_request(request, timeouts.get("write"))
        read_timeout = timeouts.get("read")
        event = await self.next_event(read_timeout)
        while not isinstance(event, h11.Response):  # skip 1xx interim answers
            event = await self.next_event(read_timeout)
        return httpcore.Response(
            status=event.status_code,
            headers=event.headers.raw_items(),
            content=_Body(self, read_timeout, release),
            extensions={"http_version": b"HTTP/" + event.http_version},
        )

    async def _send_request(self, request: httpcore.Request, timeout: float | None) -> None:
        try:
            head = h11.Request(
                method=request.method, target=request.url.target, headers=request.headers
            )
        except h11.LocalProtocolError as exc:  # a header h11 will not send
            raise httpcore.LocalProtocolError(str(exc)) from exc
        await self._send(head, timeout)
        assert isinstance(request.stream, AsyncIterable)
        async for chunk in request.stream:
            if chunk:
                await self._send(h11.Data(data=chunk), timeout)
        await self._send(h11.EndOfMessage(), timeout)

    async def _send(self, event: h11.Event, timeout: float | None) -> None:
        try:
            data = self._h11.send(event)
        except h11.LocalProtocolError as exc:
            raise httpcore.LocalProtocolError(str(exc)) from exc
        if data:
            await self._stream.write(data, timeout)

    async def next_event(self, timeout: float | None) -> h11.Event | type[h11.PAUSED]:
        """The next part of the answer, reading from the network as h11 needs."""
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:  # as httpcore's, for the one translation
                raise httpcore.RemoteProtocolError(str(exc)) from exc
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]  # NEED_DATA is ruled out
            data = await self._stream.read(_READ_BYTES, timeout)
            if data == b"" and self._h11.their_state == h11.SEND_RESPONSE:
                raise httpcore.RemoteProtocolError(_DISCONNECTED)
            self._h11.receive_data(data)

    def next_cycle(self, expires_at: float) -> bool:
        """Ready the connection for the next request; False if it cannot be reused (the
        answer was not read to the end, or either side asked to close)."""
        if self._h11.our_state is not h11.DONE or self._h11.their_state is not h11.DONE:
            return False
        self._h11.start_next_cycle()
        self._expires_at = expires_at
        return True

    def has_expired(self, now: float) -> bool:
        """Idle past its keep-alive, or readable while idle: the server closed it."""
        return now > self._expires_at or bool(self._stream.get_extra_info("is_readable"))

    async def aclose(self) -> None:
        await self._stream.aclose()


class _Body:
    """An answer's body as an async iterable; ``aclose`` hands the connection back."""

    def __init__(
        self,
        connection: _Connection,
        timeout: float | None,
        release: Callable[[_Connection], Awaitable[None]],
    ) -> None:
        self._connection = connection
        self._timeout = timeout
        self._release = release
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            event = await self._connection.next_event(self._timeout)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage) or event is h11.PAUSED:
                return

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._release(self._connection)
