"""A brand's figures over a span of time: what the weekly report (and a trends page) shows.

Mentions are the posts about the brand published in the span; complaints those the
classifier read as complaints about it; negative those whose most probable sentiment is
negative (of the posts read). Days are local days of the report's zone. Service figures
are about the queue's items flagged in the span: time from flagging to the first answer,
the share answered within the target, and the items still open at the span's end by age.

Aggregated in Python from one row per post: a week of a busy brand is a few thousand rows,
and the same code then runs on SQLite and PostgreSQL without date functions per dialect.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col

from alerts.store import OutboxRow
from monitor.storage.models import IncidentRow, Post, PostBrand, QueueItem, Reading, Source

# Open items at the span's end, by how long they had waited: (label, up to).
AGE_BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("under 4 h", timedelta(hours=4)),
    ("4-24 h", timedelta(hours=24)),
    ("1-3 days", timedelta(days=3)),
    ("over 3 days", timedelta.max),
)


@dataclass
class Tally:
    """Mentions, complaints, and negative of the posts read."""

    mentions: int = 0
    complaints: int = 0
    negative: int = 0
    read: int = 0

    @property
    def share_negative(self) -> float | None:
        return self.negative / self.read if self.read else None

    def add(self, label: str | None, negative: bool) -> None:
        self.mentions += 1
        if label is not None:
            self.read += 1
            self.complaints += label == "complaint"
            self.negative += negative


@dataclass(frozen=True)
class IncidentLine:
    id: str
    kind: str
    severity: str
    status: str
    opened_at: datetime
    about: str = ""  # what it was about, as its last page said ("35 about outage, ...")


@dataclass(frozen=True)
class Service:
    flagged: int
    answered: int
    median_first_answer: timedelta | None
    within_target: float | None  # of the flagged items
    target: timedelta
    open_by_age: dict[str, int]


@dataclass
class BrandFigures:
    brand: str
    start: datetime
    end: datetime
    total: Tally = field(default_factory=Tally)
    days: dict[date, Tally] = field(default_factory=dict)
    by_source: dict[str, Tally] = field(default_factory=dict)
    by_lang: dict[str, Tally] = field(default_factory=dict)
    incidents: list[IncidentLine] = field(default_factory=list)
    service: Service | None = None


def brand_figures(
    session: Session,
    brand: str,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    target: timedelta,
) -> BrandFigures:
    """The figures of ``brand`` over ``[start, end)`` (days in ``zone``)."""
    figures = BrandFigures(brand, start, end)
    day = start.astimezone(zone).date()
    while datetime.combine(day, datetime.min.time(), tzinfo=zone) < end:
        figures.days[day] = Tally()
        day += timedelta(days=1)
    for published, source, lang, label, neg, neu, pos in session.execute(_posts(brand, start, end)):
        negative = label is not None and neg >= neu and neg >= pos  # ties go to negative
        for tally in (
            figures.total,
            figures.days.setdefault(published.astimezone(zone).date(), Tally()),
            figures.by_source.setdefault(source, Tally()),
            figures.by_lang.setdefault(lang or "?", Tally()),
        ):
            tally.add(label, negative)
    figures.incidents = incidents_in(session, brand, start, end)
    figures.service = service(session, brand, start, end, target)
    return figures


# published, source, language, label, negative, neutral, positive
PostRows = sa.Select[datetime | None, str, str | None, str, float, float, float]


def _posts(brand: str, start: datetime, end: datetime) -> PostRows:
    published = col(Post.published_at)
    return (
        sa.select(
            published,
            col(Source.name),
            col(Post.lang),
            col(Reading.label),
            col(Reading.negative),
            col(Reading.neutral),
            col(Reading.positive),
        )
        .join(PostBrand, col(PostBrand.post_id) == col(Post.id))
        .join(Source, col(Source.id) == col(Post.source_id))
        .outerjoin(
            Reading, sa.and_(col(Reading.post_id) == col(Post.id), col(Reading.brand) == brand)
        )
        .where(col(PostBrand.brand) == brand, published >= start, published < end)
    )


def incidents_in(
    session: Session, brand: str, start: datetime, end: datetime
) -> list[IncidentLine]:
    query = (
        sa.select(IncidentRow)
        .where(col(IncidentRow.brand) == brand)
        .where(col(IncidentRow.opened_at) >= start, col(IncidentRow.opened_at) < end)
        .where(col(IncidentRow.origin) == "live")
        .order_by(col(IncidentRow.opened_at))
    )
    rows = list(session.execute(query).scalars())
    about = _themes_paged(session, [r.id for r in rows])
    return [
        IncidentLine(r.id, r.kind, r.severity, r.status, r.opened_at, about.get(r.id, ""))
        for r in rows
    ]


def _themes_paged(session: Session, incident_ids: list[str]) -> dict[str, str]:
    """Each incident's latest themes line from the pages sent about it: the storm's topics as
    they stood at its last page (recomputing them would embed every post of the period)."""
    if not incident_ids:
        return {}
    query = (
        sa.select(col(OutboxRow.incident_id), col(OutboxRow.page))
        .where(col(OutboxRow.incident_id).in_(incident_ids))
        .order_by(col(OutboxRow.created_at), col(OutboxRow.id))
    )
    found: dict[str, str] = {}
    for incident_id, page in session.execute(query):
        themes = _themes_of(page)
        if themes:
            found[incident_id] = themes  # later pages overwrite earlier ones
    return found


def _themes_of(page: str | None) -> str:
    """The ``themes`` field of a stored page (hold records and older pages have none)."""
    try:
        data = json.loads(page or "{}")
    except ValueError:
        return ""
    themes = data.get("themes") if isinstance(data, dict) else None
    return themes if isinstance(themes, str) else ""


def service(
    session: Session, brand: str, start: datetime, end: datetime, target: timedelta
) -> Service:
    """Answering the queue's items flagged in ``[start, end)``, and what was open at ``end``.
    Counted in the database, the median too (the middle one or two waits in order): a
    quarter's items would otherwise be tens of thousands of rows to Python."""
    flagged_at, answered_at = col(QueueItem.flagged_at), col(QueueItem.first_response_at)
    wait = seconds_between(answered_at, flagged_at, session.get_bind().dialect.name)
    mine = sa.and_(col(QueueItem.brand) == brand, flagged_at >= start, flagged_at < end)
    answered = sa.and_(answered_at.is_not(None), answered_at < end)
    # julianday's float arithmetic is off by microseconds: the target gets a millisecond
    within = sa.and_(answered, wait <= target.total_seconds() + 0.001)
    flagged, count, in_time = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.sum(sa.case((answered, 1), else_=0)),
            sa.func.sum(sa.case((within, 1), else_=0)),
        ).where(mine)
    ).one()
    count = int(count or 0)
    still_open = sa.and_(
        col(QueueItem.brand) == brand,
        flagged_at < end,
        sa.or_(col(QueueItem.closed_at).is_(None), col(QueueItem.closed_at) >= end),
        sa.or_(answered_at.is_(None), answered_at >= end),
    )
    return Service(
        flagged=flagged,
        answered=count,
        median_first_answer=_median(session, wait, sa.and_(mine, answered), count),
        within_target=int(in_time or 0) / flagged if flagged else None,
        target=target,
        open_by_age=_open_by_age(session, still_open, end),
    )


