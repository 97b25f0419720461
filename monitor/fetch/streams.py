"""A lean asyncio byte stream: the connections under the fetcher's HTTP/1.1 client.

Why not anyio's socket streams (what httpcore uses by default)? Their per-call machinery
around each read and write (cancel scopes, ``fail_after``, attribute providers) is paid on
every request, and a sweep of feeds answering 304 is little else than requests; this
stream is an ``asyncio.Protocol`` with a buffer, a future to wait on and a timer, and
nothing else (docs/ARCHITECTURE.md, "Fetch: the transport").

Decisions, each with its reason:

- **Bounded buffering.** Reading pauses once ``HIGH_WATER`` bytes wait unread and resumes
  below ``LOW_WATER``: a server that sends faster than we decode cannot fill memory behind
  the fetcher's decoded-size cap.
- **Timeouts are per call and raise ``TimeoutError``**; peer failures raise ``OSError``
  (``ConnectionError`` or ``ssl.SSLError``); a clean end of stream reads as ``b""``.
  ``monitor.fetch.transport`` maps these onto httpcore's error types.
- **TLS upgrades in place** (``loop.start_tls``), so SNI and certificate checks use the
  host *name* the caller passes, whatever address was dialled.

Only the standard library is imported here.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024


class _Buffered(asyncio.Protocol):
    """Collects received bytes and wakes the one reader waiting for them."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: Exception | None = None
        self.paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # close our side too: HTTP/1.1 has no use for a half-open socket

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake()
        self.resume_writing()

    def pause_writing(self) -> None:
        if self._drained is None:
            self._drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait_readable(self, timeout: float | None) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await _within(self._waiter, timeout)
        finally:
            self._waiter = None

    async def wait_drained(self, timeout: float | None) -> None:
        if self._drained is not None:
            await _within(self._drained, timeout)


async def _within(future: asyncio.Future[None], timeout: float | None) -> None:
    """Await ``future``, failing it with TimeoutError after ``timeout`` seconds."""
    if timeout is None:
        await future
        return
    timer = asyncio.get_running_loop().call_later(timeout, _expire, future)
    try:
        await future
    finally:
        timer.cancel()


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


class Stream:
    """One TCP (or TLS) connection: ``read``, ``write``, ``start_tls``, ``close``."""

    def __init__(self, transport: asyncio.Transport, protocol: _Buffered) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Up to ``max_bytes`` bytes; ``b""`` at the end of the stream."""
        protocol = self._protocol
        if not protocol.buffer and not protocol.eof:
            await protocol.wait_readable(timeout)
        if protocol.buffer:
            data = bytes(protocol.buffer[:max_bytes])
            del protocol.buffer[:max_bytes]
            if protocol.paused and len(protocol.buffer) < LOW_WATER:
                protocol.paused = False
                self._transport.resume_reading()
            return data
        if protocol.error is not None:
            raise ConnectionResetError(f"connection lost: {protocol.error}")
        return b""

    async def write(self, data: bytes, timeout: float | None = None) -> None:
        if self._transport.is_closing():
            raise ConnectionResetError("connection closed")
        self._transport.write(data)
        await self._protocol.wait_drained(timeout)

    async def start_tls(
        self, context: ssl.SSLContext, server_hostname: str | None, timeout: float | None
    ) -> Stream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                upgraded = await loop.start_tls(
                    self._transport, self._protocol, context, server_hostname=server_hostname
                )
        except BaseException:
            self.close()
            raise
        assert isinstance(upgraded, asyncio.Transport)
        self._protocol.transport = upgraded  # the protocol now pauses the TLS transport
        return Stream(upgraded, self._protocol)

    def close(self) -> None:
        self._transport.close()

    @property
    def readable(self) -> bool:
        """Data or an end of stream is waiting: on an idle keep-alive connection, a sign
        the server closed it."""
        return bool(self._protocol.buffer) or self._protocol.eof

    def extra(self, name: str) -> Any:
        return self._transport.get_extra_info(name)


async def connect(
    address: str,
    port: int,
    timeout: float | None = None,
    local_address: str | None = None,
) -> Stream:
    """A connection to ``address`` (an IP literal: resolving names is the caller's job)."""
    loop = asyncio.get_running_loop()
    local = (local_address, 0) if local_address else None
    async with asyncio.timeout(timeout):
        transport, buffered = await loop.create_connection(
            _Buffered, address, port, local_addr=local
        )
    assert isinstance(transport, asyncio.Transport)
    return Stream(transport, buffered)
