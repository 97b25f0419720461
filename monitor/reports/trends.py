"""A brand's trends over the last N days: mentions, complaints and negative share per hour
and per day, by source and language, incidents, and the service figures.

Counted from the rollup (``brand_hours``, monitor/reports/rollup.py), summed in the
database per hour, per source and per language, so a page over 90 days of a busy brand
moves a few thousand rows, not one per post (benchmarks/RESULTS.md, "trends"). Hours are
UTC hours; days are local days of the page's zone, summed from the
hours (whole-hour zones; a half-hour zone's day edges would be off by half an hour).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from monitor.reports.figures import IncidentLine, Service, Tally, incidents_in, service
from monitor.storage.models import BrandHour, Source

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
    """``brand``'s trends over ``[start, end)``; ``start`` is floored to its hour. Reads
    the rollup: call :func:`monitor.reports.rollup.refresh` first."""
    start = start.replace(minute=0, second=0, microsecond=0)
    found = Trends(brand, start, end)
    at = start
    while at < end:
        found.hours[at] = Tally()
        found.days.setdefault(at.astimezone(zone).date(), Tally())
        at += HOUR
    for hour, counts in _summed(session, brand, start, end, col(BrandHour.hour)):
        _merge(found.hours.setdefault(hour, Tally()), counts)
        _merge(found.days.setdefault(hour.astimezone(zone).date(), Tally()), counts)
    names = {i: n for i, n in session.execute(sa.select(col(Source.id), col(Source.name)))}
    for source_id, counts in _summed(session, brand, start, end, col(BrandHour.source_id)):
        found.by_source[names.get(source_id, "?")] = counts
    for lang, counts in _summed(session, brand, start, end, col(BrandHour.lang)):
        found.by_lang[lang or "?"] = counts
    found.incidents = incidents_in(session, brand, start, end)
    found.service = service(session, brand, start, end, target)
    return found


def _merge(tally: Tally, counts: Tally) -> None:
    tally.mentions += counts.mentions
    tally.complaints += counts.complaints
    tally.negative += counts.negative
    tally.read += counts.read


def _summed(
    session: Session, brand: str, start: datetime, end: datetime, by: Any
) -> Iterable[tuple[Any, Tally]]:
    """The rollup's counts of ``brand`` in ``[start, end)``, summed per ``by``."""
    hour = col(BrandHour.hour)
    query = (
        sa.select(
            by,
            sa.func.sum(col(BrandHour.mentions)),
            sa.func.sum(col(BrandHour.complaints)),
            sa.func.sum(col(BrandHour.negative)),
            sa.func.sum(col(BrandHour.read)),
        )
        .where(col(BrandHour.brand) == brand, hour >= start, hour < end)
        .group_by(by)
    )
    for key, mentions, complaints, negative, read in session.execute(query):
        yield key, Tally(int(mentions), int(complaints), int(negative), int(read))


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
