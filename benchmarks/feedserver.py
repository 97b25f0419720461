"""A fast local feed server for benchmarks, run in its own process so it is not the
bottleneck: ``/f/{i}.xml`` is a 20-item RSS feed (items mention a brand, in Danish,
Swedish, Norwegian and English) with a strong ETag; a matching If-None-Match gets 304.

Raw asyncio HTTP/1.1 with keep-alive: a few thousand small responses per second on one
core, well above what a crawler that parses feeds can consume.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

ITEMS = 20
_TEXTS = [
    "Jeg har ventet i tre uger på at Nordtel sender en tekniker, og kundeservice svarer ikke.",
    "Nordtels app har været nede hele formiddagen, ingen kan se deres regning.",
    "Jag har ringt Nordtel fyra gånger om fakturan och fått fyra olika svar.",
    "Nordtel kom og fikset fiberen på under en time, veldig fornøyd med teknikeren.",
    "Nordtel announced a new mobile plan today with more data for the same price.",
]


def feed(i: int) -> bytes:
    base = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=i)
    items = []
    for n in range(ITEMS):
        when = format_datetime(base + timedelta(minutes=n * 7))
        text = _TEXTS[(i + n) % len(_TEXTS)]
        items.append(
            f"<item><title>Indlæg {n} om Nordtel (feed {i})</title>"
            f"<link>http://bench.invalid/f/{i}/p/{n}</link><guid>f{i}-p{n}</guid>"
            f"<pubDate>{when}</pubDate><dc:creator>kunde{n}</dc:creator>"
            f"<description>&lt;p&gt;{text} Sag {i}-{n}.&lt;/p&gt;</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>Feed {i}</title><link>http://bench.invalid/f/{i}</link>{''.join(items)}"
        "</channel></rss>"
    ).encode()


def etag(i: int) -> str:
    return f'"f{i}-v1"'


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            inm = {k.lower(): v for k, v in headers.items()}.get("if-none-match")
            writer.write(response(path, inm))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, IndexError):
        pass
    finally:
        writer.close()


def response(path: str, if_none_match: str | None) -> bytes:
    if path == "/robots.txt":
        return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    try:
        i = int(path.removeprefix("/f/").removesuffix(".xml"))
    except ValueError:
        return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    if if_none_match == etag(i):
        return f"HTTP/1.1 304 Not Modified\r\nETag: {etag(i)}\r\n\r\n".encode()
    body = feed(i)
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nETag: {etag(i)}\r\n\r\n"
    )
    return head.encode() + body


async def serve(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
