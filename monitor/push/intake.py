"""Pushed documents into the store: the crawl's own read and store path, batched.

A delivery is read like a fetched answer (``Crawler.read_pushed``: the source's adapter,
brands, language, on the parse workers), then stored (``Crawler.store_pushed``). Both
steps take whatever has gathered while the previous batch was busy: the deliveries that
arrive while a worker reads are handed to it together next (one hand-over instead of one
each), and those read while a transaction runs are written in the next one (group
commit). A burst of small deliveries thus costs a few hand-overs and transactions, not
one each (benchmarks/RESULTS.md, "Push intake"). A delivery is answered only once its
posts are committed: a sender whose delivery failed sends it again, so nothing is lost;
stored posts are recognised by their URL, so nothing is stored twice.

Then the runner is nudged (``EmbeddedRunner.nudge``): classify, detect and page run at once
instead of at the next tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from monitor.errors import FetchError, first_line
from monitor.sources import Request
from monitor.stages.crawl import Crawler, CrawlReport, Pushed, SourceResult

log = logging.getLogger("stormwatch.push")
MAX_READ_BATCH = 500  # documents handed to a worker at once: bounds one hand-over's size

_In = TypeVar("_In")
_Out = TypeVar("_Out")


@dataclass
class Batcher(Generic[_In, _Out]):
    """Runs ``work`` on everything that gathered while its previous run was busy, in up
    to ``lanes`` runs at once; each caller gets its own item's result, or the exception
    ``work`` raised or returned in its place."""

    work: Callable[[list[_In]], Awaitable[list[_Out | Exception]]]
    lanes: Callable[[], int] = lambda: 1
    most: int = MAX_READ_BATCH
    _waiting: list[tuple[_In, asyncio.Future[_Out]]] = field(default_factory=list)
    _running: set[asyncio.Task[None]] = field(default_factory=set)

    async def __call__(self, item: _In) -> _Out:
        done: asyncio.Future[_Out] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if len(self._running) < self.lanes():
            self._running.add(asyncio.create_task(self._drain()))
        return await done

    async def _drain(self) -> None:
        try:
            await self._batches()
        finally:  # at once, not in a done callback: a caller in between would wait forever
            task = asyncio.current_task()
            assert task is not None
            self._running.discard(task)

    async def _batches(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self.most], self._waiting[self.most :]
            try:
                results = await self.work([item for item, _ in batch])
            except Exception as exc:
                for _, done in batch:
                    done.set_exception(exc)
            else:
                for (_, done), result in zip(batch, results, strict=True):
                    if isinstance(result, Exception):
                        done.set_exception(result)
                    else:
                        done.set_result(result)


@dataclass
class Intake:
    """``crawler``: the current crawl stage (the pipeline is rebuilt on reload); ``nudge``:
    asks the runner for a pass after the crawl (None: the next tick picks the posts up)."""

    crawler: Callable[[], Crawler]
    nudge: Callable[[], None] | None = None
    _read: Batcher[Pushed, SourceResult] = field(init=False)
    _store: Batcher[tuple[SourceResult, datetime], None] = field(init=False)

    def __post_init__(self) -> None:
        processes = lambda: max(1, self.crawler().settings.crawl.parse_processes)  # noqa: E731
        self._read = Batcher(self._read_batch, processes)
        self._store = Batcher(self._store_batch, most=10_000)

    async def accept(
        self, name: str, request: Request, body: bytes, headers: Mapping[str, str], now: datetime
    ) -> CrawlReport:
        """Read, store and nudge. Raises what storing raised (the caller answers 503)."""
        result = await self._read(Pushed(name, request, body, headers))
        if result.report.error is None and result.candidates:
            await self._store((result, now))
        if (result.report.new or result.report.updated) and self.nudge is not None:
            self.nudge()
        return result.report

    async def _read_batch(self, documents: list[Pushed]) -> list[SourceResult | Exception]:
        """One hand-over; if a worker died on it, each document alone, so a document that
        kills workers fails alone (its sender is answered 503 and may try again)."""
        crawler = self.crawler()
        try:
            return list(await crawler.read_pushed(documents))
        except FetchError as exc:
            if len(documents) == 1:
                raise
            log.warning("pushed documents read one by one: %s", first_line(exc))
        return [await self._read_one(crawler, document) for document in documents]

    @staticmethod
    async def _read_one(crawler: Crawler, document: Pushed) -> SourceResult | Exception:
        try:
            (result,) = await crawler.read_pushed([document])
        except FetchError as exc:
            return exc
        return result

    async def _store_batch(
        self, batch: Sequence[tuple[SourceResult, datetime]]
    ) -> list[None | Exception]:
        """One transaction; its time is the first delivery's (when the posts were seen)."""
        results = [result for result, _ in batch]
        try:
            await asyncio.to_thread(self.crawler().store_pushed, results, batch[0][1])
        except Exception as exc:
            log.warning("pushed posts not stored: %s", first_line(exc))
            raise
        return [None for _ in results]
