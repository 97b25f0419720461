"""The embedded runner: APScheduler 3 in one process (``stormwatch run``).

One *tick* job every ``tick`` seconds crawls whatever is due; each source's own interval,
jitter and backoff live in the database (``sources.next_due_at``), so a restart resumes the
same schedule and several intervals need no separate jobs. APScheduler's defaults would
silently skip a tick if the loop were late (FACTS.md: misfire_grace_time=1); we give a
generous grace time, coalesce missed ticks, and never run two ticks at once.

SIGTERM / SIGINT: stop scheduling, let the running tick finish (its fetches are bounded
by their deadlines), close the HTTP client and the database, exit 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.app import App

log = logging.getLogger("stormwatch.scheduler")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Daemon:
    def __init__(
        self,
        app: App,
        *,
        tick: float = 5.0,
        clock: Callable[[], datetime] = utcnow,
        classify: bool = True,
    ) -> None:
        self.app = app
        self.classify = classify
        self.tick_seconds = tick
        self.clock = clock
        self.stopping = asyncio.Event()
        self._running: asyncio.Task[None] | None = None

    async def tick(self) -> None:
        """One scheduling step: crawl every due source, then classify what is pending.
        The model runs in a worker thread, never on the event loop."""
        if self.stopping.is_set():
            return
        reports = await self.app.crawler.crawl_due(self.clock())
        if reports:
            failed = sum(1 for r in reports if r.error)
            log.info("tick", extra={"sources": len(reports), "failed": failed})
        if self.classify:
            read = await asyncio.to_thread(self.app.classify.run_once, self.clock())
            if read.classified:
                log.info(
                    "classified", extra={"posts": read.classified, "complaints": read.complaints}
                )

    async def _guarded_tick(self) -> None:
        self._running = asyncio.current_task()
        try:
            await self.tick()
        except Exception:  # one bad tick must not stop the daemon
            log.exception("tick failed")
        finally:
            self._running = None

    def warm_up(self) -> None:
        """Load the language models and the classifier before the first fetch: loading
        holds the GIL for seconds, which would otherwise eat into fetch deadlines. A
        classifier that cannot load is reported now and retried on every tick."""
        from classifiers.errors import ClassifierError

        self.app.crawler.matchers.language.load()
        if self.classify:
            try:
                self.app.classify.classifier()
            except ClassifierError as exc:
                log.error("classifier unavailable; crawling goes on", extra={"reason": str(exc)})

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
            _on_signals(self.stop)
        scheduler.start()
        log.info("daemon started", extra={"tick_s": self.tick_seconds})
        await self.stopping.wait()
        scheduler.shutdown(wait=False)
        await self._drain()
        await self.app.aclose()
        log.info("daemon stopped")

    def stop(self) -> None:
        self.stopping.set()

    async def _drain(self) -> None:
        task = self._running
        if task is not None and not task.done():
            log.info("waiting for the running tick to finish")
            await asyncio.wait({task}, timeout=self.app.settings.network.deadline + 5)


def _on_signals(callback: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, callback)


def run_daemon(app: App, tick: float = 5.0, classify: bool = True) -> None:
    asyncio.run(Daemon(app, tick=tick, classify=classify).run())
