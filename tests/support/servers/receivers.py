"""Real receivers on 127.0.0.1 for the alerts tests: an HTTP sink and an SMTP server.

``Receiver`` answers POSTs with a scripted sequence of statuses (then 2xx forever) and keeps
every body; ``smtp_server`` runs aiosmtpd on a port we pick ourselves (port 0 fails its
readiness probe). Both stop when the test ends. Nothing here sleeps to wait.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope

from tests.support.servers.ports import free_port


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """An HTTP sink: ``fail_first`` requests get ``fail_status``, later ones ``ok_status``."""

    fail_first: int = 0
    fail_status: int = 503
    ok_status: int = 200
    ok_body: bytes = b"{}"
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def answer(self, hit: Hit) -> tuple[int, bytes]:
        with self.lock:
            self.hits.append(hit)
            failing = len(self.hits) <= self.fail_first
        if failing:
            return self.fail_status, b'{"message": "failing on purpose", "errors": ["nope"]}'
        return self.ok_status, self.ok_body

    def accepted(self) -> list[Hit]:
        """Bodies of the requests that were answered with success."""
        with self.lock:
            return self.hits[self.fail_first :]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextmanager
def http_receiver(**kwargs: Any) -> Iterator[Receiver]:
    receiver = Receiver(**kwargs)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, reply = receiver.answer(Hit(self.path, headers, body))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    messages: list[Envelope] = field(default_factory=list)
    port: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.messages.append(envelope)
        return "250 Message accepted"


SMTP_USER, SMTP_PASSWORD = "pager", "Smtp-Pa55word-xyz"


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    """aiosmtpd with AUTH (plain text allowed on loopback) on a free port we pick."""
    mailbox = Mailbox(port=free_port())

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        good = data.login == SMTP_USER.encode() and data.password == SMTP_PASSWORD.encode()
        return AuthResult(success=good)

    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=mailbox.port,
        authenticator=authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()
