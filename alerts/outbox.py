"""The durable outbox: enqueue in the incident's transaction, drain with retries.

Writing: ``enqueue(session, page, now, ...)`` adds a row to the caller's session and never
commits, so the page is written in the same transaction that opens or escalates the
incident: either both exist or neither. The unique (dedup_key, step, recipient) makes a
repeated enqueue a no-op (``already_enqueued``).

Sending: ``drain(engine, channels, now)`` is one pass:

1. *claim* due rows in a short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on
   SQLite the write lock serialises claimers) by writing a lease (``claimed_until``) and
   a claim token; a row claimed by a live sender is skipped by every other sender;
2. *send* each claimed row on its current channel, outside any transaction;
3. *record* the attempt in ``deliveries`` and move the row (sent / retry later / next
   channel / dead) in one transaction, only if the claim token is still ours.

Failures back off exponentially with jitter (``rand`` injected). After
``failures_before_fallback`` retryable failures in a row, or one non-retryable failure,
the next channel of the row's chain is tried (wrapping around); after ``max_attempts``
the row is ``dead``. ``outbox_status`` lists what is stuck and why.

Holding back: ``hold(session, page, now, reason)`` writes a record row (step
``inhibited:N``, status ``inhibited``) when an open storm holds an incident's pages back;
``release`` turns it ``released`` with ``due_at`` = the moment paging resumed. Neither is
ever claimed or sent: they make the decision visible in the incident's page history.

Guarantees, precisely. *At-least-once*: a committed row is sent eventually even if the
process dies between writing and sending, or while holding a claim (the lease expires
and another pass takes the row). *Exactly-once* holds for the outbox's own bookkeeping
(one ``sent`` per row; a row is marked sent in the same transaction as its delivery
record; concurrent drains never claim the same row). It cannot hold end to end: if a
sender dies after the remote side accepted but before step 3 commits, the page is sent
again after the lease. Step 3 on success is therefore two plain statements right after the
response (a short window; benchmarks/outbox_window.py measures it), and every delivery
carries the page's idempotency key (incident, round, step, recipient;
``Page.idempotency_key``): the ``Idempotency-Key`` header and body field of a webhook, a line
in a chat message, an e-mail's Message-ID; PagerDuty merges by ``dedup_key``. A receiver
that deduplicates by it acts once (docs/OPERATIONS.md). Keep ``lease_seconds`` above the
longest channel timeout.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from alerts.channels.base import Channel, Delivery
from alerts.config import OutboxConfig
from alerts.oncall import Step
from alerts.page import Page
from alerts.store import DELIVERIES, OUTBOX, DeliveryRow, OutboxRow

__all__ = [
    "CLOSING_STEPS",
    "HOLD_STEP",
    "DrainReport",
    "EnqueueResult",
    "StuckPage",
    "cancel_pending",
    "drain",
    "enqueue",
    "enqueue_step",
    "history",
    "hold",
    "outbox_status",
    "release",
]

log = logging.getLogger(__name__)
_OUT = OUTBOX.c  # typed column access (SQLModel class attributes are not typed as columns)
_DEL = DELIVERIES.c
CLOSING_STEPS = ("acknowledge", "resolve")
HOLD_STEP = "inhibited"  # hold records: ``inhibited:1``, ``inhibited:2``... (never sent)
OVERDUE = timedelta(minutes=1)


@dataclass(frozen=True)
class EnqueueResult:
    """Whether a row was added (``enqueued``) or existed (``already_enqueued``)."""

    enqueued: bool
    reason: str


@dataclass
class DrainReport:
    """What one drain pass did; ``outcomes`` holds (row id, channel, reason) per attempt."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    fell_back: int = 0
    dead: int = 0
    lost_lease: int = 0
    outcomes: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class StuckPage:
    """A page that is not going out as it should, and why (``retrying``, ``dead``...)."""

    outbox_id: int
    incident_id: str
    step: str
    recipient: str
    channel: str
    state: str
    attempts: int
    due_at: datetime
    last_reason: str


@dataclass(frozen=True)
class _Claim:
    id: int
    token: str
    page: str
    chain: tuple[str, ...]
    index: int
    failures: int
    attempts: int
    recipient: str = ""

    def page_object(self) -> Page:
        """The page as this row's recipient gets it (their idempotency key)."""
        return replace(Page.from_json(self.page), recipient=self.recipient)


def enqueue(
    session: Session,
    page: Page,
    now: datetime,
    *,
    channels: Sequence[str],
    recipient: str = "",
    due: datetime | None = None,
) -> EnqueueResult:
    """Add ``page`` to the caller's transaction (no commit); a repeat is a no-op."""
    if not channels:
        raise ValueError("a page needs at least one channel")
    if _exists(session, page.dedup_key, page.step, recipient):
        return EnqueueResult(False, "already_enqueued")
    row = _new_row(page, now, channels, recipient, due or now)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another process wrote the same step meanwhile
        return EnqueueResult(False, "already_enqueued")
    return EnqueueResult(True, "enqueued")


