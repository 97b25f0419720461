"""Incidents as managers see them: list, detail (posts, pages, history, chart), ack, resolve.

Acknowledging or resolving here writes the decision, an audit event, and its notices to the
outbox (to everyone the round's pages reached; unsent escalation cancelled) in one
transaction (monitor.stages.page.record_decision), so the notices go out whatever the detector
decides next; the daemon's detect stage takes the decision into its incident book on its
next tick — the same path as `stormwatch incidents ack`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from alerts.store import OutboxRow, UTCDateTime
from monitor.detect import codec
from monitor.detect.explain import headline_in
from monitor.errors import QueueError
from monitor.queue.service import Event, QueueRow, history, iso, rows_for
from monitor.queue.storm import StormFacts, storm_facts
from monitor.stages.page import record_decision
from monitor.storage.models import AuditEvent, IncidentRow, Post, PostBrand, QueueItem, Reading

INCIDENT_ACTIONS = ("ack", "resolve")
STATUSES = ("triggered", "acknowledged", "resolved")
CHART_BEFORE = timedelta(hours=24)  # the chart starts a day before onset: the normal level
CHART_AFTER = timedelta(hours=2)
BASELINE_DAYS = 7
# Why 3 sigma: the band shows where hourly counts fall on ordinary days (Poisson spread);
# the detectors use their own exact tests, this is a picture of "normal" for people.
BAND_SIGMAS = 3.0


def incident_subject(incident_id: str) -> str:
    return f"incident:{incident_id}"


@dataclass(frozen=True)
class IncidentView:
    id: str
    brand: str
    kind: str
    family: str
    severity: str
    status: str
    origin: str
    opened_at: datetime
    onset_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    headline: str
    explanation: str
    first_answer_at: datetime | None = None  # the first of its posts marked answered

    @property
    def seconds_to_ack(self) -> float | None:
        """The response-time clock: opening to acknowledgement."""
        return _seconds(self.opened_at, self.acknowledged_at)

    @property
    def seconds_to_first_answer(self) -> float | None:
        """Opening to the first of its posts answered."""
        return _seconds(self.opened_at, self.first_answer_at)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("opened_at", "onset_at", "acknowledged_at", "resolved_at", "first_answer_at"):
            data[name] = iso(data[name])
        data["seconds_to_ack"] = self.seconds_to_ack
        data["seconds_to_first_answer"] = self.seconds_to_first_answer
        return data


def _seconds(start: datetime, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if end else None


@dataclass(frozen=True)
class PageStep:
    step: str
    recipient: str
    status: str
    sent_via: str | None
    sent_at: datetime | None
    attempts: int
    last_reason: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sent_at": iso(self.sent_at), "created_at": iso(self.created_at)}


@dataclass(frozen=True)
class SeriesPoint:
    at: datetime
    observed: float  # probability-weighted complaints that hour
    expected: float  # the brand's ordinary level for that hour of day
    upper: float  # top of the ordinary band

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "at": iso(self.at)}


@dataclass(frozen=True)
class IncidentDetail:
    view: IncidentView
    posts: list[QueueRow] = field(default_factory=list)
    pages: list[PageStep] = field(default_factory=list)
    history: list[Event] = field(default_factory=list)
    series: list[SeriesPoint] = field(default_factory=list)
    facts: StormFacts | None = None  # the explanation's numbers, threads and sample posts

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.view.to_dict(),
            "posts": [p.to_dict() for p in self.posts],
            "pages": [p.to_dict() for p in self.pages],
            "history": [h.to_dict() for h in self.history],
            "series": [s.to_dict() for s in self.series],
            "facts": self.facts.to_dict() if self.facts else None,
        }


def view(
    row: IncidentRow, first_answer_at: datetime | None = None, zone: tzinfo | None = None
) -> IncidentView:
    """``zone``: write the headline's times in it (pages); without, they stay UTC."""
    explanation = row.explanation or ""
    if zone is not None and explanation:
        first, newline, rest = explanation.partition("\n")
        explanation = headline_in(first, zone) + newline + rest
    return IncidentView(
        id=row.id,
        brand=row.brand,
        kind=row.kind,
        family=row.family,
        severity=row.severity,
        status=row.status,
        origin=row.origin,
        opened_at=row.opened_at,
        onset_at=row.onset_at,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        resolved_at=row.resolved_at,
        headline=explanation.splitlines()[0] if explanation else f"{row.kind} for {row.brand}",
        explanation=explanation,
        first_answer_at=first_answer_at,
    )


