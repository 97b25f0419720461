"""Bodies decoded here, with bounded output: the decoded-size cap against gzip bombs.

httpx's own decoders inflate a whole network chunk at once and stack
``Content-Encoding: gzip, gzip`` (and silently skip unknown codings), so one network chunk
of a double-gzip bomb can become gigabytes before anyone counts. The fetcher therefore
sends ``Accept-Encoding: ACCEPT_ENCODING``, reads raw bytes and lets ``read_body`` inflate
them in ``_DECODE_STEP`` steps, stopping as soon as the *decoded* size passes the limit. A
single gzip/deflate coding is accepted; anything else is a protocol error
(docs/ARCHITECTURE.md, "Fetch: bounded bodies").
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterable, Iterator

from monitor.errors import FetchError

__all__ = ["ACCEPT_ENCODING", "read_body"]

ACCEPT_ENCODING = b"gzip, deflate"
_DECODE_STEP = 64 * 1024
_ZLIB_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": 15}


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


async def read_body(
    chunks: AsyncIterable[bytes], encoding: str, limit: int, url: str, *, truncate: bool
) -> bytes:
    """The decoded body, at most ``limit`` bytes: cut there (``truncate``) or FetchError."""
    decoder = _Decoder.for_encoding(encoding, url)
    body = bytearray()
    async for raw in chunks:
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