def enqueue_step(session: Session, step: Step, page: Page, now: datetime) -> EnqueueResult:
    """``enqueue`` for one ``oncall.Step`` (``page.step`` must be ``step.step``)."""
    if page.step != step.step:
        raise ValueError(f"page step {page.step!r} does not match plan step {step.step!r}")
    return enqueue(
        session, page, now, channels=step.channels, recipient=step.recipient, due=step.due
    )


def cancel_pending(
    session: Session, dedup_key: str, now: datetime, reason: str, *, keep: Sequence[str] = ()
) -> int:
    """Cancel unsent escalation pages of an incident (closing steps stay); no commit.

    ``keep``: step prefixes that stay pending too (``followup:`` for an acknowledged storm:
    growth news still goes out, escalation does not).
    """
    query = (
        sa.update(OutboxRow)
        .where(_OUT.dedup_key == dedup_key)
        .where(_OUT.status == "pending")
        .where(_OUT.step.not_in(CLOSING_STEPS))
    )
    for prefix in keep:
        query = query.where(sa.not_(_OUT.step.startswith(prefix, autoescape=True)))
    result = session.execute(
        query.values(status="cancelled", last_reason=f"cancelled: {reason}", claimed_until=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def hold(session: Session, page: Page, now: datetime, reason: str) -> EnqueueResult:
    """Record that ``page``'s incident is held back (status ``inhibited``); no commit.

    ``page.step`` must be ``inhibited:N``. The row is never claimed by a drain (only
    ``pending`` rows are); it is the incident's visible record of why nothing was sent.
    """
    if not page.step.startswith(HOLD_STEP + ":"):
        raise ValueError(f"a hold record's step is {HOLD_STEP}:N, not {page.step!r}")
    if _exists(session, page.dedup_key, page.step, ""):
        return EnqueueResult(False, "already_enqueued")
    row = _new_row(page, now, [], "", now)
    row.status, row.last_reason = "inhibited", reason[:1000]
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another planner recorded the same hold meanwhile
        return EnqueueResult(False, "already_enqueued")
    return EnqueueResult(True, "held")


def release(session: Session, dedup_key: str, now: datetime, reason: str) -> int:
    """End the incident's open holds: status ``released``, ``due_at`` = when paging resumes."""
    result = session.execute(
        sa.update(OutboxRow)
        .where(_OUT.dedup_key == dedup_key, _OUT.status == "inhibited")
        .where(_OUT.step.startswith(HOLD_STEP + ":"))
        .values(status="released", due_at=now, last_reason=reason[:1000])
    )
    return int(getattr(result, "rowcount", 0) or 0)


def drain(
    engine: Engine,
    channels: Mapping[str, Channel],
    now: datetime,
    *,
    settings: OutboxConfig | None = None,
    rand: Callable[[], float] = random.random,
) -> DrainReport:
    """One pass: claim due rows, send each once, record every attempt."""
    settings = settings or OutboxConfig()
    report = DrainReport()
    claims = _claim(engine, now, settings)
    report.claimed = len(claims)
    for claim in claims:
        channel_name = claim.chain[claim.index]
        delivery, elapsed = _send(channels.get(channel_name), claim.page_object(), now)
        outcome = _record(engine, claim, channel_name, delivery, elapsed, now, settings, rand)
        _count(report, outcome)
        report.outcomes.append((claim.id, channel_name, outcome))
    return report


def outbox_status(engine: Engine, now: datetime) -> list[StuckPage]:
    """Rows that are dead, failing, or overdue (no sender picked them up), oldest first."""
    stuck = (_OUT.status == "dead") | (
        (_OUT.status == "pending") & ((_OUT.attempts > 0) | (_OUT.due_at <= now - OVERDUE))
    )
    with Session(engine) as session:
        rows = session.scalars(sa.select(OutboxRow).where(stuck).order_by(_OUT.due_at))
        return [_stuck(row, now) for row in rows]


def history(engine: Engine, dedup_key: str) -> list[tuple[OutboxRow, list[DeliveryRow]]]:
    """Every row of an incident with its delivery attempts, for the UI and the CLI."""
    with Session(engine, expire_on_commit=False) as session:
        rows = session.scalars(
            sa.select(OutboxRow).where(_OUT.dedup_key == dedup_key).order_by(_OUT.id)
        ).all()
        return [(row, _deliveries(session, row)) for row in rows]


# -- enqueue ---------------------------------------------------------------------------


def _exists(session: Session, dedup_key: str, step: str, recipient: str) -> bool:
    query = sa.select(_OUT.id).where(
        _OUT.dedup_key == dedup_key,
        _OUT.step == step,
        _OUT.recipient == recipient,
    )
    return session.scalar(query) is not None


def _new_row(
    page: Page, now: datetime, channels: Sequence[str], recipient: str, due: datetime
) -> OutboxRow:
    return OutboxRow(
        incident_id=page.incident_id,
        dedup_key=page.dedup_key,
        step=page.step,
        recipient=recipient,
        channels=json.dumps(list(channels)),
        due_at=due,
        created_at=now,
        page=page.to_json(),
    )


# -- claim -----------------------------------------------------------------------------


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        _OUT.status == "pending",
        _OUT.due_at <= now,
        sa.or_(_OUT.claimed_until.is_(None), _OUT.claimed_until <= now),
    )


def _claim(engine: Engine, now: datetime, settings: OutboxConfig) -> list[_Claim]:
    token = uuid.uuid4().hex
    lease = now + timedelta(seconds=settings.lease_seconds)
    try:
        with Session(engine) as session, session.begin():
            ids = _candidate_ids(session, now, settings.batch_size)
            for row_id in ids:
                session.execute(
                    sa.update(OutboxRow)
                    .where(_OUT.id == row_id, _claimable(now))
                    .values(claimed_until=lease, claim_token=token)
                )
            return _claimed(session, token)
    except OperationalError as exc:  # SQLite: another sender holds the write lock
        log.info("outbox claim skipped (claim_contended): %s", type(exc.orig).__name__)
        return []


def _candidate_ids(session: Session, now: datetime, limit: int) -> list[int]:
    query = sa.select(_OUT.id).where(_claimable(now)).order_by(_OUT.due_at, _OUT.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [int(row_id) for row_id in session.scalars(query) if row_id is not None]


def _claimed(session: Session, token: str) -> list[_Claim]:
    rows = session.scalars(
        sa.select(OutboxRow).where(_OUT.claim_token == token).order_by(_OUT.due_at)
    )
    return [
        _Claim(
            id=int(row.id or 0),
            token=token,
            page=row.page,
            chain=tuple(json.loads(row.channels)),
            index=row.channel_index % max(1, len(json.loads(row.channels))),
            failures=row.channel_failures,
            attempts=row.attempts,
            recipient=row.recipient,
        )
        for row in rows
    ]


# -- send and record -------------------------------------------------------------------


def _send(channel: Channel | None, page: Page, now: datetime) -> tuple[Delivery, float]:
    if channel is None:
        return Delivery.failed("unknown_channel: not configured", retryable=False), 0.0
    started = time.perf_counter()
    try:
        delivery = channel.send(page, now)
    except Exception as exc:  # a channel bug must not stop the other pages
        log.exception("channel %s raised; treated as a retryable failure", channel.name)
        delivery = Delivery.failed(f"channel_crashed: {type(exc).__name__}", retryable=True)
    return delivery, (time.perf_counter() - started) * 1000


def _record(
    engine: Engine,
    claim: _Claim,
    channel: str,
    delivery: Delivery,
    elapsed_ms: float,
    now: datetime,
    settings: OutboxConfig,
    rand: Callable[[], float],
) -> str:
    if delivery.ok:
        outcome = _record_sent(engine, claim, channel, delivery, elapsed_ms, now)
        _log_outcome(claim, channel, outcome, delivery.reason)
        return outcome
    with Session(engine) as session, session.begin():
        session.add(_delivery_row(claim, channel, delivery, elapsed_ms, now))
        row = session.get(OutboxRow, claim.id)
        if row is None or row.claim_token != claim.token or row.status != "pending":
            log.warning("outbox row %s: lease lost before recording; not updated", claim.id)
            return "lost_lease"
        outcome = _apply(row, claim, channel, delivery, now, settings, rand)
        reason = row.last_reason
    _log_outcome(claim, channel, outcome, reason)
    return outcome


def _record_sent(
    engine: Engine,
    claim: _Claim,
    channel: str,
    delivery: Delivery,
    elapsed_ms: float,
    now: datetime,
) -> str:
    """The receiver has the page: mark the row sent at once, in two plain statements.

    Until this commits, a sender that dies re-sends the page after the lease (the receiver
    deduplicates by the idempotency key); so no ORM load, no flush, just the update and
    the delivery record (benchmarks/outbox_window.py measures the window)."""
    sent = (
        sa.update(OUTBOX)
        .where(_OUT.id == claim.id, _OUT.claim_token == claim.token, _OUT.status == "pending")
        .values(
            status="sent",
            sent_at=now,
            sent_via=channel,
            last_reason=delivery.reason[:1000],
            claimed_until=None,
            claim_token=None,
        )
    )
    record = _delivery_row(claim, channel, delivery, elapsed_ms, now)
    with engine.begin() as conn:
        updated = conn.execute(sent).rowcount
        conn.execute(sa.insert(DELIVERIES).values(**record.model_dump(exclude={"id"})))
    if updated != 1:
        log.warning("outbox row %s: lease lost before recording; not updated", claim.id)
        return "lost_lease"
    return "sent"


def _delivery_row(
    claim: _Claim, channel: str, delivery: Delivery, elapsed_ms: float, now: datetime
) -> DeliveryRow:
    return DeliveryRow(
        outbox_id=claim.id,
        channel=channel,
        attempt=claim.attempts + 1,
        at=now,
        ok=delivery.ok,
        retryable=delivery.retryable,
        reason=delivery.reason[:1000],
        duration_ms=round(elapsed_ms, 2),
    )


def _apply(
    row: OutboxRow,
    claim: _Claim,
    channel: str,
    delivery: Delivery,
    now: datetime,
    settings: OutboxConfig,
    rand: Callable[[], float],
) -> str:
    row.claimed_until, row.claim_token = None, None
    if delivery.ok:
        row.status, row.sent_at, row.sent_via = "sent", now, channel
        row.last_reason = delivery.reason
        return "sent"
    row.attempts += 1
    row.channel_failures += 1
    if row.attempts >= settings.max_attempts or _nowhere_else(claim, delivery):
        row.status = "dead"
        row.last_reason = f"dead after {row.attempts} attempts: {channel}: {delivery.reason}"
        return "dead"
    if not delivery.retryable or row.channel_failures >= settings.failures_before_fallback:
        return _fall_back(row, claim, channel, delivery, now)
    delay = backoff(row.channel_failures, settings, rand)
    row.due_at = now + delay
    row.last_reason = f"retry in {delay.total_seconds():.0f}s: {channel}: {delivery.reason}"
    return "retried"


def _nowhere_else(claim: _Claim, delivery: Delivery) -> bool:
    return not delivery.retryable and len(claim.chain) == 1


def _fall_back(
    row: OutboxRow, claim: _Claim, channel: str, delivery: Delivery, now: datetime
) -> str:
    row.channel_index = (claim.index + 1) % len(claim.chain)
    row.channel_failures = 0
    row.due_at = now
    following = claim.chain[row.channel_index]
    why = "not retryable" if not delivery.retryable else f"{claim.failures + 1} failures"
    row.last_reason = f"fallback {channel} -> {following} ({why}): {delivery.reason}"
    return "fell_back"


def backoff(failures: int, settings: OutboxConfig, rand: Callable[[], float]) -> timedelta:
    """Exponential delay after ``failures`` failures, jittered into [50%, 100%]."""
    ceiling = min(settings.max_backoff_seconds, settings.base_backoff_seconds * 2 ** (failures - 1))
    return timedelta(seconds=ceiling * (0.5 + rand() / 2))


def _log_outcome(claim: _Claim, channel: str, outcome: str, reason: str) -> None:
    level = {"sent": logging.INFO, "retried": logging.INFO}.get(outcome, logging.WARNING)
    if outcome == "dead":
        level = logging.ERROR
    log.log(level, "outbox row %s via %s: %s (%s)", claim.id, channel, outcome, reason)


def _count(report: DrainReport, outcome: str) -> None:
    attribute = {"sent": "sent", "retried": "retried", "fell_back": "fell_back"}.get(outcome)
    attribute = attribute or {"dead": "dead", "lost_lease": "lost_lease"}[outcome]
    setattr(report, attribute, getattr(report, attribute) + 1)


# -- status ----------------------------------------------------------------------------


def _stuck(row: OutboxRow, now: datetime) -> StuckPage:
    chain = json.loads(row.channels)
    if row.status == "dead":
        state = "dead"
    elif row.claimed_until is not None and row.claimed_until > now:
        state = "sending"
    else:
        state = "retrying" if row.attempts else "overdue"
    return StuckPage(
        outbox_id=int(row.id or 0),
        incident_id=row.incident_id,
        step=row.step,
        recipient=row.recipient,
        channel=chain[row.channel_index % len(chain)],
        state=state,
        attempts=row.attempts,
        due_at=row.due_at,
        last_reason=row.last_reason,
    )


def _deliveries(session: Session, row: OutboxRow) -> list[DeliveryRow]:
    query = sa.select(DeliveryRow).where(_DEL.outbox_id == row.id).order_by(_DEL.id)
    return list(session.scalars(query))