def first_answers(session: Session, incident_ids: list[str]) -> dict[str, datetime]:
    """When the first post of each incident was marked answered (one grouped query)."""
    if not incident_ids:
        return {}
    first = sa.type_coerce(sa.func.min(col(QueueItem.first_response_at)), UTCDateTime)
    query = (
        sa.select(col(QueueItem.incident_id), first)
        .where(col(QueueItem.incident_id).in_(incident_ids))
        .group_by(col(QueueItem.incident_id))
    )
    return {i: at for i, at in session.execute(query) if i and at}


def list_incidents(
    session: Session, status: str = "open", brand: str | None = None, zone: tzinfo | None = None
) -> list[IncidentView]:
    """Open ones first (newest first), then the rest; ``status``: open | all | a status;
    headlines' times in ``zone`` when given."""
    query = select(IncidentRow).order_by(col(IncidentRow.opened_at).desc())
    if status == "open":
        query = query.where(col(IncidentRow.status) != "resolved")
    elif status != "all":
        if status not in STATUSES:
            raise QueueError(
                "invalid_input", f"status must be open, all or one of {', '.join(STATUSES)}"
            )
        query = query.where(col(IncidentRow.status) == status)
    if brand:
        query = query.where(col(IncidentRow.brand) == brand)
    found = list(session.exec(query))
    answers = first_answers(session, [r.id for r in found])
    rows = [view(r, answers.get(r.id), zone) for r in found]
    return sorted(rows, key=lambda v: v.status == "resolved")


def _row(session: Session, incident_id: str, *, lock: bool = False) -> IncidentRow:
    row = session.get(IncidentRow, incident_id, with_for_update=lock)
    if row is None:
        raise QueueError("not_found", f"no incident with id {incident_id!r}")
    return row


def get_incident(
    session: Session, incident_id: str, now: datetime | None = None, zone: tzinfo | None = None
) -> IncidentDetail:
    """Everything the incident page shows; the headline's times in ``zone`` when given."""
    row = _row(session, incident_id)
    post_ids = codec.loads(row.state).post_ids if row.state and row.state != "{}" else []
    # An open incident's chart ends now (hours to come are not zero, they are unknown).
    end = row.resolved_at + CHART_AFTER if row.resolved_at else (now or row.updated_at)
    return IncidentDetail(
        view=view(row, first_answers(session, [row.id]).get(row.id), zone),
        posts=rows_for(session, ((p, row.brand) for p in post_ids)),
        pages=pages(session, incident_id),
        history=_timeline(row) + history(session, incident_subject(incident_id)),
        series=series(session, row.brand, row.onset_at - CHART_BEFORE, end),
        facts=storm_facts(session, row),
    )


def _timeline(row: IncidentRow) -> list[Event]:
    if not row.state or row.state == "{}":
        return []
    entries = codec.loads(row.state).timeline
    return [Event(e.at, "stormwatch", e.event, e.detail or e.reason) for e in entries]


def pages(session: Session, incident_id: str) -> list[PageStep]:
    query = (
        select(OutboxRow)
        .where(OutboxRow.incident_id == incident_id)
        .order_by(col(OutboxRow.created_at), col(OutboxRow.id))
    )
    return [
        PageStep(
            o.step,
            o.recipient,
            o.status,
            o.sent_via,
            o.sent_at,
            o.attempts,
            o.last_reason,
            o.created_at,
        )
        for o in session.exec(query)
    ]


