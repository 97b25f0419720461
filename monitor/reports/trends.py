"""A brand's trends over the last N days: mentions, complaints and negative share per hour
and per day, by source and language, incidents, and the service figures.

Counted from the rollup (monitor/reports/rollup.py): the series from its per-hour sums,
the breakdowns from its per-day sums and the edge hours, summed in the database, so a page
over 90 days of a busy brand moves a few thousand rows, not one per post
(benchmarks/RESULTS.md, "trends"). Hours are
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
from monitor.reports.rollup import COUNTS, HOUR, day_floor
from monitor.storage.models import BrandDay, BrandHour, BrandHourTotal, Source

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
    for hour, counts in _series(session, brand, start, end):
        _merge(found.hours.setdefault(hour, Tally()), counts)
        _merge(found.days.setdefault(hour.astimezone(zone).date(), Tally()), counts)
    names = {i: n for i, n in session.execute(sa.select(col(Source.id), col(Source.name)))}
    for source_id, lang, counts in _mix(session, brand, start, end):
        _merge(found.by_source.setdefault(names.get(source_id, "?"), Tally()), counts)
        _merge(found.by_lang.setdefault(lang or "?", Tally()), counts)
    found.incidents = incidents_in(session, brand, start, end)
    found.service = service(session, brand, start, end, target)
    return found


def _merge(tally: Tally, counts: Tally) -> None:
    tally.mentions += counts.mentions
    tally.complaints += counts.complaints
    tally.negative += counts.negative
    tally.read += counts.read


def _series(
    session: Session, brand: str, start: datetime, end: datetime
) -> Iterable[tuple[datetime, Tally]]:
    hour = col(BrandHourTotal.hour)
    query = sa.select(hour, *(getattr(BrandHourTotal, name) for name in COUNTS)).where(
        col(BrandHourTotal.brand) == brand, hour >= start, hour < end
    )
    for at, mentions, complaints, negative, read in session.execute(query):
        yield at, Tally(mentions, complaints, negative, read)


def _mix(
    session: Session, brand: str, start: datetime, end: datetime
) -> Iterable[tuple[int, str, Tally]]:
    """Counts per (source, language) over ``[start, end)``: whole UTC days from
    ``brand_days``, the hours at either edge from ``brand_hours``."""
    first, last = day_floor(start - HOUR) + timedelta(days=1), day_floor(end)
    if first >= last:  # under two days: hours only
        yield from _mix_of(session, BrandHour, BrandHour.hour, brand, start, end)
        return
    yield from _mix_of(session, BrandHour, BrandHour.hour, brand, start, first)
    yield from _mix_of(session, BrandDay, BrandDay.day, brand, first, last)
    yield from _mix_of(session, BrandHour, BrandHour.hour, brand, last, end)


def _mix_of(
    session: Session,
    model: type[BrandHour] | type[BrandDay],
    at: Any,
    brand: str,
    lo: datetime,
    hi: datetime,
) -> Iterable[tuple[int, str, Tally]]:
    if lo >= hi:
        return
    keys = (col(model.source_id), col(model.lang))
    query = (
        sa.select(*keys, *(sa.func.sum(getattr(model, name)) for name in COUNTS))
        .where(col(model.brand) == brand, at >= lo, at < hi)
        .group_by(*keys)
    )
    for source_id, lang, mentions, complaints, negative, read in session.execute(query):
        yield source_id, lang, Tally(int(mentions), int(complaints), int(negative), int(read))


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
