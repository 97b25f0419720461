"""Prometheus metrics: counters the daemon's stages bump, gauges read from the database.

One ``Metrics`` object per process with its own registry (no global state, so tests and
several apps in one process don't collide). Counters record what this process did since it
started; gauges that describe shared state (outbox size and oldest age, per-source
staleness, open incidents) are read from the database at scrape time, so every process in a
cluster reports the same truth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlmodel import col

from alerts.store import OutboxRow, UTCDateTime
from monitor.errors import StorageError
from monitor.storage.db import read_scope
from monitor.storage.models import IncidentRow, QueueItem, Source

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(
        self, engine: Engine | None = None, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.fetches = Counter(
            "stormwatch_fetches_total",
            "Source passes by outcome",
            ["source", "outcome"],
            registry=r,
        )
        self.requests = Counter(
            "stormwatch_http_requests_total", "HTTP requests made by the crawler", registry=r
        )
        self.posts = Counter("stormwatch_posts_total", "Posts stored", ["change"], registry=r)
        self.classified = Counter(
            "stormwatch_classifications_total",
            "Posts read by the classifier",
            ["label"],
            registry=r,
        )
        self.classifier_up = Gauge(
            "stormwatch_classifier_available", "1 if the classifier loaded", registry=r
        )
        self.detector_runs = Counter(
            "stormwatch_detector_evaluations_total", "Detect stage runs", registry=r
        )
        self.incident_updates = Counter(
            "stormwatch_incident_updates_total", "Incident changes", ["action"], registry=r
        )
        self.pages = Counter(
            "stormwatch_pages_total", "Page deliveries by result", ["result"], registry=r
        )
        self.channel_failures = Counter(
            "stormwatch_channel_failures_total", "Failed channel attempts", ["channel"], registry=r
        )
        self.stage_errors = Counter(
            "stormwatch_stage_errors_total", "Stage runs that raised", ["stage"], registry=r
        )
        self.stage_seconds = Histogram(
            "stormwatch_stage_seconds", "Time per stage run", ["stage"], registry=r,
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120),
        )  # fmt: skip
        self.push = Counter(
            "stormwatch_push_total",
            "Push endpoint calls by kind and named result (monitor/push)",
            ["kind", "result"],
            registry=r,
        )
        self.last_tick = Gauge(
            "stormwatch_last_tick_timestamp_seconds", "When the last tick finished", registry=r
        )
        if engine is not None and clock is not None:
            r.register(DatabaseCollector(engine, clock))

    def render(self) -> bytes:
        return generate_latest(self.registry)

    # --- what the stages report ---------------------------------------------------------

    def crawled(self, reports: Iterable[Any]) -> None:
        for report in reports:
            outcome = (
                "skipped"
                if report.skipped
                else (report.error_kind or "error")
                if report.error
                else "ok"
            )
            self.fetches.labels(report.source, outcome).inc()
            self.requests.inc(report.requests)
            self.posts.labels("new").inc(len(report.new))
            self.posts.labels("updated").inc(len(report.updated))

    def read(self, report: Any) -> None:
        self.classifier_up.set(0 if report.unavailable else 1)
        self.classified.labels("complaint").inc(report.complaints)
        self.classified.labels("other").inc(report.classified - report.complaints)

    def detected(self, updates: Sequence[Any]) -> None:
        self.detector_runs.inc()
        for update in updates:
            self.incident_updates.labels(update.action).inc()

    def paged(self, report: Any) -> None:
        self.pages.labels("sent").inc(report.sent)
        self.pages.labels("retried").inc(report.retried)
        self.pages.labels("fell_back").inc(report.fell_back)
        self.pages.labels("dead").inc(report.dead)
        for _row, channel, reason in report.outcomes:
            if reason != "ok":
                self.channel_failures.labels(channel).inc()


class DatabaseCollector(Collector):
    """Gauges of shared state, read at scrape time. A database that cannot be read yields
    ``stormwatch_database_up 0`` instead of failing the scrape."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def collect(self) -> Iterable[GaugeMetricFamily]:
        up = GaugeMetricFamily("stormwatch_database_up", "1 if the database answered the scrape")
        try:
            families = self._families(self.clock())
        except (sa.exc.SQLAlchemyError, StorageError):
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self, now: datetime) -> list[GaugeMetricFamily]:
        with read_scope(self.engine) as s:
            pending = s.execute(
                sa.select(
                    sa.func.count(),
                    sa.type_coerce(sa.func.min(col(OutboxRow.created_at)), UTCDateTime),
                ).where(col(OutboxRow.status) == "pending")
            ).one()
            incidents = s.execute(
                sa.select(col(IncidentRow.status), sa.func.count())
                .where(col(IncidentRow.status) != "resolved")
                .group_by(col(IncidentRow.status))
            ).all()
            queue = s.execute(
                sa.select(col(QueueItem.status), sa.func.count()).group_by(col(QueueItem.status))
            ).all()
            sources = s.execute(
                sa.select(
                    col(Source.name), col(Source.last_success_at), col(Source.consecutive_failures)
                ).where(col(Source.enabled))
            ).all()
        size = GaugeMetricFamily("stormwatch_outbox_pending", "Pages waiting to be sent")
        size.add_metric([], pending[0])
        oldest = GaugeMetricFamily(
            "stormwatch_outbox_oldest_age_seconds", "Age of the oldest unsent page"
        )
        oldest.add_metric([], (now - pending[1]).total_seconds() if pending[1] else 0.0)
        open_ = GaugeMetricFamily("stormwatch_incidents_open", "Open incidents", labels=["status"])
        for status, count in incidents:
            open_.add_metric([status], count)
        queued = GaugeMetricFamily(
            "stormwatch_queue_posts", "Flagged posts by triage status", labels=["status"]
        )
        for status, count in queue:
            queued.add_metric([status], count)
        stale = GaugeMetricFamily(
            "stormwatch_source_staleness_seconds",
            "Seconds since a source's last success (-1: never)",
            labels=["source"],
        )
        failing = GaugeMetricFamily(
            "stormwatch_source_consecutive_failures", "Failures in a row", labels=["source"]
        )
        for name, last_ok, failures in sources:
            stale.add_metric([name], (now - last_ok).total_seconds() if last_ok else -1.0)
            failing.add_metric([name], failures)
        return [size, oldest, open_, queued, stale, failing]
