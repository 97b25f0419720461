"""What each cluster job does: the SAME stage code as the embedded daemon's tick.

    tick      sources due now (one transaction, the sources table synced with the config)
              -> one crawl job per due source; a classify, a detect and a page job
    crawl     Crawler.crawl([source], sync=False) if the source is still due (a named
              reason otherwise); the tick has synced the sources table already
    classify  ClassifyStage.run_once
    detect    DetectStage.step, after catching up (monitor.runner.cluster.detect)
    page      PagingStage.step: plan due pages into the outbox, drain it

Every stage is guarded as in monitor.runner.embedded: a failure is logged with its first line,
counted and shown by /readyz, and the job ends with that reason as its result (work not
done is still in the database: the next tick queues it again). Database and model work
run in worker threads, never on the event loop the web UI shares. ``now`` is read once
per job from ``clock``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Literal

import procrastinate
import sqlalchemy as sa
from procrastinate.exceptions import AlreadyEnqueued
from sqlmodel import col, select

from monitor.metrics import Metrics
from monitor.pipeline import Pipeline
from monitor.runner.cluster import detect
from monitor.runner.cluster.queue import CLASSIFY, CRAWL, DETECT, PAGE, host_lock
from monitor.runner.ticks import Health, Ledger
from monitor.storage import repo
from monitor.storage.db import session_scope
from monitor.storage.models import Source

log = logging.getLogger("stormwatch.cluster")
# procrastinate's own table: sources whose crawl job waits ("todo") or runs ("doing")
BUSY_CRAWLS = sa.text(
    "SELECT DISTINCT args->>'source' FROM procrastinate_jobs"
    " WHERE task_name = :task AND status IN ('todo', 'doing')"
)
NotDue = Literal["not_configured", "not_due"]  # why a queued crawl job did not crawl


class Work:
    def __init__(
        self,
        pipeline: Pipeline,
        queue: procrastinate.App | None,
        *,
        health: Health,
        metrics: Metrics,
        clock: Callable[[], datetime],
    ) -> None:
        self.pipeline = pipeline
        self.queue = queue  # set by the runner once the queue is built
        self.clock = clock
        self.ledger = Ledger(health, metrics, clock)

    # --- tick -------------------------------------------------------------------------

    async def tick(self) -> str:
        now = self.clock()
        due = await self.ledger.stage("crawl", lambda: asyncio.to_thread(self._due, now))
        if due is None:
            return self.ledger.failed("crawl")
        queued = 0
        for name, url in due:
            queued += await self._defer(
                CRAWL, lock=host_lock(url), queueing_lock=f"crawl:{name}", source=name
            )
        for task in (CLASSIFY, DETECT, PAGE):
            await self._defer(task)
        log.info("tick", extra={"due": len(due), "queued": queued})
        return f"{len(due)} due, {queued} crawl(s) queued"

    def _due(self, now: datetime) -> list[tuple[str, str]]:
        """Due sources without a crawl job already waiting or running. Without the second
        condition every tick re-deferred the whole backlog: a refused duplicate per waiting
        source and a job that would only skip as ``not_due`` per running one, database
        round trips that cost the cluster its speed-up (benchmarks/cluster.py)."""
        settings = self.pipeline.settings
        with session_scope(self.pipeline.engine) as session:
            repo.sync_sources(session, settings, now)
            configured = {s.name for s in settings.sources}
            busy = set(session.execute(BUSY_CRAWLS, {"task": CRAWL}).scalars())
            return [
                (s.name, s.url)
                for s in repo.due_sources(session, now)
                if s.name in configured and s.name not in busy
            ]

    async def _defer(
        self, task: str, lock: str | None = None, queueing_lock: str | None = None, **args: str
    ) -> int:
        """Queue one job (locks: the task's own unless given); 0 when one with the same
        queueing lock is already waiting."""
        assert self.queue is not None, "the runner sets the queue before any job runs"
        job = self.queue.configure_task(
            task, allow_unknown=False, lock=lock, queueing_lock=queueing_lock
        )
        try:
            await job.defer_async(**args)
        except AlreadyEnqueued:
            return 0
        return 1

    # --- the stages ---------------------------------------------------------------------

    async def crawl(self, source: str) -> str:
        now = self.clock()
        skipped = await asyncio.to_thread(self._not_due, source, now)
        if skipped is not None:
            log.info("crawl skipped", extra={"source": source, "reason": skipped})
            return skipped
        reports = await self.ledger.stage(
            "crawl", lambda: self.pipeline.crawler.crawl([source], now, sync=False)
        )
        if reports is None:
            return self.ledger.failed("crawl")
        self.ledger.crawled(reports)
        for report in reports:
            fields = {"source": source, "requests": report.requests, "new": len(report.new)}
            log.info("crawled", extra={**fields, "error": report.error, "skipped": report.skipped})
        return "; ".join(r.error or r.skipped or f"{len(r.new)} new" for r in reports)

    def _not_due(self, name: str, now: datetime) -> NotDue | None:
        """A named reason not to crawl ``name`` now, or None. Run under the source's host
        lock, so no other crawl of this source can start or finish meanwhile."""
        if name not in {s.name for s in self.pipeline.settings.sources}:
            return "not_configured"  # this process's settings do not name it
        with session_scope(self.pipeline.engine) as session:
            due = session.exec(
                select(Source.id)
                .where(col(Source.name) == name)
                .where(col(Source.enabled).is_(True))
                .where(sa.or_(col(Source.next_due_at).is_(None), col(Source.next_due_at) <= now))
            ).first()
        return None if due is not None else "not_due"  # crawled meanwhile, or disabled

    async def classify(self) -> str:
        stage = self.pipeline.classify
        read = await self.ledger.stage("classify", lambda: stage.run(self.clock()))
        if read is None:
            return self.ledger.failed("classify")
        self.ledger.classified(read)
        if read.unavailable:
            return f"classifier unavailable: {read.unavailable}"
        return f"{read.classified} classified"

    async def detect(self) -> str:
        stage, now = self.pipeline.detect, self.clock()
        updates = await self.ledger.stage(
            "detect", lambda: asyncio.to_thread(detect.step, stage, now)
        )
        if updates is None:
            return self.ledger.failed("detect")
        self.ledger.detected(updates)
        return f"{len(updates)} incident update(s)"

    async def page(self) -> str:
        paging, now = self.pipeline.page, self.clock()
        sent = await self.ledger.stage("page", lambda: paging.run(now))
        if sent is None:
            return self.ledger.failed("page")
        self.ledger.paged(sent)
        return f"{sent.sent} sent, {sent.retried} to retry"
