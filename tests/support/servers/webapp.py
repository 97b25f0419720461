"""The web app served by the real server (uvicorn, as the daemon runs it) on 127.0.0.1,
in a thread of its own, for tests that talk to it over HTTP (a real client, a browser)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from starlette.types import ASGIApp

from monitor.web.server import listen, serve


@contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """``app`` listening on a free loopback port; yields its base URL, stops on exit."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    sock = listen("127.0.0.1:0")  # bound before the thread starts: a client can connect now
    bind = f"127.0.0.1:{sock.getsockname()[1]}"
    thread = threading.Thread(
        target=loop.run_until_complete, args=(serve(app, bind, stop, sock=sock),)
    )
    thread.start()
    try:
        yield f"http://{bind}"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=15)
        loop.close()
