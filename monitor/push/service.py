"""``PushService``: what the daemon runs (subscriptions, streams) and the push routes call."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from monitor.errors import first_line
from monitor.metrics import Metrics
from monitor.pipeline import Pipeline
from monitor.push.facebook import changes_of
from monitor.push.intake import Intake
from monitor.push.limits import Buckets
from monitor.push.stream import hashtag_streams
from monitor.push.subscriber import Delivery, Subscriber
from monitor.push.websub import signature_ok
from monitor.sources.api import load_json
from monitor.stages.crawl import CrawlReport

log = logging.getLogger("stormwatch.push")
MAINTAIN_EVERY = 60.0  # seconds between looks at the subscriptions; leases last days


@dataclass
class PushService:
    pipeline: Callable[[], Pipeline]
    clock: Callable[[], datetime]
    nudge: Callable[[], None] | None = None
    metrics: Metrics | None = None
    intake: Intake = field(init=False)
    websub: Subscriber = field(init=False)
    buckets: Buckets = field(init=False)

    def __post_init__(self) -> None:
        push = self.pipeline().settings.push
        self.intake = Intake(lambda: self.pipeline().crawler, self.nudge)
        self.websub = Subscriber(self.pipeline, self.intake)
        self.buckets = Buckets(push.rate, push.burst)

    @property
    def max_body(self) -> int:
        return self.pipeline().settings.push.max_body

    def count(self, kind: str, result: str) -> None:
        """One endpoint call's named result (``stored``, ``signature_mismatch``, ...)."""
        if self.metrics is not None:
            self.metrics.push.labels(kind, result).inc()

    # --- Facebook Page webhooks ---------------------------------------------------------

    def facebook_verify(self, params: Mapping[str, str]) -> str | None:
        """The webhook's verification GET: the challenge to echo, or None (answered 403)."""
        token = self.pipeline().settings.push.facebook_verify_token
        given = params.get("hub.verify_token")
        expected = token.reveal() if token else None
        if params.get("hub.mode") != "subscribe" or not params.get("hub.challenge"):
            return None
        if not expected or not given or not hmac.compare_digest(expected.encode(), given.encode()):
            return None
        return params["hub.challenge"]

    async def facebook_deliver(
        self, body: bytes, headers: Mapping[str, str], now: datetime
    ) -> Delivery:
        """A page's changes, checked against the app secret, then stored."""
        push = self.pipeline().settings.push
        if push.facebook_app_secret is None:
            return Delivery(404, "facebook_not_configured")
        header = headers.get("x-hub-signature-256") or ""
        secret = push.facebook_app_secret.reveal()
        checked = signature_ok(secret, body, header) if header.startswith("sha256=") else "unsigned"
        if checked != "ok":
            log.warning("facebook: delivery refused: signature %s", checked)
            return Delivery(403, f"signature_{checked}")
        changes, skipped = changes_of(load_json(body), self.pipeline().settings.sources)
        if skipped:
            log.info("facebook: changes not stored: %s", skipped)
        reports = await asyncio.gather(
            *(self.intake.accept(c.source, c.request, c.body, {}, now) for c in changes)
        )
        new = [post for report in reports for post in report.new]
        updated = [post for report in reports for post in report.updated]
        summary = CrawlReport("facebook", requests=len(changes), new=new, updated=updated)
        return Delivery(200, "stored", summary)

    async def run(self, stopping: asyncio.Event) -> None:
        """Keep the streams open and the subscriptions up until ``stopping``."""
        streams = hashtag_streams(self.pipeline, self.intake, self.clock)
        tasks = [asyncio.create_task(stream.run(stopping)) for stream in streams]
        try:
            await self._maintain(stopping)
        finally:
            for task in tasks:  # an open stream has nothing to finish: the poll fills gaps
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _maintain(self, stopping: asyncio.Event) -> None:
        """A look at the subscriptions every minute; a failed look is logged and retried."""
        while not stopping.is_set():
            try:
                await self.websub.maintain(self.clock())
            except Exception as exc:
                log.warning("push: subscriptions not maintained: %s", first_line(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), MAINTAIN_EVERY)
