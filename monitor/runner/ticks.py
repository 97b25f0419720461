"""What both runners do around every stage, written once: run it guarded, record its
outcome for ``/readyz`` and the metrics, and log what it did.

The embedded runner (:mod:`monitor.runner.embedded`) runs the stages in one tick; the
cluster runner (:mod:`monitor.runner.cluster`) runs each as a job of its own. Both hand
every stage's run to a :class:`Ledger`, so a failure, a missing classifier or an incident
update reads the same in either mode (docs/ARCHITECTURE.md, "Runners").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from classifiers.errors import ClassifierError
from monitor.errors import first_line
from monitor.metrics import Metrics
from monitor.stages.classify import ClassifyReport, ClassifyStage
from monitor.stages.crawl import CrawlReport
from monitor.stages.page import DrainReport

log = logging.getLogger("stormwatch.runner")
T = TypeVar("T")
STAGES = ("crawl", "classify", "detect", "page")


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


class Ledger:
    """One runner's bookkeeping: every stage run goes through :meth:`stage`, every report
    through the matching ``*ed`` method, which updates the metrics, ``/readyz`` and the log."""

    def __init__(self, health: Health, metrics: Metrics, clock: Callable[[], datetime]) -> None:
        self.health = health
        self.metrics = metrics
        self.clock = clock

    async def stage(self, name: str, run: Callable[[], Awaitable[T]]) -> T | None:
        """Run one stage guarded: its report, or None when it raised — then it is logged
        with its first line, counted and shown by /readyz, and the next stage still runs
        (the work not done is still in the database)."""
        state = self.health.stages[name]
        started = time.perf_counter()
        try:
            result = await run()
        except Exception as exc:  # one failing stage must not stop the others
            state.ok, state.last_error = False, first_line(exc)
            self.metrics.stage_errors.labels(name).inc()
            log.error("stage failed", extra={"stage": name, "reason": state.last_error})
            return None
        finally:
            self.metrics.stage_seconds.labels(name).observe(time.perf_counter() - started)
        state.ok, state.last_ok_at, state.last_error = True, self.clock(), None
        return result

    def failed(self, name: str) -> str:
        """The named reason a job ends with when its stage raised."""
        return f"{name} failed: {self.health.stages[name].last_error}"

    def crawled(self, reports: Sequence[CrawlReport]) -> None:
        self.metrics.crawled(reports)

    def classified(self, read: ClassifyReport) -> None:
        """A classifier that could not load marks the stage failing (posts stay pending;
        ``/readyz`` names why) without making the runner unready."""
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

    def detected(self, updates: Sequence[Any]) -> None:
        """One ``incident`` log line per update (opened, grew, resolved, ...)."""
        self.metrics.detected(updates)
        for update in updates:
            extra = {"incident": update.incident.id, "action": update.action}
            log.info("incident", extra={**extra, "reason": update.reason})

    def paged(self, sent: DrainReport) -> None:
        self.metrics.paged(sent)

    def load_classifier(self, stage: ClassifyStage) -> None:
        """At start: load the model before the first fetch (loading holds the GIL for
        seconds, which would otherwise eat into fetch deadlines). A model that cannot load
        is reported now and retried every tick; crawling goes on."""
        try:
            stage.classifier()
        except ClassifierError as exc:
            self.health.classifier = str(exc)
            log.error("classifier unavailable; crawling goes on", extra={"reason": str(exc)})
