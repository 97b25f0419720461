"""ClusterRunner: this process's share of the cluster's work (``[runner] kind = "cluster"``).

In one process, on the event loop the web UI shares:

- two procrastinate workers: ``crawl`` (``[runner] concurrency`` crawls at once) and
  ``control`` (tick, detect, page, and classify unless ``run --no-classify``), so a crawl
  backlog never holds up a page. Each worker also takes part in deferring the periodic
  tick; the database lets one deferral per period through;
- a watch loop, every tick: reach the queue (``/readyz`` and the systemd watchdog say this
  process is alive) and, every ``stalled_after / 2`` seconds, fail the running jobs of
  processes that stopped sending heartbeats (killed, machine gone). Their locks — a host,
  the detector, the outbox — would otherwise stay taken for ever.

Stopping (SIGTERM / SIGINT or ``stopping`` set): the workers take no new job, the running
ones get ``[network] deadline`` + 5 seconds to finish (then they are aborted; their work is
still due and another process picks it up), the HTTP client and the database are closed.
SIGHUP does not reload in cluster mode: restart the processes one at a time instead (the
others carry the work meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import procrastinate
from procrastinate.jobs import Status

from monitor import systemd
from monitor.clock import utcnow
from monitor.errors import first_line
from monitor.metrics import Metrics
from monitor.pipeline import Pipeline
from monitor.runner.cluster.queue import (
    CLASSIFY_QUEUE,
    CONTROL_QUEUE,
    CRAWL_QUEUE,
    build_queue,
    ensure_schema,
    tick_cron,
)
from monitor.runner.cluster.work import Work
from monitor.runner.ticks import Health
from monitor.settings import Settings

log = logging.getLogger("stormwatch.cluster")
CONTROL_CONCURRENCY = 4  # tick, classify, detect and page may run side by side


class ClusterRunner:
    """The cluster counterpart of monitor.runner.embedded.EmbeddedRunner, with the same ``health``,
    ``metrics``, ``tick_seconds``, ``stopping``, ``run()`` and ``stop()``: monitor.daemon
    serves /readyz and /metrics alike in both modes. ``health.last_tick_at`` is the last
    time this process reached the job queue (the tick itself runs on one process)."""

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        tick: float = 5.0,
        classify: bool = True,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = utcnow,
        stopping: asyncio.Event | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.tick_seconds = tick
        self.classify = classify
        self.clock = clock
        self.metrics = metrics or Metrics()
        self.health = Health()
        self.stopping = stopping or asyncio.Event()
        self.work = Work(pipeline, None, health=self.health, metrics=self.metrics, clock=clock)

    def stop(self) -> None:
        self.stopping.set()

    async def run(self, install_signals: bool = True) -> None:
        url = self.pipeline.settings.database.url.reveal()
        pool_size = self.pipeline.settings.runner.concurrency + 8
        try:
            if await ensure_schema(url):
                log.info("job queue schema applied")
            await asyncio.to_thread(self.warm_up)
            adopt_queue_logs()
            queue = build_queue(url, self.work, tick=self.tick_seconds, pool_size=pool_size)
            self.work.queue = queue
            if install_signals:
                _on_signals(self.stop)
            async with queue.open_async():
                await self._serve(queue)
        finally:
            await self.pipeline.aclose()
        log.info("cluster runner stopped")

    def warm_up(self) -> None:
        """As the embedded daemon: load the language models (and the classifier when this
        process classifies) before the first job, not in the middle of fetches. The
        detector is built by the first detect job this process runs."""
        self.pipeline.crawler.reader.load()
        if self.classify:
            self.work.ledger.load_classifier(self.pipeline.classify)

    async def _serve(self, queue: procrastinate.App) -> None:
        workers = [
            asyncio.create_task(self._keep_working(queue, name, options))
            for name, options in self._workers().items()
        ]
        watch = asyncio.create_task(self._watch(queue))
        self.health.started = True
        systemd.notify("READY=1")
        log.info(
            "cluster runner started",
            extra={
                "tick": tick_cron(self.tick_seconds),
                "crawls": self.pipeline.settings.runner.concurrency,
            },
        )
        await self.stopping.wait()
        systemd.notify("STOPPING=1")
        log.info("stopping: finishing the running jobs")
        for task in (*workers, watch):
            task.cancel()  # a cancelled procrastinate worker stops gracefully
        await asyncio.gather(*workers, watch, return_exceptions=True)

    def _workers(self) -> dict[str, dict[str, Any]]:
        settings = self.pipeline.settings
        stalled = settings.runner.stalled_after
        common: dict[str, Any] = {
            "install_signal_handlers": False,
            "delete_jobs": "successful",
            "shutdown_graceful_timeout": settings.network.deadline + 5,
            "update_heartbeat_interval": min(10.0, stalled / 3),
            "stalled_worker_timeout": stalled,
        }
        control = [CONTROL_QUEUE, CLASSIFY_QUEUE] if self.classify else [CONTROL_QUEUE]
        return {
            # A crawl waiting for its host's lock is only seen at the next poll.
            "crawl": common
            | {
                "queues": [CRAWL_QUEUE],
                "concurrency": settings.runner.concurrency,
                "fetch_job_polling_interval": 0.5,
            },
            "control": common
            | {
                "queues": control,
                "concurrency": CONTROL_CONCURRENCY,
                "fetch_job_polling_interval": min(5.0, self.tick_seconds),
            },
        }

    async def _keep_working(
        self, queue: procrastinate.App, name: str, options: dict[str, Any]
    ) -> None:
        """Run one worker; a worker that stops on its own (the database went away) is
        started again after a tick."""
        while not self.stopping.is_set():
            try:
                await queue.run_worker_async(name=name, **options)
                reason = "stopped"
            except Exception as exc:
                reason = first_line(exc)
            if self.stopping.is_set():
                return
            log.error("worker stopped; starting it again", extra={"worker": name, "reason": reason})
            await self._pause(self.tick_seconds)

    async def _watch(self, queue: procrastinate.App) -> None:
        stalled = self.pipeline.settings.runner.stalled_after
        next_sweep = time.monotonic()
        while not self.stopping.is_set():
            try:
                if await queue.check_connection_async():
                    self.health.last_tick_at = self.clock()
                    self.metrics.last_tick.set(time.time())
                    systemd.notify("WATCHDOG=1")
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + stalled / 2
                    await free_stalled_jobs(queue, stalled)
            except Exception as exc:
                log.error("job queue unreachable", extra={"reason": first_line(exc)})
            await self._pause(self.tick_seconds)

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the runner is asked to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)


async def free_stalled_jobs(queue: procrastinate.App, stalled_after: float) -> int:
    """Fail the running jobs of workers silent for ``stalled_after`` seconds, freeing
    their locks. Failing (not retrying) is enough: the next tick queues that work again
    (a crawl's source is still due; the outbox leases expire on their own)."""
    manager = queue.job_manager
    freed = 0
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
        try:
            await manager.finish_job(job, status=Status.FAILED, delete_job=False)
        except Exception:  # another process freed it first
            continue
        freed += 1
        log.warning(
            "freed the job of a dead process",
            extra={"task": job.task_name, "lock": job.lock, "job_id": job.id},
        )
    await manager.prune_stalled_workers(stalled_after)
    return freed


def adopt_queue_logs() -> None:
    """procrastinate's warnings and errors (a job that crashed, a lost connection) go out
    through Stormwatch's log handler (JSON lines); its chatter per job does not."""
    ours, theirs = logging.getLogger("stormwatch"), logging.getLogger("procrastinate")
    if ours.handlers:
        theirs.handlers[:] = ours.handlers
        theirs.setLevel(logging.WARNING)
        theirs.propagate = False


def _on_signals(stop: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)

    def no_reload() -> None:
        log.warning("cluster mode does not reload on SIGHUP: restart processes one at a time")

    loop.add_signal_handler(signal.SIGHUP, no_reload)


async def run_cluster(
    settings: Settings,
    pipeline: Pipeline,
    stop: asyncio.Event,
    *,
    tick: float = 5.0,
    classify: bool = True,
    metrics: Metrics | None = None,
    install_signals: bool = False,
) -> None:
    """Run this process's share of the cluster until ``stop`` is set."""
    assert settings.runner.kind == "cluster", "run_cluster needs [runner] kind = 'cluster'"
    runner = ClusterRunner(pipeline, tick=tick, classify=classify, metrics=metrics, stopping=stop)
    await runner.run(install_signals=install_signals)