def act(
    session: Session, incident_id: str, action: str, actor: str, now: datetime, via: str = ""
) -> IncidentView:
    """Acknowledge (someone is on it: stops escalation) or resolve. ``via``: how, when not
    in a login session (the audit event's detail: a page's link, PagerDuty)."""
    if action not in INCIDENT_ACTIONS:
        raise QueueError("invalid_input", f"action must be one of {', '.join(INCIDENT_ACTIONS)}")
    row = _row(session, incident_id, lock=True)  # the detect stage writes the row too
    if row.status == "resolved":
        raise QueueError("invalid_transition", f"incident {incident_id} is already resolved")
    if action == "ack":
        if row.status != "triggered":
            raise QueueError(
                "invalid_transition", f"incident {incident_id} is already acknowledged"
            )
        row.status, row.acknowledged_at, row.acknowledged_by = "acknowledged", now, actor
    else:
        row.status, row.resolved_at = "resolved", now
    row.updated_at = now
    session.add(row)
    session.add(_audit(incident_id, action, actor, now, via))
    record_decision(session, row, action, now)
    session.flush()
    return view(row)


def _audit(incident_id: str, action: str, actor: str, now: datetime, via: str) -> AuditEvent:
    verb = {"ack": "acknowledged", "resolve": "resolved"}[action]
    return AuditEvent(
        subject=incident_subject(incident_id), at=now, actor=actor, action=verb, detail=via
    )


# --- the chart ------------------------------------------------------------------------------


def series(session: Session, brand: str, start: datetime, end: datetime) -> list[SeriesPoint]:
    """Hourly probability-weighted complaints of ``brand`` from ``start`` to ``end``, with the
    ordinary level by hour of day over the BASELINE_DAYS before ``start``."""
    start = start.replace(minute=0, second=0, microsecond=0)
    hours = max(1, min(int((end - start).total_seconds() // 3600) + 1, 24 * 14))
    observed = _hourly(session, brand, start, start + timedelta(hours=hours))
    history_start = start - timedelta(days=BASELINE_DAYS)
    past = _hourly(session, brand, history_start, start)
    by_hour = [0.0] * 24
    for at, value in past.items():
        by_hour[at.hour] += value / BASELINE_DAYS
    points = []
    for n in range(hours):
        at = start + timedelta(hours=n)
        expected = by_hour[at.hour]
        upper = expected + BAND_SIGMAS * math.sqrt(max(expected, 0.0)) + 1.0
        points.append(
            SeriesPoint(at, round(observed.get(at, 0.0), 3), round(expected, 3), round(upper, 3))
        )
    return points


def _hourly(session: Session, brand: str, start: datetime, end: datetime) -> dict[datetime, float]:
    when = sa.type_coerce(
        sa.func.coalesce(col(Post.published_at), col(Post.fetched_at)), UTCDateTime
    )
    query = (
        sa.select(when, col(Reading.complaint))
        .join(Reading, col(Reading.post_id) == col(Post.id))
        .join(
            PostBrand,
            sa.and_(
                col(PostBrand.post_id) == col(Post.id), col(PostBrand.brand) == col(Reading.brand)
            ),
        )
        .where(col(Reading.brand) == brand, when >= start, when < end)
    )
    totals: dict[datetime, float] = {}
    for at, complaint in session.execute(query):
        hour = at.replace(minute=0, second=0, microsecond=0)
        totals[hour] = totals.get(hour, 0.0) + float(complaint)
    return totals


def response_times_csv(session: Session, since: datetime | None = None) -> str:
    """Per incident: opened, acknowledged, first post answered, and the seconds between."""
    import csv
    import io

    columns = (
        "incident_id", "brand", "kind", "severity", "status", "opened_at", "acknowledged_at",
        "seconds_to_ack", "first_answer_at", "seconds_to_first_answer",
    )  # fmt: skip
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for incident in list_incidents(session, "all"):
        if since and incident.opened_at < since:
            continue
        row = {**incident.to_dict(), "incident_id": incident.id}
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in columns})
    return buffer.getvalue()
