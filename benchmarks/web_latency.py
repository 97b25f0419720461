"""Web UI latency per request on one keep-alive connection, with and without TCP_NODELAY.

A real uvicorn server (``monitor.web.server.serve``) with the real app on a fresh SQLite
database answers ``GET /healthz`` and ``GET /login``; one ``httpx.Client`` sends them one
after another on a single kept-alive connection. Without TCP_NODELAY every response after
the first waits for the client's delayed ACK (~40 ms on Linux), because uvicorn writes the
head and the body separately and Nagle holds the second write back. "before" listens on a
socket made as ``listen`` made it before the fix (no protocol named, no TCP_NODELAY);
"after" uses ``listen`` as it is.

Run: ``.venv/bin/python benchmarks/web_latency.py [--requests 200]``
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.settings import DatabaseSettings, parse_settings
from monitor.storage.db import make_engine, upgrade
from monitor.web import create_app
from monitor.web.server import listen, serve


def old_listen(bind: str) -> socket.socket:
    """The listening socket as it was made before TCP_NODELAY."""
    host, _, port = bind.rpartition(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def timings(make_socket: Callable[[str], socket.socket], path: str, n: int) -> list[float]:
    """Milliseconds of each of ``n`` sequential requests on one connection (first dropped)."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp}/web.db"))
        upgrade(engine)
        settings = parse_settings({"web": {"secret_key": "k" * 32}})
        app = create_app(settings, engine)
        sock = make_socket("127.0.0.1:0")
        bind = f"127.0.0.1:{sock.getsockname()[1]}"
        loop, stop = asyncio.new_event_loop(), asyncio.Event()
        server = threading.Thread(
            target=loop.run_until_complete, args=(serve(app, bind, stop, sock=sock),)
        )
        server.start()
        try:
            return _client(f"http://{bind}{path}", n)
        finally:
            loop.call_soon_threadsafe(stop.set)
            server.join(timeout=15)
            loop.close()
            engine.dispose()


def _client(url: str, n: int) -> list[float]:
    spent = []
    with httpx.Client() as client:
        for _ in range(n + 1):
            started = time.perf_counter()
            client.get(url).raise_for_status()
            spent.append((time.perf_counter() - started) * 1000)
    return spent[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    print("| socket | path | requests | median ms | p95 ms | total s |")
    print("|---|---|---:|---:|---:|---:|")
    for label, make in (("before (no TCP_NODELAY)", old_listen), ("after (TCP_NODELAY)", listen)):
        for path in ("/healthz", "/login"):
            spent = timings(make, path, args.requests)
            p95 = statistics.quantiles(spent, n=20)[18]
            print(
                f"| {label} | {path} | {len(spent)} | {statistics.median(spent):.2f} "
                f"| {p95:.2f} | {sum(spent) / 1000:.2f} |"
            )


if __name__ == "__main__":
    main()
