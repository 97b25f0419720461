"""Small real HTTP/1.1 servers for tests, each on a loopback address and port 0, in a thread.

A ``Server`` maps paths to *routes*: functions that get the request handler and answer
however they like, including badly on purpose (Scrapy's test server does the same): never
answer, drip one byte at a time, close mid-body, send garbage. Every request is recorded
(path, headers, start and end times) and every accepted TCP connection is counted, so a
test can prove that *no* connection was made.

Routes that hang wait on ``server.stopping``, so ``stop()`` always ends them.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Route = Callable[["Handler"], None]


@dataclass
class Seen:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]
    started: float
    ended: float | None = None


@dataclass
class Log:
    requests: list[Seen] = field(default_factory=list)
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def paths(self) -> list[str]:
        with self.lock:
            return [seen.path for seen in self.requests]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def do_GET(self) -> None:
        seen = Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, time.monotonic())
        with self.server.log.lock:
            self.server.log.requests.append(seen)
        route = self.server.routes.get(self.path.split("?", 1)[0], text(b"not found", 404))
        try:
            route(self)
        finally:
            seen.ended = time.monotonic()

    def reply(self, status: int, body: bytes = b"", headers: Mapping[str, str] = {}) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read ``server.log`` instead


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, host: str, tls: ssl.SSLContext | None = None) -> None:
        super().__init__((host, 0), Handler)
        self.routes: dict[str, Route] = {}
        self.log = Log()
        self.stopping = threading.Event()
        self.tls = tls

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        with self.log.lock:
            self.log.connections += 1
        if self.tls is not None:  # the handshake happens in the handler's thread
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hang up on purpose in these tests (deadlines, size caps)


class Server:
    """A running server; ``url(path)`` builds URLs, ``routes`` and ``log`` are live."""

    def __init__(self, httpd: _HTTPServer) -> None:
        self._httpd = httpd
        self.routes = httpd.routes
        self.log = httpd.log
        self.host, self.port = httpd.server_address[:2]
        self.scheme = "https" if httpd.tls is not None else "http"

    def url(self, path: str = "/", host: str | None = None) -> str:
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"


@contextmanager
def serve(
    host: str = "127.0.0.1",
    routes: Mapping[str, Route] | None = None,
    tls: ssl.SSLContext | None = None,
) -> Iterator[Server]:
    """Run a server on ``host``:0 for the duration of the block (HTTPS with ``tls``)."""
    httpd = _HTTPServer(host, tls)
    httpd.routes.update(routes or {})
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield Server(httpd)
    finally:
        httpd.stopping.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def self_signed(directory: Path, name: str = "localhost") -> tuple[Path, Path]:
    """A certificate for ``name`` (and 127.0.0.1) and its key, made by the openssl CLI."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}"),
            *("-addext", f"subjectAltName=DNS:{name},IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def closed_port(host: str = "127.0.0.1") -> int:
    """A port on ``host`` where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------- routes


def text(body: bytes, status: int = 200, headers: Mapping[str, str] = {}) -> Route:
    return lambda h: h.reply(status, body, headers)


def redirect(location: str, status: int = 302) -> Route:
    return lambda h: h.reply(status, b"", {"Location": location})


def compressed(body: bytes, codings: str = "gzip") -> Route:
    data = body
    for coding in codings.split(","):
        data = gzip_bytes(data) if coding.strip() == "gzip" else zlib.compress(data)
    return lambda h: h.reply(200, data, {"Content-Encoding": codings})


def gzip_bytes(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    return packer.compress(data) + packer.flush()


def gzip_zeros(size: int, step: int = 1 << 20) -> bytes:
    """gzip of ``size`` zero bytes, built without holding them all (a bomb)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(step)
    parts = [packer.compress(zeros) for _ in range(size // step)]
    return b"".join(parts) + packer.flush()


def conditional(etag: str, last_modified: str, body: bytes) -> Route:
    """304 when either validator matches, else 200 with both validators."""

    def route(h: Handler) -> None:
        validators = {"ETag": etag, "Last-Modified": last_modified}
        if h.headers.get("If-None-Match") == etag:
            h.reply(304, b"", {"ETag": etag})
        elif h.headers.get("If-Modified-Since") == last_modified:
            h.reply(304)
        else:
            h.reply(200, body, validators)

    return route


def delayed(seconds: float, inner: Route) -> Route:
    """Answer after ``seconds`` (a slow server, not a test waiting)."""

    def route(h: Handler) -> None:
        h.server.stopping.wait(seconds)
        inner(h)

    return route


def never_answer(h: Handler) -> None:
    """Accept the request, never send a status line."""
    h.server.stopping.wait(30)
    h.close_connection = True


def slow_drip(h: Handler) -> None:
    """Headers at once, then one body byte every 0.2 s, forever."""
    h.send_response(200)
    h.send_header("Content-Length", str(10**9))
    h.end_headers()
    h.close_connection = True
    try:
        while not h.server.stopping.wait(0.2):
            h.wfile.write(b"x")
            h.wfile.flush()
    except OSError:
        pass  # the client gave up, as it should


def close_mid_body(h: Handler) -> None:
    """Promise 100 bytes, send 10, hang up."""
    h.send_response(200)
    h.send_header("Content-Length", "100")
    h.end_headers()
    h.wfile.write(b"0123456789")
    h.close_connection = True


def garbage(h: Handler) -> None:
    """Not HTTP at all."""
    h.wfile.write(b"SPAM SPAM SPAM\r\n\r\n")
    h.close_connection = True
