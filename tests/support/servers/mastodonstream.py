"""A Mastodon instance on 127.0.0.1 whose hashtag stream drops, as documented:

- ``GET /api/v1/streaming/hashtag?tag=TAG``: ``text/event-stream`` (chunked), an
  ``update`` event per new status (``data:`` the status JSON) and ``:thump`` heartbeats;
- ``GET /api/v1/timelines/tag/TAG``: the timeline, paged as the real one
  (``fakeplatform.MastodonInstance``).

Each connection follows a script, publishing statuses as it goes: ``gap`` statuses while
nobody listens (they reach the timeline only), then the answer's head, then (once the
timeline has been read: the subscriber's gap poll) ``streamed`` statuses as whole events,
then, for the first ``drops`` connections, one more status whose event is cut in half by
closing the socket mid-chunk. The connection after the last drop streams its statuses and
ends cleanly; any later one ends at once. ``on_finished`` is called when that clean end is
written.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.servers.fakeplatform import Call, MastodonInstance, mastodon_status

STREAM_PATH = "/api/v1/streaming/hashtag"


@dataclass
class DroppingStream:
    drops: int = 100
    gap: int = 2
    streamed: int = 2
    # A rate limit no test reaches: a spent one would (rightly) hold the gap polls back.
    instance: MastodonInstance = field(
        default_factory=lambda: MastodonInstance([], "token", limit=1_000_000)
    )
    connections: int = 0
    on_finished: Callable[[], None] = lambda: None
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Set when the timeline is read: a connection streams what it publishes only after
    # the subscriber's gap poll, so the stream (not only the poll) carries posts.
    polled: threading.Event = field(default_factory=threading.Event)

    @property
    def published(self) -> list[dict[str, Any]]:
        return self.instance.statuses

    def publish(self) -> dict[str, Any]:
        with self.lock:
            sid = len(self.instance.statuses) + 1
            status = mastodon_status(sid, f"#nordtel nede igen, nummer {sid}", _at(sid))
            self.instance.statuses.append(status)
            return status

    def script(self) -> tuple[bool, bool]:
        """(whether this connection drops, whether it is past the script)."""
        with self.lock:
            self.connections += 1
            number = self.connections
            self.polled.clear()
        return number <= self.drops, number > self.drops + 1


def _at(sid: int) -> str:
    return f"2026-11-02T08:{sid // 60 % 60:02d}:{sid % 60:02d}.000Z"


def _event(status: dict[str, Any]) -> bytes:
    return b"event: update\ndata: " + json.dumps(status).encode() + b"\n\n"


def _handler(stream: DroppingStream) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == STREAM_PATH:
                self._stream()
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = stream.instance.tag(
                Call("GET", parts.path, parse_qs(parts.query), headers, b"")
            )
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            stream.polled.set()

        def _stream(self) -> None:
            drops, past = stream.script()
            if not past:
                for _ in range(stream.gap):
                    stream.publish()
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._chunk(b":thump\n\n")
            if past:
                self._end()
                return
            stream.polled.wait(10)
            for _ in range(stream.streamed):
                self._chunk(_event(stream.publish()))
            if drops:
                whole = _event(stream.publish())
                half = whole[: len(whole) // 2]
                self.wfile.write(b"%x\r\n" % len(whole) + half)  # the chunk never completes
                self.wfile.flush()
                self.close_connection = True
                return
            self._end()
            stream.on_finished()

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def _end(self) -> None:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return _Handler


@contextmanager
def dropping_stream(stream: DroppingStream) -> Iterator[str]:
    """Serve ``stream``; yields the instance's base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stream))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
