"""Pushed documents into the store: the crawl's own read and store path, group-committed.

A delivery is read like a fetched answer (``Crawler.read_pushed``: the source's adapter,
brands, language, on the parse workers), then waits for its write. Writes are grouped:
one writer writes everything that arrived while the previous write ran, in one
transaction (``Crawler.store_pushed``), so a burst of small deliveries costs a few
transactions, not one each (benchmarks/RESULTS.md, "Push intake"). A delivery is answered
only once its posts are committed: a hub whose delivery failed sends it again, so nothing
is lost; stored posts are recognised by their URL, so nothing is stored twice.

Then the runner is nudged (``EmbeddedRunner.nudge``): classify, detect and page run at once
instead of at the next tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from monitor.sources import Request
from monitor.stages.crawl import Crawler, CrawlReport, SourceResult

log = logging.getLogger("stormwatch.push")


@dataclass
class _Waiting:
    result: SourceResult
    done: asyncio.Future[None]


@dataclass
class Intake:
    """``crawler``: the current crawl stage (the pipeline is rebuilt on reload); ``nudge``:
    asks the runner for a pass after the crawl (None: the next tick picks the posts up)."""

    crawler: Callable[[], Crawler]
    nudge: Callable[[], None] | None = None
    _waiting: list[_Waiting] = field(default_factory=list)
    _writer: asyncio.Task[None] | None = None

    async def accept(
        self, name: str, request: Request, body: bytes, headers: Mapping[str, str], now: datetime
    ) -> CrawlReport:
        """Read, store and nudge. Raises what storing raised (the caller answers 503)."""
        result = await self.crawler().read_pushed(name, request, body, headers)
        if result.report.error is None and result.candidates:
            await self._stored(result, now)
        if (result.report.new or result.report.updated) and self.nudge is not None:
            self.nudge()
        return result.report

    async def _stored(self, result: SourceResult, now: datetime) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(result, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(now))
        await done

    async def _write(self, now: datetime) -> None:
        """Write what waits, in one transaction, until nothing waits."""
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                results = [w.result for w in batch]
                await asyncio.to_thread(self.crawler().store_pushed, results, now)
            except Exception as exc:
                log.warning("pushed posts not stored: %s", str(exc).splitlines()[0][:300])
                for waiting in batch:
                    waiting.done.set_exception(exc)
            else:
                for waiting in batch:
                    waiting.done.set_result(None)
