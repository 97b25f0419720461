"""The crawl's PassWriter: one batch writes while the next fills; a full batch waits."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from monitor.stages.crawl import CrawlReport, PassWriter, Plan, SourceResult


class HeldWriter(PassWriter):
    """Records batches; each write blocks until the test releases it."""

    def __init__(self, batch_sources: int) -> None:
        crawler: Any = SimpleNamespace(batch_posts=10_000, batch_sources=batch_sources)
        plan = Plan(ids={}, validators={}, backoff={}, sources={}, state_ids={})
        super().__init__(crawler, datetime(2026, 11, 28, tzinfo=UTC), plan)
        self.batches: list[list[int]] = []
        self.release = threading.Event()
        self.started = threading.Event()

    def _write(self, batch: list[SourceResult]) -> None:
        self.started.set()
        assert self.release.wait(timeout=30), "test never released the write"
        self.batches.append([r.source_id for r in batch])


def _result(n: int) -> SourceResult:
    return SourceResult(n, CrawlReport(f"s{n}"))


async def _idle(rounds: int = 20) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


def test_a_full_batch_waits_for_the_write_in_flight() -> None:
    async def scenario() -> HeldWriter:
        writer = HeldWriter(batch_sources=2)
        await writer.add(_result(1))
        await writer.add(_result(2))  # full: starts writing in the background, returns
        await asyncio.to_thread(writer.started.wait, 30)
        await writer.add(_result(3))  # fills the next batch while the first is written
        fourth = asyncio.ensure_future(writer.add(_result(4)))  # full again: must wait
        await _idle()
        assert not fourth.done(), "a second full batch did not wait for the first write"
        assert writer.batches == []
        writer.release.set()
        await fourth
        await writer.flush()
        return writer

    writer = asyncio.run(scenario())
    assert writer.batches == [[1, 2], [3, 4]]


def test_flush_writes_what_is_left_after_the_write_in_flight() -> None:
    async def scenario() -> HeldWriter:
        writer = HeldWriter(batch_sources=2)
        writer.release.set()
        for n in range(1, 6):
            await writer.add(_result(n))
        await writer.flush()
        return writer

    assert asyncio.run(scenario()).batches == [[1, 2], [3, 4], [5]]
