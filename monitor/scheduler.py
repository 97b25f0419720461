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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor import systemd
from monitor.app import App
from monitor.errors import first_line
from monitor.metrics import Metrics
from monitor.storage.db import analyze

log = logging.getLogger("stormwatch.scheduler")
T = TypeVar("T")
STAGES = ("crawl", "classify", "detect", "page")
ANALYZE_EVERY = timedelta(days=1)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class StageState:
    ok: bool | None = None  # None: not run yet
    last_ok_at: datetime | None = None
    last_error: str | None = None


@dataclass
class Health:
    """What /readyz reports: started, and every stage's last outcome."""

    started: bool = False
    last_tick_at: datetime | None = None
    stages: dict[str, StageState] = field(default_factory=lambda: {s: StageState() for s in STAGES})
    classifier: str | None = None  # why the classifier is unavailable, if it is

    def ready(self, now: datetime, tick: float) -> tuple[bool, str]:
        """Ready when started, the last tick is recent and crawl/detect/page got through.
        A missing classifier does not make the daemon unready: it still crawls and pages
        on what was already read (reported as ``classifier``)."""
        if not self.started:
            return False, "starting"
        stale = timedelta(seconds=max(60.0, tick * 5))
        if self.last_tick_at is None or now - self.last_tick_at > stale:
            return False, "no recent tick"
        failing = [n for n, s in self.stages.items() if s.ok is False and n != "classify"]
        if failing:
            return False, f"failing: {', '.join(failing)} ({self.stages[failing[0]].last_error})"
        return True, "ok"

    def to_dict(self, now: datetime, tick: float) -> dict[str, Any]:
        ok, reason = self.ready(now, tick)
        return {
            "ready": ok,
            "reason": reason,
            "last_tick_at": self.last_tick_at.isoformat() if self.last_tick_at else None,
            "classifier": self.classifier or "available",
            "stages": {
                name: {
                    "ok": s.ok,
                    "last_ok_at": s.last_ok_at.isoformat() if s.last_ok_at else None,
                    "last_error": s.last_error,
                }
                for name, s in self.stages.items()
            },
        }


async def run_stage(
    name: str,
    run: Callable[[], Awaitable[T]],
    health: Health,
    metrics: Metrics,
    clock: Callable[[], datetime],
) -> T | None:
    """Run one pipeline stage guarded: a stage that raises is logged with its first line,
    counted, and shown by /readyz, and None is returned so the next stage still runs (the
    work not done is still in the database). Shared by the embedded daemon's tick and the
    cluster's jobs, so both report a failure the same way."""
    state = health.stages[name]
    started = time.perf_counter()
    try:
        result = await run()
    except Exception as exc:  # one failing stage must not stop the others
        state.ok, state.last_error = False, first_line(exc)
        metrics.stage_errors.labels(name).inc()
        log.error("stage failed", extra={"stage": name, "reason": state.last_error})
        return None
    finally:
        metrics.stage_seconds.labels(name).observe(time.perf_counter() - started)
    state.ok, state.last_ok_at, state.last_error = True, clock(), None
    return result


def log_incident_updates(updates: list[Any]) -> None:
    """One ``incident`` log line per detector update (opened, grew, resolved, ...)."""
    for update in updates:
        log.info(
            "incident",
            extra={
                "incident": update.incident.id,
                "action": update.action,
                "reason": update.reason,
            },
        )


