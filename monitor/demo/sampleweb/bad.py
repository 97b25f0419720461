"""Routes under ``/bad/`` that misbehave on purpose (like Scrapy's mockserver).

Each is harmless to the server: nothing large is held in memory (``huge.xml`` is generated
while it streams; the gzip bomb is ~100 KB built once, lazily), and every long-running
route checks ``stopping`` so :meth:`SampleWeb.stop` ends it at once, and stops when the
client goes away.

==========================  ==================================================================
``malformed.xml``           RSS with an unclosed tag, cut off mid-item
``entity-bomb.xml``         "billion laughs" internal entities
``xxe.xml``                 external entities: ``file:///etc/passwd``, ``http://127.0.0.2:9/``
``latin1.xml``              ISO-8859-1 bytes, declared in the prolog and the header
``latin1-mislabelled.xml``  ISO-8859-1 bytes, header says ``charset=utf-8``, no prolog charset
``empty.xml``               200 with an empty body
``html-not-feed.xml``       an HTML page (``text/html``) where a feed is expected
``redirect-loop``           302 to ``redirect-loop-b``, which 302s back
``redirect-outside``        302 to ``http://127.0.0.2:<port>/feed.xml`` (``?port=``, default 9)
``redirect-ok``             302 to ``/news/rss.xml``
``huge.xml``                64 MiB of valid-looking RSS, chunked, generated on the fly
``gzip-bomb.xml``           ``Content-Encoding: gzip``, ~100 KB inflating to ~100 MiB
``slow-drip.xml``           headers, then one byte per ``drip_interval`` (0.5 s) forever
``hang``                    reads the request, never answers
``500`` ``503`` ``429``     errors; 503 ``Retry-After: 120``, 429 ``Retry-After: 30``
``429-date``                429 with ``Retry-After`` as an HTTP-date 90 s ahead
``garbage.xml``             8 KiB of random bytes (fixed seed)
``drop``                    ``Content-Length: 10000``, sends 1000 bytes, closes
``wrong-length``            ``Content-Length`` half the body (connection then closed)
==========================  ==================================================================
"""

from __future__ import annotations

import functools
import random
import select
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from email.utils import formatdate
from io import BufferedIOBase
from typing import Protocol

RSS = "application/rss+xml; charset=utf-8"
HUGE_BYTES = 64 * 1024 * 1024
BOMB_BYTES = 100 * 1024 * 1024
_MiB = 1024 * 1024


