"""The embedded runner: APScheduler 3 in one process (``stormwatch run``).

One *tick* job every ``tick`` seconds runs the pipeline once::

    crawl (due sources) -> classify (pending posts) -> detect (incidents) -> page (outbox)

Each source's own interval, jitter and backoff live in the database (``next_due_at``), so a
restart resumes the same schedule and several intervals need no separate jobs. APScheduler's
defaults would silently skip a tick if the loop were late (a one-second misfire grace time:
docs/ARCHITECTURE.md, "Runners");
we give a generous grace time, coalesce missed ticks, and never run two ticks at once.

Each stage is guarded on its own: a stage that raises (the database away, a channel library
bug) is logged and counted, and the next stage still runs; work not done is still in the
database for the next tick. Readiness (``/readyz``) says whether the last tick got through.

SIGTERM / SIGINT: stop scheduling, let the running tick finish (its fetches are bounded by
their deadlines), close the HTTP client and the database, exit 0. SIGHUP: reload the
settings file; a file with problems is refused (every problem logged) and the old settings
stay. Under systemd (``Type=notify``) the daemon reports READY, RELOADING, STOPPING and
pings the watchdog after every tick (monitor.systemd).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor import systemd
from monitor.clock import utcnow
from monitor.errors import first_line
from monitor.metrics import Metrics
from monitor.pipeline import Pipeline
from monitor.runner.ticks import Health, Ledger
from monitor.storage.db import analyze

log = logging.getLogger("stormwatch.scheduler")
ANALYZE_EVERY = timedelta(days=1)


class EmbeddedRunner:
    def __init__(
        self,
        pipeline: Pipeline,
        *,
        tick: float = 5.0,
        clock: Callable[[], datetime] = utcnow,
        classify: bool = True,
        metrics: Metrics | None = None,
        reload: Callable[[], Pipeline | None] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.classify = classify
        self.tick_seconds = tick
        self.clock = clock
        self.metrics = metrics or Metrics()
        self.health = Health()
        self.ledger = Ledger(self.health, self.metrics, clock)
        self.reloader = reload
        self.stopping = asyncio.Event()
        self._reload_requested = False
        self._running: set[asyncio.Task[Any]] = set()
        self._analyzed_at: datetime | None = None
        # The stages after the crawl never run twice at once (a tick's and a nudge's); the
        # crawl is outside the lock, so a nudge never waits for a pass's fetches.
        self._busy = asyncio.Lock()
        self._nudged = asyncio.Event()

    # --- run now ----------------------------------------------------------------------------

    def nudge(self) -> None:
        """Pushed posts were stored: classify, detect and page them now rather than at the
        next tick. Nudges that come while a pass runs are answered by one more pass."""
        self._nudged.set()

    async def fresh(self) -> None:
        """The stages after the crawl, once (what a nudge runs): the posts are already stored."""
        async with self._busy:
            await self._after_crawl()

    async def _answer_nudges(self) -> None:
        while not self.stopping.is_set():
            await self._nudged.wait()
            self._nudged.clear()
            if self.stopping.is_set():
                return
            try:
                await self.fresh()
            except Exception:  # the ledger guards every stage; this keeps the loop alive
                log.exception("nudged pass failed")

    # --- one tick -------------------------------------------------------------------------

    async def tick(self) -> None:
        """One pass of the pipeline. The model and the database work run in worker
        threads, never on the event loop (the web UI shares it)."""
        if self.stopping.is_set():
            return
        if self._reload_requested:
            self._apply_reload()
        pipeline, ledger = self.pipeline, self.ledger
        reports = await ledger.stage("crawl", lambda: pipeline.crawler.run(self.clock()))
        if reports:
            ledger.crawled(reports)
            failed = sum(1 for r in reports if r.error)
            log.info("tick", extra={"sources": len(reports), "failed": failed})
        await self.fresh()
        await self._report()
        await self._maintain()
        self.health.last_tick_at = self.clock()
        self.metrics.last_tick.set(time.time())
        log.debug("tick finished")
        systemd.notify("WATCHDOG=1")

    async def _after_crawl(self) -> None:
        pipeline, ledger = self.pipeline, self.ledger
        if self.classify:
            read = await ledger.stage("classify", lambda: pipeline.classify.run(self.clock()))
            if read is not None:
                ledger.classified(read)
        updates = await ledger.stage("detect", lambda: pipeline.detect.run(self.clock()))
        if updates is not None:
            ledger.detected(updates)
        sent = await ledger.stage("page", lambda: pipeline.page.run(self.clock()))
        if sent is not None:
            ledger.paged(sent)

    async def _report(self) -> None:
        """The weekly reports that are due and the trends rollup (monitor/stages/report.py).
        A failure is logged and leaves /readyz alone: crawling and paging do not depend on
        them."""
        reports = self.pipeline.reports
        if reports is None:
            return
        try:
            await reports.run(self.clock())
        except Exception as exc:  # a report must never stop the tick
            log.error("reports failed", extra={"reason": first_line(exc)})

    async def _maintain(self) -> None:
        """Daily: fresh planner statistics as the tables grow (monitor.storage.db.analyze)."""
        now = self.clock()
        if self._analyzed_at is not None and now - self._analyzed_at < ANALYZE_EVERY:
            return
        self._analyzed_at = now
        try:
            await asyncio.to_thread(analyze, self.pipeline.engine)
        except Exception as exc:
            log.warning("analyze failed", extra={"reason": first_line(exc)})

    async def _guarded_tick(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            await self.tick()
        except Exception:  # belt and braces: the ledger already guards every stage
            log.exception("tick failed")
        finally:
            self._running.discard(task)

    # --- start, reload, stop ----------------------------------------------------------------

    def warm_up(self) -> None:
        """Start the parse workers (and their language models) and load the classifier before
        the first fetch (loading holds the GIL for seconds, which would otherwise eat into
        fetch deadlines), and
        rebuild the detector from the database. A classifier that cannot load is reported
        now and retried every tick; a database that is away is retried every tick."""
        self.pipeline.crawler.reader.load()
        if self.classify:
            self.ledger.load_classifier(self.pipeline.classify)
        try:
            self.pipeline.detect.start(self.clock())
        except Exception as exc:
            log.error("detector not started; retrying each tick", extra={"reason": first_line(exc)})

    def request_reload(self) -> None:
        """SIGHUP: reload between ticks (never in the middle of one)."""
        self._reload_requested = True

    def _apply_reload(self) -> None:
        self._reload_requested = False
        if self.reloader is None:
            return
        systemd.notify("RELOADING=1")
        try:
            fresh = self.reloader()
        finally:
            systemd.notify("READY=1")
        if fresh is not None:
            old, self.pipeline = self.pipeline, fresh
            asyncio.get_running_loop().create_task(old.aclose_keeping_engine())
            log.info("settings reloaded")

    async def run(self, install_signals: bool = True) -> None:
        await asyncio.to_thread(self.warm_up)
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self._guarded_tick,
            "interval",
            seconds=self.tick_seconds,
            next_run_time=self.clock(),
            misfire_grace_time=max(30, int(self.tick_seconds * 4)),
            coalesce=True,
            max_instances=1,
            id="tick",
        )
        if install_signals:
            _on_signals(self.stop, self.request_reload)
        scheduler.start()
        nudges = asyncio.get_running_loop().create_task(self._answer_nudges())
        self.health.started = True
        systemd.notify("READY=1")
        log.info("daemon started", extra={"tick_s": self.tick_seconds})
        await self.stopping.wait()
        systemd.notify("STOPPING=1")
        scheduler.pause()  # no new ticks; shutdown() would cancel the running one mid-stage
        self._nudged.set()  # wakes the nudge loop, which sees ``stopping`` and returns
        await self._drain()
        await nudges
        scheduler.shutdown(wait=False)
        await self.pipeline.aclose()
        log.info("daemon stopped")

    def stop(self) -> None:
        self.stopping.set()

    async def _drain(self) -> None:
        """Let the running tick finish. A job the scheduler handed to the loop just before
        shutdown gets to start first (it sees ``stopping`` and returns at once) instead of
        being cancelled mid-air when the loop closes."""
        for _ in range(3):
            await asyncio.sleep(0)
        running = {t for t in self._running if not t.done()}
        if running:
            log.info("waiting for the running tick to finish")
            await asyncio.wait(running, timeout=self.pipeline.settings.network.deadline + 5)


def _on_signals(stop: Callable[[], None], reload: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    loop.add_signal_handler(signal.SIGHUP, reload)


def run_daemon(pipeline: Pipeline, tick: float = 5.0, classify: bool = True) -> None:
    asyncio.run(EmbeddedRunner(pipeline, tick=tick, classify=classify).run())