class Daemon:
    def __init__(
        self,
        app: App,
        *,
        tick: float = 5.0,
        clock: Callable[[], datetime] = utcnow,
        classify: bool = True,
        metrics: Metrics | None = None,
        reload: Callable[[], App | None] | None = None,
    ) -> None:
        self.app = app
        self.classify = classify
        self.tick_seconds = tick
        self.clock = clock
        self.metrics = metrics or Metrics()
        self.health = Health()
        self.reloader = reload
        self.stopping = asyncio.Event()
        self._reload_requested = False
        self._running: set[asyncio.Task[Any]] = set()
        self._analyzed_at: datetime | None = None

    # --- one tick -------------------------------------------------------------------------

    async def tick(self) -> None:
        """One pass of the pipeline. The model and the database work run in worker
        threads, never on the event loop (the web UI shares it)."""
        if self.stopping.is_set():
            return
        if self._reload_requested:
            self._apply_reload()
        reports = await self._stage("crawl", lambda: self.app.crawler.crawl_due(self.clock()))
        if reports:
            self.metrics.crawled(reports)
            failed = sum(1 for r in reports if r.error)
            log.info("tick", extra={"sources": len(reports), "failed": failed})
        if self.classify:
            await self._classify()
        updates = await self._stage("detect", lambda: asyncio.to_thread(self._detect))
        if updates is not None:
            self.metrics.detected(updates)
            log_incident_updates(updates)
        sent = await self._stage(
            "page", lambda: asyncio.to_thread(self.app.paging.step, self.clock())
        )
        if sent is not None:
            self.metrics.paged(sent)
        await self._maintain()
        self.health.last_tick_at = self.clock()
        self.metrics.last_tick.set(time.time())
        log.debug("tick finished")
        systemd.notify("WATCHDOG=1")

    async def _maintain(self) -> None:
        """Daily: fresh planner statistics as the tables grow (monitor.storage.db.analyze)."""
        now = self.clock()
        if self._analyzed_at is not None and now - self._analyzed_at < ANALYZE_EVERY:
            return
        self._analyzed_at = now
        try:
            await asyncio.to_thread(analyze, self.app.engine)
        except Exception as exc:
            log.warning("analyze failed", extra={"reason": first_line(exc)})

    async def _classify(self) -> None:
        read = await self._stage(
            "classify", lambda: asyncio.to_thread(self.app.classify.run_once, self.clock())
        )
        if read is None:
            return
        self.metrics.read(read)
        self.health.classifier = read.unavailable
        if read.unavailable:
            self.health.stages["classify"].ok = False
            self.health.stages["classify"].last_error = read.unavailable
        elif read.classified:
            log.info(
                "classified",
                extra={
                    "posts": read.classified,
                    "complaints": read.complaints,
                    "flagged": read.flagged,
                },
            )

    def _detect(self) -> list[Any]:
        if self.app.storms.detector is None:  # the database was away at start
            self.app.storms.start(self.clock())
        return self.app.storms.step(self.clock())

    async def _stage(self, name: str, run: Callable[[], Awaitable[T]]) -> T | None:
        return await run_stage(name, run, self.health, self.metrics, self.clock)

    async def _guarded_tick(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            await self.tick()
        except Exception:  # belt and braces: _stage already guards every stage
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
        from classifiers.errors import ClassifierError

        self.app.crawler.reader.load()
        if self.classify:
            try:
                self.app.classify.classifier()
            except ClassifierError as exc:
                self.health.classifier = str(exc)
                log.error("classifier unavailable; crawling goes on", extra={"reason": str(exc)})
        try:
            self.app.storms.start(self.clock())
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
            old, self.app = self.app, fresh
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
        self.health.started = True
        systemd.notify("READY=1")
        log.info("daemon started", extra={"tick_s": self.tick_seconds})
        await self.stopping.wait()
        systemd.notify("STOPPING=1")
        scheduler.pause()  # no new ticks; shutdown() would cancel the running one mid-stage
        await self._drain()
        scheduler.shutdown(wait=False)
        await self.app.aclose()
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
            await asyncio.wait(running, timeout=self.app.settings.network.deadline + 5)


def _on_signals(stop: Callable[[], None], reload: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    loop.add_signal_handler(signal.SIGHUP, reload)


def run_daemon(app: App, tick: float = 5.0, classify: bool = True) -> None:
    asyncio.run(Daemon(app, tick=tick, classify=classify).run())