def _median(session: Session, wait: Any, where: Any, count: int) -> timedelta | None:
    if not count:
        return None
    middle = (
        sa.select(wait).where(where).order_by(wait).offset((count - 1) // 2).limit(2 - count % 2)
    )
    values = [round(float(v), 3) for v in session.execute(middle).scalars()]  # to the ms
    return timedelta(seconds=statistics.median(values))


def seconds_between(later: Any, earlier: Any, dialect: str) -> Any:
    """``later - earlier`` in seconds, as an SQL expression of this dialect."""
    if dialect == "sqlite":
        return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0
    return sa.func.extract("epoch", later - earlier)


def _open_by_age(session: Session, still_open: Any, end: datetime) -> dict[str, int]:
    """Open items by how long they had waited at ``end``, counted in the database (an item
    flagged after ``end - upto`` had waited less than ``upto``)."""
    flagged_at = col(QueueItem.flagged_at)
    newer = [
        sa.func.sum(sa.case((flagged_at > end - upto, 1), else_=0)) for _, upto in AGE_BUCKETS[:-1]
    ]
    counts = session.execute(sa.select(sa.func.count(), *newer).where(still_open)).one()
    total, *cumulative = (int(c or 0) for c in counts)
    edges = [0, *cumulative, total]
    return {label: edges[i + 1] - edges[i] for i, (label, _) in enumerate(AGE_BUCKETS)}
