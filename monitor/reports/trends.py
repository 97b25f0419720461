"""A brand's trends over the last N days: mentions, complaints and negative share per hour
and per day, by source and language, incidents, and the service figures.

One grouped query counts per (hour, source, language) in the database, so a page over 90
days of a busy brand moves a few thousand rows, not one per post (benchmarks/RESULTS.md,
"trends"). Hours are UTC hours; days are local days of the page's zone, summed from the
hours (whole-hour zones; a half-hour zone's day edges would be off by half an hour).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from monitor.reports.figures import IncidentLine, Service, Tally, incidents_in, service
from monitor.storage.models import Post, PostBrand, Reading, Source

HOUR = timedelta(hours=1)
MAX_DAYS = 366


@dataclass
class Trends:
    brand: str
    start: datetime
    end: datetime
    hours: dict[datetime, Tally] = field(default_factory=dict)  # UTC hour -> tally
    days: dict[date, Tally] = field(default_factory=dict)
    by_source: dict[str, Tally] = field(default_factory=dict)
    by_lang: dict[str, Tally] = field(default_factory=dict)
    incidents: list[IncidentLine] = field(default_factory=list)
    service: Service | None = None


def trends(
    session: Session,
    brand: str,
    start: datetime,
    end: datetime,
    zone: tzinfo,
    target: timedelta,
) -> Trends:
    """``brand``'s trends over ``[start, end)``; ``start`` is floored to its hour."""
    start = start.replace(minute=0, second=0, microsecond=0)
    found = Trends(brand, start, end)
    at = start
    while at < end:
        found.hours[at] = Tally()
        found.days.setdefault(at.astimezone(zone).date(), Tally())
        at += HOUR
    sources = dict(session.execute(sa.select(col(Source.id), col(Source.name))).tuples().all())
    for hour, source_id, lang, counts in _grouped(session, brand, start, end):
        for tally in (
            found.hours.setdefault(hour, Tally()),
            found.days.setdefault(hour.astimezone(zone).date(), Tally()),
            found.by_source.setdefault(sources.get(source_id, "?"), Tally()),
            found.by_lang.setdefault(lang or "?", Tally()),
        ):
            _merge(tally, counts)
    found.incidents = incidents_in(session, brand, start, end)
    found.service = service(session, brand, start, end, target)
    return found


def _merge(tally: Tally, counts: Tally) -> None:
    tally.mentions += counts.mentions
    tally.complaints += counts.complaints
    tally.negative += counts.negative
    tally.read += counts.read


def _hour_of(dialect: str, column: Any) -> Any:
    """The UTC hour of a stored time as the database can group by it."""
    if dialect == "sqlite":  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC
        return sa.func.substr(column, 1, 13)
    return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM-DD HH24")


def _grouped(
    session: Session, brand: str, start: datetime, end: datetime
) -> Iterable[tuple[datetime, int, str | None, Tally]]:
    published = col(Post.published_at)
    hour = _hour_of(session.get_bind().dialect.name, published).label("hour")
    neg = col(Reading.negative)
    negative = sa.and_(neg >= col(Reading.neutral), neg >= col(Reading.positive))
    query = (
        sa.select(
            hour,
            col(Post.source_id),
            col(Post.lang),
            sa.func.count(),
            sa.func.sum(sa.case((col(Reading.label) == "complaint", 1), else_=0)),
            sa.func.sum(sa.case((negative, 1), else_=0)),
            sa.func.count(col(Reading.post_id)),
        )
        .select_from(PostBrand)
        .join(Post, col(Post.id) == col(PostBrand.post_id))
        .outerjoin(
            Reading, sa.and_(col(Reading.post_id) == col(Post.id), col(Reading.brand) == brand)
        )
        .where(col(PostBrand.brand) == brand, published >= start, published < end)
        .group_by(hour, col(Post.source_id), col(Post.lang))
    )
    for key, source_id, lang, mentions, complaints, neg, read in session.execute(query):
        at = datetime.strptime(key, "%Y-%m-%d %H").replace(tzinfo=UTC)
        yield at, source_id, lang, Tally(mentions, int(complaints or 0), int(neg or 0), read)


def csv_of(rows: Iterable[tuple[str, Tally]], first: str) -> str:
    """A chart's numbers as CSV: ``first`` (hour, day, source, language), mentions,
    complaints, negative, read, share_negative."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([first, "mentions", "complaints", "negative", "read", "share_negative"])
    for key, t in rows:
        share = "" if t.share_negative is None else f"{t.share_negative:.4f}"
        writer.writerow([key, t.mentions, t.complaints, t.negative, t.read, share])
    return buffer.getvalue()