class Responder(Protocol):
    """What a bad route needs from the request handler."""

    wfile: BufferedIOBase
    connection: socket.socket
    close_connection: bool

    @property
    def stopping(self) -> threading.Event: ...

    @property
    def drip_interval(self) -> float: ...

    def query(self) -> dict[str, str]: ...

    def send_response(self, code: int, message: str | None = None) -> None: ...

    def send_header(self, keyword: str, value: str) -> None: ...

    def end_headers(self) -> None: ...

    def simple(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None: ...


# --- fixed bodies -------------------------------------------------------------------------

_MALFORMED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Broken feed</title><link>http://127.0.0.1/</link>
<description>Tags left open</description>
<item><title>Nordtel svarer ikke<title><link>http://127.0.0.1/bad/a</link>
<description>Første punkt</description></item>
<item><title>Andet punkt</title><link>http://127.0.0.1/bad/b</link><description>Det her
""".encode()

_LOLS = "".join(f'  <!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">\n' for i in range(1, 10))
_ENTITY_BOMB = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE rss [\n  <!ENTITY lol0 "lol">\n'
    f"{_LOLS}]>\n"
    '<rss version="2.0"><channel><title>&lol9;</title><link>http://127.0.0.1/</link>'
    "<description>laughs</description><item><title>&lol9;</title>"
    "<link>http://127.0.0.1/bad/lol</link><description>&lol9;</description></item>"
    "</channel></rss>\n"
).encode()

_XXE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE rss [
  <!ENTITY passwd SYSTEM "file:///etc/passwd">
  <!ENTITY remote SYSTEM "http://127.0.0.2:9/xxe">
]>
<rss version="2.0"><channel><title>XXE &passwd;</title><link>http://127.0.0.1/</link>
<description>&remote;</description>
<item><title>Leak: &passwd;</title><link>http://127.0.0.1/bad/xxe/1</link>
<description>Remote: &remote;</description></item></channel></rss>
"""

_LATIN1_ITEMS = """<rss version="2.0"><channel><title>Blåbær og rødgrød</title>
<link>http://127.0.0.1/</link><description>Æbler, øl og ål</description>
<item><title>Ærgerligt: Nordtel-nedbrud på Ærø</title><link>http://127.0.0.1/bad/l1</link>
<guid>latin1-1</guid><description>Kunderne på øen var uden net i to døgn.</description></item>
<item><title>Smørrebrød på én gang</title><link>http://127.0.0.1/bad/l2</link>
<guid>latin1-2</guid><description>Ingen mærker nævnt her. Blåbærtærte.</description></item>
</channel></rss>
"""
LATIN1_TITLE = "Ærgerligt: Nordtel-nedbrud på Ærø"
_LATIN1 = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n' + _LATIN1_ITEMS).encode("latin-1")
_LATIN1_BAD = ('<?xml version="1.0"?>\n' + _LATIN1_ITEMS).encode("latin-1")

_HTML_NOT_FEED = (
    b'<!DOCTYPE html>\n<html lang="da"><head><meta charset="utf-8"><title>Siden findes ikke'
    b"</title></head><body><h1>Ups!</h1><p>Vi kunne ikke finde siden. Pr\xc3\xb8v forsiden."
    b'</p><a href="/">Forside</a></body></html>\n'
)


@functools.cache
def garbage() -> bytes:
    return random.Random(20260301).randbytes(8192)


@functools.cache
def gzip_bomb() -> bytes:
    """~100 KB of gzip that inflates to ~100 MiB of whitespace inside an RSS channel.

    Built quickly: after a full flush the compressor forgets its history, so one
    compressed 1 MiB block of spaces can be repeated; header and trailer are written
    here (RFC 1952) with the CRC of the whole inflated text."""
    head = b'<?xml version="1.0"?><rss version="2.0"><channel><title>b'
    tail = b"</title></channel></rss>"
    block = b" " * _MiB
    count = BOMB_BYTES // _MiB
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(head) + comp.flush(zlib.Z_FULL_FLUSH)
    repeated = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    last = comp.compress(tail) + comp.flush()
    crc = zlib.crc32(head)
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + count * len(block) + len(tail)
    trailer = crc.to_bytes(4, "little") + (size & 0xFFFFFFFF).to_bytes(4, "little")
    return _GZIP_HEADER + first + repeated * count + last + trailer


_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"


def _static(body: bytes, content_type: str) -> Callable[[Responder], None]:
    return lambda h: h.simple(200, body, content_type)


def _status(code: int, headers: dict[str, str] | None = None) -> Callable[[Responder], None]:
    body = f"{code} error from the sample web\n".encode()
    return lambda h: h.simple(code, body, "text/plain; charset=utf-8", headers)


def _redirect(location: str) -> Callable[[Responder], None]:
    return lambda h: h.simple(302, b"", "text/plain", {"Location": location})


def _retry_date(h: Responder) -> None:
    when = formatdate(time.time() + 90, usegmt=True)
    h.simple(429, b"slow down\n", "text/plain; charset=utf-8", {"Retry-After": when})


def _redirect_outside(h: Responder) -> None:
    raw = h.query().get("port", "9")
    port = int(raw) if raw.isdigit() and 0 < int(raw) < 65536 else 9
    _redirect(f"http://127.0.0.2:{port}/feed.xml")(h)


# --- streaming and broken connections -----------------------------------------------------


def _gzip_bomb(h: Responder) -> None:
    h.simple(200, gzip_bomb(), RSS, {"Content-Encoding": "gzip"})


def _huge_chunks() -> Iterator[bytes]:
    yield b'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
    yield b"<title>Huge</title><link>http://127.0.0.1/</link><description>big</description>"
    filler = "Lorem ipsum om bredbånd og kundeservice. " * 8
    sent, n = 0, 0
    while sent < HUGE_BYTES:
        items = []
        for _ in range(128):
            n += 1
            items.append(
                f"<item><title>Punkt {n}</title><link>http://127.0.0.1/bad/huge/{n}</link>"
                f"<guid>huge-{n}</guid><description>{filler}</description></item>\n"
            )
        chunk = "".join(items).encode()
        sent += len(chunk)
        yield chunk
    yield b"</channel></rss>\n"


def _huge(h: Responder) -> None:
    h.send_response(200)
    h.send_header("Content-Type", RSS)
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    for chunk in _huge_chunks():
        if h.stopping.is_set() or not _write(h, b"%x\r\n%s\r\n" % (len(chunk), chunk)):
            h.close_connection = True
            return
    _write(h, b"0\r\n\r\n")


def _write(h: Responder, data: bytes) -> bool:
    """Write, reporting whether the client is still there."""
    try:
        h.wfile.write(data)
        h.wfile.flush()
    except OSError:
        return False
    return True


def _slow_drip(h: Responder) -> None:
    h.send_response(200)
    h.send_header("Content-Type", RSS)
    h.send_header("Connection", "close")
    h.end_headers()
    h.close_connection = True
    body = b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
    position = 0
    while not h.stopping.wait(h.drip_interval):
        byte = body[position % len(body) : position % len(body) + 1]
        position += 1
        if not _write(h, byte):
            return


def client_gone(sock: socket.socket) -> bool:
    """True when the peer has closed its side (a readable socket with nothing to read)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _hang(h: Responder) -> None:
    h.close_connection = True
    while not h.stopping.wait(0.1):
        if client_gone(h.connection):
            return


def _drop(h: Responder) -> None:
    body = (_LATIN1_ITEMS * 20).encode()[:1000]
    h.send_response(200)
    h.send_header("Content-Type", RSS)
    h.send_header("Content-Length", "10000")
    h.end_headers()
    _write(h, body)
    h.close_connection = True


def _wrong_length(h: Responder) -> None:
    body = _LATIN1_ITEMS.encode()
    h.send_response(200)
    h.send_header("Content-Type", RSS)
    h.send_header("Content-Length", str(len(body) // 2))
    h.send_header("Connection", "close")
    h.end_headers()
    _write(h, body)
    h.close_connection = True


BAD_ROUTES: dict[str, Callable[[Responder], None]] = {
    "malformed.xml": _static(_MALFORMED, RSS),
    "entity-bomb.xml": _static(_ENTITY_BOMB, RSS),
    "xxe.xml": _static(_XXE, RSS),
    "latin1.xml": _static(_LATIN1, "application/rss+xml; charset=ISO-8859-1"),
    "latin1-mislabelled.xml": _static(_LATIN1_BAD, RSS),
    "empty.xml": _static(b"", RSS),
    "html-not-feed.xml": _static(_HTML_NOT_FEED, "text/html; charset=utf-8"),
    "garbage.xml": lambda h: h.simple(200, garbage(), RSS),
    "redirect-loop": _redirect("/bad/redirect-loop-b"),
    "redirect-loop-b": _redirect("/bad/redirect-loop"),
    "redirect-outside": _redirect_outside,
    "redirect-ok": _redirect("/news/rss.xml"),
    "huge.xml": _huge,
    "gzip-bomb.xml": _gzip_bomb,
    "slow-drip.xml": _slow_drip,
    "hang": _hang,
    "500": _status(500),
    "503": _status(503, {"Retry-After": "120"}),
    "429": _status(429, {"Retry-After": "30"}),
    "429-date": _retry_date,
    "drop": _drop,
    "wrong-length": _wrong_length,
}
