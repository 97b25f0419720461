"""A local mailbox for the demo: a minimal SMTP receiver on 127.0.0.1 writing to an mbox.

The demo's e-mail pages take the real path: the page goes to an Apprise ``mailto://``
channel, Apprise speaks SMTP to this receiver, and every message is appended to a standard
mbox file that any mail reader opens (``mutt -f stormwatch-demo/mailbox.mbox``). Standard
library only; it accepts mail from loopback for anyone and relays nothing.

Supported: HELO/EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT. Everything else (AUTH, STARTTLS)
is refused, so a client sends in the clear, as it may on loopback. A message over
:data:`MAX_BYTES` is refused.
"""

from __future__ import annotations

import contextlib
import mailbox
import socketserver
import threading
import time
import warnings
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType

__all__ = ["LocalMailbox", "read_mbox", "unpaced_email"]

MAX_BYTES = 1_000_000
MAX_LINE = 4096
NAME = b"stormwatch-demo"


class LocalMailbox:
    """Receive mail on ``127.0.0.1:port`` (0: any free port) into the mbox at ``path``."""

    def __init__(self, path: Path, port: int = 0) -> None:
        self.path = path
        self.port = port
        self.received = 0
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        server = _Server(("127.0.0.1", self.port), _Session)
        server.mailbox = self
        self._server, self.port = server, server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> LocalMailbox:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def deliver(self, sender: str, data: bytes) -> None:
        message = mailbox.mboxMessage(data)
        message.set_from(sender or "MAILER-DAEMON", time.gmtime())
        with self._lock:
            box = mailbox.mbox(self.path)
            try:
                box.add(message)
                box.flush()
            finally:
                box.close()
            self.received += 1


@contextlib.contextmanager
def unpaced_email() -> Iterator[None]:
    """Apprise waits 5.5 s between two e-mails through one channel (kind to real SMTP
    servers). The demo's mailbox is on loopback and its day runs at ~300x: inside this
    block (the demo's run, in its own process) Apprise's e-mail plugin does not wait."""
    with warnings.catch_warnings():  # its PGP helper imports the deprecated imghdr
        warnings.simplefilter("ignore", DeprecationWarning)
        from apprise.plugins.email.base import NotifyEmail

    before = NotifyEmail.request_rate_per_sec
    NotifyEmail.request_rate_per_sec = 0
    try:
        yield
    finally:
        NotifyEmail.request_rate_per_sec = before


def read_mbox(path: Path) -> list[EmailMessage]:
    """Every message in the mbox at ``path`` (none when it does not exist)."""
    if not path.exists():
        return []
    box = mailbox.mbox(path)
    try:
        return [_parsed(m.as_bytes()) for m in box]
    finally:
        box.close()


def _parsed(raw: bytes) -> EmailMessage:
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    mailbox: LocalMailbox


class _Session(socketserver.StreamRequestHandler):
    server: _Server
    timeout = 30
    sender: str
    recipients: list[str]

    def handle(self) -> None:
        self.reply(b"220 " + NAME + b" ESMTP")
        self.sender, self.recipients = "", []
        while line := self.rfile.readline(MAX_LINE):
            verb = line[:4].upper()
            if verb == b"QUIT":
                self.reply(b"221 bye")
                return
            self.command(verb, line.decode("utf-8", "replace").strip())

    def command(self, verb: bytes, line: str) -> None:
        if verb in (b"HELO", b"EHLO"):
            self.reply(b"250-" + NAME + b"\r\n250 8BITMIME" if verb == b"EHLO" else b"250 " + NAME)
        elif verb == b"MAIL":
            self.sender, self.recipients = _address(line), []
            self.reply(b"250 ok")
        elif verb == b"RCPT":
            self.recipients.append(_address(line))
            self.reply(b"250 ok")
        elif verb == b"DATA":
            self.data()
        elif verb in (b"RSET", b"NOOP"):
            self.reply(b"250 ok")
        else:
            self.reply(b"502 not implemented")

    def data(self) -> None:
        if not self.recipients:
            self.reply(b"503 need RCPT first")
            return
        self.reply(b"354 end with <CRLF>.<CRLF>")
        lines, size = [], 0
        while (line := self.rfile.readline(MAX_LINE)) not in (b".\r\n", b".\n", b""):
            size += len(line)
            if size <= MAX_BYTES:  # keep reading to the end, but do not keep it
                lines.append(line[1:] if line.startswith(b"..") else line)
        if size > MAX_BYTES:
            self.reply(b"552 message too large")
            return
        self.server.mailbox.deliver(self.sender, b"".join(lines))
        self.reply(b"250 ok: delivered")

    def reply(self, text: bytes) -> None:
        self.wfile.write(text + b"\r\n")
        self.wfile.flush()


def _address(line: str) -> str:
    """``MAIL FROM:<a@b> SIZE=1`` -> ``a@b``."""
    start, end = line.find("<"), line.find(">")
    return line[start + 1 : end] if 0 <= start < end else line.partition(":")[2].strip()
