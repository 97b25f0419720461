"""The WebSub subscriber: subscribes the feeds that push, answers the hubs, takes deliveries.

``maintain(now)`` (every minute, from the daemon) walks each feed with ``push = true``
through its life (monitor/push/websub.py): discover the hub, ask it, give up on a hub that
does not verify within ``[push] verify_within``, renew once ``renew_at`` of the lease is
spent, notice a lapsed lease. Subscriptions live in memory: after a restart every feed is
subscribed again, which a hub treats as a renewal.

Falling back to polling: a feed whose subscription is live is polled only every ``[push]
poll_interval`` (``Crawler.pushed``); when it stops being live, it is made due at once and
polled at its interval until a hub takes it again.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from monitor.errors import FetchError
from monitor.fetch.backoff import next_delay
from monitor.pipeline import Pipeline
from monitor.push.intake import Intake
from monitor.push.websub import (
    Reason,
    State,
    Subscription,
    callback_token,
    discover,
    hub_secret,
    signature_ok,
    subscribe_body,
    verify_intent,
)
from monitor.settings import SourceSettings
from monitor.sources import Request
from monitor.stages.crawl import CrawlReport
from monitor.storage import repo
from monitor.storage.db import session_scope

log = logging.getLogger("stormwatch.push")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CALLBACK_PATH = "/push/websub/"


@dataclass
class Delivery:
    """What a delivery came to: ``status`` to answer, a named ``reason``, the report."""

    status: int
    reason: str
    report: CrawlReport | None = None


@dataclass
class Subscriber:
    pipeline: Callable[[], Pipeline]
    intake: Intake
    rand: Callable[[], float] = random.random
    subs: dict[str, Subscription] = field(default_factory=dict)  # by callback token

    # --- the subscriptions' lives ---------------------------------------------------------

    def feeds(self) -> list[SourceSettings]:
        sources = self.pipeline().settings.sources
        return [s for s in sources if s.push and s.kind == "feed" and s.enabled]

    def token(self, source: SourceSettings) -> str:
        return callback_token(self._key(), source.name, source.url)

    def callback(self, source: SourceSettings) -> str:
        public = (self.pipeline().settings.web.public_url or "").rstrip("/")
        return f"{public}{CALLBACK_PATH}{self.token(source)}"

    async def maintain(self, now: datetime) -> list[Subscription]:
        """One look at every pushing feed; the subscriptions as they stand afterwards."""
        feeds = self.feeds()
        tokens = {self.token(s): s for s in feeds}
        self.subs = {t: self.subs.get(t) or Subscription(s.name, s.url) for t, s in tokens.items()}
        for token, source in tokens.items():
            before = self.subs[token]
            after = await self._step(source, before, now)
            self.subs[token] = after
            await self._polling(before, after, now)
        self.pipeline().crawler.pushed = {
            s.source for s in self.subs.values() if s.state is State.LIVE
        }
        return list(self.subs.values())

    async def _step(self, source: SourceSettings, sub: Subscription, now: datetime) -> Subscription:
        push = self.pipeline().settings.push
        if sub.state is State.REQUESTED and now - (sub.since or now) > _seconds(push.verify_within):
            return self._failed(sub, Reason.NOT_VERIFIED, now)
        if sub.state is State.LIVE and sub.expires is not None and now >= sub.expires:
            return await self._subscribe(source, self._failed(sub, Reason.LEASE_EXPIRED, now), now)
        if sub.state is State.LIVE and sub.renew_from is not None and now >= sub.renew_from:
            return await self._subscribe(source, sub, now)
        if sub.state is State.NONE and (sub.retry_at is None or now >= sub.retry_at):
            return await self._subscribe(source, sub, now)
        return sub

    async def _subscribe(
        self, source: SourceSettings, sub: Subscription, now: datetime
    ) -> Subscription:
        """Discover the hub (a GET of the feed) and ask it. The subscription counts as
        requested before the request leaves: a hub may verify before it answers."""
        fetcher, push, token = (
            self.pipeline().fetcher,
            self.pipeline().settings.push,
            self.token(source),
        )
        try:
            fetched = await fetcher.fetch(source.url, respect_robots=source.respect_robots)
            hub, topic = discover(fetched.final_url, fetched.body, fetched.headers)
            if hub is None:
                return self._failed(sub, Reason.NO_HUB, now)
            self.subs[token] = replace(sub, topic=topic).requested(hub, now)
            secret = hub_secret(self._key(), source.name, source.url)
            body = subscribe_body(topic, self.callback(source), secret, push.lease_seconds)
            await fetcher.post(hub, body, headers=FORM)
        except FetchError as exc:
            reason = Reason.HUB_REFUSED if exc.status else Reason.HUB_UNREACHABLE
            log.warning("websub: %s: %s", source.name, exc)
            if sub.state is State.LIVE:  # a failed renewal: the lease still runs; try again
                return replace(sub, renew_from=now + self._retry(sub))
            return self._failed(self.subs.get(token, sub), reason, now)
        return self.subs[token]

    def _failed(self, sub: Subscription, reason: Reason, now: datetime) -> Subscription:
        if sub.state is not State.NONE or sub.reason != reason:
            log.info("websub: %s: %s; polled meanwhile", sub.source, reason)
        return sub.failed(reason, now, self._retry(sub))

    def _retry(self, sub: Subscription) -> timedelta:
        cap = self.pipeline().settings.crawl.backoff_cap
        return timedelta(seconds=next_delay(sub.failures + 1, base=60.0, cap=cap, rand=self.rand))

    async def _polling(self, before: Subscription, after: Subscription, now: datetime) -> None:
        """A feed whose pushes stopped is polled at once: whatever a hub did not deliver
        since its last delivery is read now, not after the long safety interval."""
        if before.state is State.LIVE and after.state is not State.LIVE:
            await asyncio.to_thread(self._due_now, after.source, now)

    def _due_now(self, name: str, now: datetime) -> None:
        with session_scope(self.pipeline().engine) as session:
            rows = repo.source_rows(session, [name])
            if name in rows:
                repo.update_sources(session, [{"id": rows[name].id, "next_due_at": now}])

    # --- the hub's calls ------------------------------------------------------------------

    async def verify(self, token: str, params: Mapping[str, str], now: datetime) -> str | None:
        """The hub's verification GET: the challenge to echo, or None (answered 404)."""
        sub = self.subs.get(token)
        outcome, lease = verify_intent(sub, params)
        if sub is None or outcome != "ok":
            if sub is not None and outcome == "denied":
                self.subs[token] = self._failed(sub, Reason.DENIED, now)
                await self._polling(sub, self.subs[token], now)
            log.info("websub: verification refused: %s", outcome)
            return None
        push = self.pipeline().settings.push
        self.subs[token] = sub.verified(lease or push.lease_seconds, push.renew_at, now)
        self.pipeline().crawler.pushed.add(sub.source)
        log.info("websub: %s: subscribed until %s", sub.source, self.subs[token].expires)
        return params["hub.challenge"]

    async def deliver(
        self, token: str, body: bytes, headers: Mapping[str, str], now: datetime
    ) -> Delivery:
        """A hub's delivery: checked against the subscription's secret, then stored. The
        secret follows from the settings, so a delivery that comes after a restart, before
        the feed is subscribed again, is taken too."""
        source = next((s for s in self.feeds() if self.token(s) == token), None)
        if source is None:
            return Delivery(404, "unknown_subscription")
        secret = hub_secret(self._key(), source.name, source.url)
        checked = signature_ok(secret, body, headers.get("x-hub-signature"))
        if checked != "ok":
            log.warning("websub: %s: delivery refused: signature %s", source.name, checked)
            return Delivery(403, f"signature_{checked}")
        sub = self.subs.get(token)
        request = Request(sub.topic if sub else source.url)
        report = await self.intake.accept(source.name, request, body, headers, now)
        if report.error is not None:
            return Delivery(400, "not_a_feed", report)
        return Delivery(202, "stored", report)

    def _key(self) -> str:
        secret = self.pipeline().settings.push.secret
        assert secret is not None  # settings refuse a pushing feed without it
        return secret.reveal()


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)
