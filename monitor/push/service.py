"""``PushService``: what the daemon runs (subscriptions, streams) and the push routes call."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from monitor.errors import first_line
from monitor.pipeline import Pipeline
from monitor.push.intake import Intake
from monitor.push.limits import Buckets
from monitor.push.stream import hashtag_streams
from monitor.push.subscriber import Subscriber

log = logging.getLogger("stormwatch.push")
MAINTAIN_EVERY = 60.0  # seconds between looks at the subscriptions; leases last days


@dataclass
class PushService:
    pipeline: Callable[[], Pipeline]
    clock: Callable[[], datetime]
    nudge: Callable[[], None] | None = None
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
