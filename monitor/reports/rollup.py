"""The trends rollup: posts per (brand, UTC hour, source, language) in ``brand_hours``, and
its sums per (brand, hour) (``brand_hour_totals``: the time series) and per (brand, UTC
day, source, language) (``brand_days``: the breakdowns over whole days), so a page over 90
days reads a few thousand rows however its posts spread over sources and languages.

Why: counting 90 days of a busy brand from the posts means joining every post to its brand
and reading, ~1.7 s at 100,000 posts on SQLite (benchmarks/RESULTS.md, "trends"); the page
wants 300 ms. The rollup keeps those counts, so the page sums a narrow table instead.

Kept up to date by :func:`refresh`, called before the trends page reads it and by the
daemon on every tick (so the page's refresh is usually tiny): the hours touched since the
last refresh — posts fetched since then, posts (re)read since then, whatever their
publication time — are counted again from the posts. The watermark is kept ``MARGIN``
behind the refresh's ``now``, so a crawl or classify transaction that began before the
refresh and committed after it is still seen by the next refresh (its hours are recounted
for a few minutes, which costs little). The first refresh counts everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from monitor.storage.models import (
    BrandDay,
    BrandHour,
    BrandHourTotal,
    Post,
    PostBrand,
    Reading,
    RollupState,
)

NAME = "brand_hours"
COUNTS = ("mentions", "complaints", "negative", "read")
TABLES = ("brand_hours", "brand_hour_totals", "brand_days")
MARGIN = timedelta(minutes=10)
HOUR = timedelta(hours=1)


def hour_of(dialect: str, column: Any) -> Any:
    """The UTC hour of a stored time, as a value of the same stored form."""
    if dialect == "sqlite":  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff', UTC
        return sa.func.substr(column, 1, 13).op("||")(":00:00.000000")
    return sa.func.timezone("UTC", sa.func.date_trunc("hour", sa.func.timezone("UTC", column)))


def day_of(dialect: str, column: Any) -> Any:
    """The UTC day (its midnight) of a stored time, as a value of the same stored form."""
    if dialect == "sqlite":
        return sa.func.substr(column, 1, 10).op("||")(" 00:00:00.000000")
    return sa.func.timezone("UTC", sa.func.date_trunc("day", sa.func.timezone("UTC", column)))


def day_floor(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def is_current(session: Session, now: datetime) -> bool:
    """Whether :func:`refresh` would find nothing to do (asked in a read-only transaction,
    so a page view takes no write lock while the crawler writes)."""
    state = session.get(RollupState, NAME)
    if state is None or now - state.refreshed_at >= MARGIN:
        return False
    return not _touched(session, session.get_bind().dialect.name, state.refreshed_at - MARGIN)


def refresh(session: Session, now: datetime) -> int:
    """Recount the hours touched since the last refresh (all hours the first time);
    returns how many hour ranges were recounted."""
    dialect = session.get_bind().dialect.name
    state = session.get(RollupState, NAME, with_for_update=True)
    if state is None:
        for table in (BrandHour, BrandHourTotal, BrandDay):
            session.execute(sa.delete(table))
        _count(session, dialect, None, None)
        _sum_hours(session, None, None)
        _sum_days(session, dialect, None, None)
        for name in TABLES:  # statistics taken while they were empty would mislead the planner
            session.execute(sa.text(f"ANALYZE {name}"))
        session.add(RollupState(name=NAME, refreshed_at=now))
        return 1
    ranges = _ranges(_touched(session, dialect, state.refreshed_at - MARGIN))
    if not ranges and now - state.refreshed_at < MARGIN:
        return 0  # nothing to write: a page view stays a read
    for lo, hi in ranges:
        hour = col(BrandHour.hour)
        session.execute(sa.delete(BrandHour).where(hour >= lo, hour < hi))
        _count(session, dialect, lo, hi)
        _sum_hours(session, lo, hi)
    for lo, hi in _ranges_of_days(ranges):
        _sum_days(session, dialect, lo, hi)
    state.refreshed_at = max(state.refreshed_at, now)
    return len(ranges)


def _touched(session: Session, dialect: str, since: datetime) -> list[datetime]:
    """Hours with a post fetched or read since ``since``."""
    published = col(Post.published_at)
    hour = hour_of(dialect, published)
    fetched = sa.select(hour).where(col(Post.fetched_at) >= since, published.is_not(None))
    read = (
        sa.select(hour)
        .join(Reading, col(Reading.post_id) == col(Post.id))
        .where(col(Reading.classified_at) >= since, published.is_not(None))
    )
    found = session.execute(sa.union(fetched, read)).scalars()
    return sorted({_as_hour(v) for v in found})


def _as_hour(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.strptime(str(value)[:13], "%Y-%m-%d %H").replace(tzinfo=UTC)


def _ranges(hours: Iterable[datetime]) -> list[tuple[datetime, datetime]]:
    """Consecutive hours merged into [start, end) ranges."""
    ranges: list[tuple[datetime, datetime]] = []
    for hour in hours:
        if ranges and ranges[-1][1] == hour:
            ranges[-1] = (ranges[-1][0], hour + HOUR)
        else:
            ranges.append((hour, hour + HOUR))
    return ranges


def _ranges_of_days(ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """The whole UTC days the hour ranges touch, merged."""
    days: list[tuple[datetime, datetime]] = []
    for lo, hi in ranges:
        start, end = day_floor(lo), day_floor(hi - HOUR) + timedelta(days=1)
        if days and days[-1][1] >= start:
            days[-1] = (days[-1][0], max(days[-1][1], end))
        else:
            days.append((start, end))
    return days


def _sum_hours(session: Session, lo: datetime | None, hi: datetime | None) -> None:
    """``brand_hour_totals`` for ``[lo, hi)`` from ``brand_hours`` (all, when None)."""
    hour = col(BrandHour.hour)
    totals = col(BrandHourTotal.hour)
    if lo is not None and hi is not None:
        session.execute(sa.delete(BrandHourTotal).where(totals >= lo, totals < hi))
    query = sa.select(col(BrandHour.brand), hour, *_sums()).group_by(col(BrandHour.brand), hour)
    if lo is not None and hi is not None:
        query = query.where(hour >= lo, hour < hi)
    _insert(session, BrandHourTotal, ["brand", "hour", *COUNTS], query)


def _sum_days(session: Session, dialect: str, lo: datetime | None, hi: datetime | None) -> None:
    """``brand_days`` for the days in ``[lo, hi)`` from ``brand_hours`` (all, when None)."""
    hour, day = col(BrandHour.hour), col(BrandDay.day)
    if lo is not None and hi is not None:
        session.execute(sa.delete(BrandDay).where(day >= lo, day < hi))
    keys = [col(BrandHour.brand), day_of(dialect, hour), col(BrandHour.source_id)]
    keys.append(col(BrandHour.lang))
    query = sa.select(*keys, *_sums()).group_by(*keys)
    if lo is not None and hi is not None:
        query = query.where(hour >= lo, hour < hi)
    _insert(session, BrandDay, ["brand", "day", "source_id", "lang", *COUNTS], query)


def _sums() -> list[Any]:
    return [sa.func.sum(getattr(BrandHour, name)) for name in COUNTS]


def _insert(session: Session, model: type, columns: list[str], query: Any) -> None:
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    session.execute(sa.insert(table).from_select(columns, query))


def _count(session: Session, dialect: str, lo: datetime | None, hi: datetime | None) -> None:
    """Insert the counts of the posts published in ``[lo, hi)`` (all, when None)."""
    published = col(Post.published_at)
    brand = col(PostBrand.brand)
    neg = col(Reading.negative)
    negative = sa.and_(neg >= col(Reading.neutral), neg >= col(Reading.positive))
    hour = hour_of(dialect, published)
    lang = sa.func.coalesce(col(Post.lang), "")
    query = (
        sa.select(
            brand,
            hour,
            col(Post.source_id),
            lang,
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
        .where(published.is_not(None))
        .group_by(brand, hour, col(Post.source_id), lang)
    )
    if lo is not None and hi is not None:
        query = query.where(published >= lo, published < hi)
    _insert(session, BrandHour, ["brand", "hour", "source_id", "lang", *COUNTS], query)
