"""A pass fetches ``[network] concurrency`` sources at once, never more, and reports them in
the order asked (real servers, one per loopback address: politeness allows one request
per host at a time; 127.0.0.2 stays the "outside" address of the other tests)."""

from __future__ import annotations

import asyncio
import threading
from contextlib import ExitStack
from pathlib import Path

from monitor.pipeline import build_pipeline
from monitor.settings import parse_settings
from monitor.storage.db import upgrade
from tests.support.fixtures.clock import T0
from tests.support.servers.httpservers import Handler, serve

FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
    b"<item><title>Nothing to see</title><link>http://127.0.0.1/x</link></item>"
    b"</channel></rss>"
)
LANES = 3
HOSTS = ["127.0.0.1", *(f"127.0.0.{n}" for n in range(3, 9))]
SOURCES = len(HOSTS)


class InFlight:
    """Counts requests being answered. The first LANES are held until all of them are in
    flight (fewer lanes: a lower peak) and then for ``GRACE`` seconds more, in which an
    extra lane's request would arrive and raise the peak; after that nothing is held."""

    GRACE = 0.5

    def __init__(self) -> None:
        self.now = self.peak = 0
        self.lock = threading.Lock()
        self.full = threading.Event()
        self.released = threading.Event()

    def route(self, h: Handler) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            if self.now >= LANES:
                self.full.set()
        if not self.released.is_set():
            self.full.wait(5)
            self.released.wait(self.GRACE)
            self.released.set()
        with self.lock:
            self.now -= 1
        h.reply(200, FEED, {"Content-Type": "application/rss+xml"})


def test_a_pass_keeps_exactly_concurrency_sources_in_flight(tmp_path: Path) -> None:
    flight = InFlight()
    with ExitStack() as stack:
        servers = [stack.enter_context(serve(host, {"/f": flight.route})) for host in HOSTS]
        settings = parse_settings(
            {
                "database": {"url": f"sqlite:///{tmp_path / 'lanes.db'}"},
                "network": {
                    "allowed_hosts": HOSTS,
                    "min_host_interval": 0.0,
                    "concurrency": LANES,
                },
                "crawl": {"parse_processes": 0},
                "brands": [{"name": "Nordtel"}],
                "sources": [
                    {"name": f"s{i}", "kind": "feed", "url": server.url("/f")}
                    for i, server in enumerate(servers)
                ],
            }
        )
        names = [s.name for s in reversed(settings.sources)]

        async def go() -> list[str]:
            app = build_pipeline(settings)
            upgrade(app.engine)
            try:
                reports = await app.crawler.crawl(names, T0)
            finally:
                await app.aclose()
            assert [r.error for r in reports] == [None] * SOURCES
            return [r.source for r in reports]

        assert asyncio.run(go()) == names
        assert [len([s for s in srv.log.requests if s.path == "/f"]) for srv in servers] == [
            1
        ] * SOURCES
    assert flight.peak == LANES
