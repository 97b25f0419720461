"""robots.txt (RFC 9309, parsed by protego), cached per (scheme, host, port).

The file is fetched through the fetcher's own guarded path (``load``), so it passes the
gate, politeness and the deadline like any other request. Its answer decides
(docs/ARCHITECTURE.md, "Fetch: robots.txt"): 2xx is parsed; 4xx means allow all; 5xx/429
means disallow this attempt and is not cached; more than ``MAX_REDIRECTS`` redirects means
"unavailable", i.e. allow all; a network failure propagates as its own kind (so "host
down" is not reported as "robots"), which also means nothing was fetched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from protego import Protego

from monitor.errors import FetchError
from monitor.fetch.translate import redact_url
from monitor.fetch.transport import Answer

if TYPE_CHECKING:
    import httpx

__all__ = ["MAX_BYTES", "MAX_REDIRECTS", "ROBOTS_TOKEN", "Robots", "RobotsCache"]

ROBOTS_TOKEN = "Stormwatch"
MAX_BYTES = 512 * 1024  # RFC 9309: parse at least 500 KiB; ignore the rest
MAX_REDIRECTS = 5  # RFC 9309 §2.3.1.2

Loader = Callable[[str, asyncio.Timeout], Awaitable[Answer | None]]


@dataclass(frozen=True)
class Robots:
    parser: Protego | None  # None: allow everything
    expires: float

    def allows(self, url: str) -> bool:
        return self.parser is None or bool(self.parser.can_fetch(url, ROBOTS_TOKEN))


class RobotsCache:
    """The rules for each origin, loaded once per ``ttl`` seconds by ``load`` (robots.txt's
    URL and the fetch's deadline -> its answer, or None after too many redirects)."""

    def __init__(self, load: Loader, ttl: float, monotonic: Callable[[], float]) -> None:
        self._load = load
        self._ttl = ttl
        self._monotonic = monotonic
        self._rules: dict[tuple[str, str, int], Robots] = {}
        self._locks: dict[tuple[str, str, int], asyncio.Lock] = {}

    async def rules_for(self, url: httpx.URL, budget: asyncio.Timeout) -> Robots:
        key = _key(url)
        cached = self._rules.get(key)
        if cached is not None and cached.expires > self._monotonic():
            return cached  # the usual case, without queueing on the lock
        async with self._locks.setdefault(key, asyncio.Lock()):
            cached = self._rules.get(key)
            if cached is not None and cached.expires > self._monotonic():
                return cached
            rules = await self._fetch(url, budget)
            self._rules[key] = rules
            return rules

    async def _fetch(self, url: httpx.URL, budget: asyncio.Timeout) -> Robots:
        """RFC 9309 §2.3.1: 2xx parse, 4xx allow all, 5xx/429 disallow (not cached)."""
        answer = await self._load(str(url.copy_with(path="/robots.txt", query=None)), budget)
        expires = self._monotonic() + self._ttl
        if answer is None:  # more than 5 redirects: "unavailable", i.e. allow all
            return Robots(None, expires)
        if 200 <= answer.status < 300:
            text = answer.body.decode("utf-8", errors="replace")
            return Robots(Protego.parse(text), expires)
        if 400 <= answer.status < 500 and answer.status != 429:
            return Robots(None, expires)
        shown = redact_url(str(url))
        raise FetchError(
            "robots",
            f"{shown}: robots.txt answered HTTP {answer.status}; not fetching for now (RFC 9309)",
            url=shown,
            status=answer.status,
        )


def _key(url: httpx.URL) -> tuple[str, str, int]:
    port = url.port or (443 if url.scheme == "https" else 80)
    return (url.scheme, url.host, port)
