"""The alert stage of the daemon: incidents in the database -> due pages -> outbox -> channels.

Every tick, for every live incident that is open (or was just acknowledged or resolved),
the on-call plan (alerts.oncall) says which steps are due now: the first page, level 2
after level 1's wait, repeats until acknowledged, and the acknowledge / resolve notices.
Each due step is written to the outbox; the outbox's unique (dedup key, step, recipient)
makes that idempotent, so planning from the incidents table on every tick also means a
crash between opening an incident and writing its page loses nothing: the next tick
writes it. Acknowledging cancels the unsent escalation steps. Then the outbox is drained
(alerts.outbox: retries with backoff, fallback channels, each step sent once).

History incidents (storms over before the first crawl) never page. An incident whose brand
no policy covers is not paged, and says so in the log (named reason ``no_policy``).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from alerts.ack import ack_url
from alerts.channels import Channel, build_channels
from alerts.config import AlertsConfig
from alerts.oncall import IncidentState, due_steps
from alerts.outbox import DrainReport, cancel_pending, drain, enqueue_step
from alerts.page import Page, dedup_key_for
from monitor.settings import Settings
from monitor.storage.db import session_scope
from monitor.storage.models import IncidentRow

log = logging.getLogger("stormwatch.paging")

RECENT = timedelta(hours=24)  # closed incidents still get their acknowledge/resolve notices


class PagingStage:
    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.config: AlertsConfig = settings.alerts()
        self.engine = engine
        self.channels: dict[str, Channel] = build_channels(self.config.channel_pairs())
        self.base_url = settings.web.public_url or f"http://{settings.web.bind}"
        key = settings.web.secret_key
        if key is None:
            log.warning("[web] secret_key is not set: acknowledge links stop working on restart")
        self.key = key.reveal().encode() if key else secrets.token_bytes(32)
        self._warned: set[str] = set()

    def plan(self, now: datetime) -> int:
        """Write every due step of every live incident to the outbox; return how many new."""
        with session_scope(self.engine) as session:
            return sum(self._plan_one(session, row, now) for row in self._incidents(session, now))

    def send(self, now: datetime) -> DrainReport:
        return drain(self.engine, self.channels, now, settings=self.config.outbox)

    def step(self, now: datetime) -> DrainReport:
        self.plan(now)
        return self.send(now)

    def _incidents(self, session: Session, now: datetime) -> Iterable[IncidentRow]:
        query = (
            select(IncidentRow)
            .where(col(IncidentRow.origin) == "live")
            .where(
                sa.or_(
                    col(IncidentRow.resolved_at).is_(None),
                    col(IncidentRow.resolved_at) >= now - RECENT,
                )
            )
        )
        return session.exec(query).all()

    def _plan_one(self, session: Session, row: IncidentRow, now: datetime) -> int:
        policy = self.config.policy_for(row.brand)
        if policy is None:
            if row.brand not in self._warned:
                self._warned.add(row.brand)
                log.warning("not paged", extra={"brand": row.brand, "reason": "no_policy"})
            return 0
        state = IncidentState(
            incident_id=row.id,
            brand=row.brand,
            kind=row.family,  # storm | thread: the policies' urgent_kinds
            severity=row.severity,
            opened_at=row.opened_at,
            acknowledged_at=row.acknowledged_at,
            resolved_at=row.resolved_at,
        )
        if row.status != "triggered":
            cancel_pending(session, dedup_key_for(row.id), now, row.status)
        added = 0
        for step in due_steps(policy, state, now, self.config.oncall):
            result = enqueue_step(session, step, self.page(row, step.step, now), now)
            added += int(result.enqueued)
        return added

    def page(self, row: IncidentRow, step: str, now: datetime) -> Page:
        ttl = timedelta(minutes=self.config.oncall.ack_link_minutes)
        return Page(
            incident_id=row.id,
            dedup_key=dedup_key_for(row.id),
            step=step,
            brand=row.brand,
            kind=row.kind,
            severity=row.severity,
            title=f"{row.brand}: complaint storm ({row.kind.replace('_', ' ')})",
            explanation=row.explanation,
            created_at=now,
            ack_url=ack_url(self.base_url, self.key, row.id, now, ttl),
        )
