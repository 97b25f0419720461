"""Acknowledgements that arrive without a login session: the one-tap link in a page, and
PagerDuty's webhook.

Both end in ``incidents.act`` — the decision, its audit event and its notices in one
transaction — and record who acted: the person the link was sent to, or the PagerDuty
user, with how in the audit event's detail.

- ``act_by_link``: a one-tap link acts once. Its use is written in the same transaction
  as the acknowledgement (the table's key refuses a second use even from a racing
  request), so a refused acknowledgement spends nothing. Uses are forgotten once their
  link has expired: an expired link is refused by its signed expiry alone.
- ``apply_pagerduty``: PagerDuty's ``incident_key`` is the dedup key Stormwatch sent, so
  the outbox, which records every key it sent, names the incident; only the current
  round's key acts (an old round's alert closed in PagerDuty is that round's business).
  Anything that does not act is answered with a named reason and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from alerts.ack import AckCheck
from alerts.pagerduty_webhook import WebhookEvent
from alerts.store import OutboxRow
from monitor.errors import QueueError
from monitor.queue import incidents
from monitor.stages.page import Paging
from monitor.storage.models import AckLinkUse, IncidentRow

__all__ = ["LINK_VIA", "PagerDutyOutcome", "act_by_link", "apply_pagerduty", "link_use"]

LINK_VIA = "with the one-tap link in their page"
PAGERDUTY = "PagerDuty"

PagerDutyReason = Literal[
    "acted",
    "not_an_incident_action",  # an annotation, a priority change, an unacknowledgement...
    "no_incident_key",
    "unknown_incident",  # a key Stormwatch never sent: another integration's incident
    "past_round",
    "already_acknowledged",  # e.g. PagerDuty telling us of our own acknowledgement
    "already_resolved",
]


@dataclass(frozen=True)
class PagerDutyOutcome:
    """What a PagerDuty event did here, and why."""

    reason: PagerDutyReason
    incident_id: str | None = None
    action: str | None = None

    @property
    def acted(self) -> bool:
        return self.reason == "acted"


def link_use(session: Session, token_id: str) -> AckLinkUse | None:
    """The record of a one-tap link's use, if it has acted."""
    return session.get(AckLinkUse, token_id)


def act_by_link(
    session: Session, incident_id: str, action: str, check: AckCheck, now: datetime
) -> Literal["acted", "used"]:
    """Act as the person a verified one-tap link was sent to, and spend the link, in the
    caller's transaction; ``used`` (nothing done) if the link has acted before. QueueError
    when the incident cannot take the action (already decided): the caller's rollback
    then spends nothing."""
    if not (check.ok and check.person and check.expires_at):
        raise ValueError("act_by_link needs a verified one-tap link (alerts.ack.verify_tap)")
    if link_use(session, check.token_id) is not None:
        return "used"
    session.execute(sa.delete(AckLinkUse).where(col(AckLinkUse.expires_at) <= now))
    use = AckLinkUse(
        token_id=check.token_id,
        incident_id=incident_id,
        person=check.person,
        action=action,
        used_at=now,
        expires_at=check.expires_at,
    )
    try:
        with session.begin_nested():
            session.add(use)
    except IntegrityError:  # another request spent it a moment ago
        return "used"
    incidents.act(session, incident_id, action, check.person, now, via=LINK_VIA)
    return "acted"


def apply_pagerduty(session: Session, event: WebhookEvent, now: datetime) -> PagerDutyOutcome:
    """Acknowledge or resolve the incident a PagerDuty event names, as the PagerDuty user."""
    action = event.action
    if action is None:
        return PagerDutyOutcome("not_an_incident_action")
    if not event.incident_key:
        return PagerDutyOutcome("no_incident_key")
    row = _incident_sent_as(session, event.incident_key)
    if row is None:
        return PagerDutyOutcome("unknown_incident")
    refused = _refusal(row, event.incident_key, action)
    if refused:
        return PagerDutyOutcome(refused, row.id, action)
    actor = f"{event.agent} ({PAGERDUTY})" if event.agent else PAGERDUTY
    via = f"in {PAGERDUTY} (event {event.id})" if event.id else f"in {PAGERDUTY}"
    try:
        incidents.act(session, row.id, action, actor, now, via=via)
    except QueueError as exc:  # decided meanwhile, between our look and the lock
        if exc.kind != "invalid_transition":
            raise
        session.refresh(row)
        later = _refusal(row, event.incident_key, action) or "already_resolved"
        return PagerDutyOutcome(later, row.id, action)
    return PagerDutyOutcome("acted", row.id, action)


def _incident_sent_as(session: Session, dedup_key: str) -> IncidentRow | None:
    """The incident whose pages went out under ``dedup_key`` (any channel, any step)."""
    query = select(OutboxRow.incident_id).where(col(OutboxRow.dedup_key) == dedup_key).limit(1)
    incident_id = session.exec(query).first()
    return session.get(IncidentRow, incident_id) if incident_id else None


def _refusal(row: IncidentRow, key: str, action: str) -> PagerDutyReason | None:
    if Paging.of(row).key != key:
        return "past_round"
    if row.status == "resolved":
        return "already_resolved"
    if action == "ack" and row.status != "triggered":
        return "already_acknowledged"
    return None
