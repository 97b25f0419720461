"""The trends rollup counts what a direct count of the posts says, and catches up with
late posts (published long ago, fetched now) and re-read posts; the trends figures built
on it sum to the same totals per hour, day, source and language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import select

from monitor.reports.rollup import is_current, refresh
from monitor.reports.trends import csv_of, trends
from monitor.storage.db import read_scope, session_scope
from monitor.storage.models import BrandDay, BrandHour, BrandHourTotal, Reading, RollupState
from tests.support.seeds.queue_seed import SeedPost, reading, seed

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CPH = ZoneInfo("Europe/Copenhagen")
TARGET = timedelta(hours=4)


def posts() -> list[SeedPost]:
    made = []
    for i in range(40):
        at = NOW - timedelta(hours=3 * i + 1, minutes=i)
        made.append(
            SeedPost(
                f"p{i}",
                f"Nordtel {i}",
                complaint=0.9 if i % 3 == 0 else 0.1,
                lang=("da", "sv", None)[i % 3],
                source=("blog", "forum")[i % 2],
                published_at=at,
            )
        )
    made.append(
        SeedPost("f1", "Fjordkraft", brand="Fjordkraft", published_at=NOW - timedelta(hours=2))
    )
    return made


def figures(engine: Engine, now: datetime = NOW, days: int = 7) -> object:
    with session_scope(engine) as session:
        refresh(session, now)
    with session_scope(engine) as session:
        return trends(session, "Nordtel", now - timedelta(days=days), now, CPH, TARGET)


def rollup_rows(engine: Engine) -> list[list[str]]:
    """Every row of the three rollup tables, as text."""
    with session_scope(engine) as session:
        return [
            sorted(repr(r.model_dump()) for r in session.exec(select(model)).all())
            for model in (BrandHour, BrandHourTotal, BrandDay)
        ]


def test_the_figures_match_the_posts(any_engine: Engine) -> None:
    seed(any_engine, posts(), NOW - timedelta(minutes=30))  # the rollup's SQL per dialect
    found = figures(any_engine)
    assert sum(t.mentions for t in found.hours.values()) == 40  # type: ignore[attr-defined]
    assert sum(t.complaints for t in found.days.values()) == 14  # type: ignore[attr-defined]
    by_source = {k: (v.mentions, v.complaints) for k, v in found.by_source.items()}  # type: ignore[attr-defined]
    assert by_source == {"blog": (20, 7), "forum": (20, 7)}
    by_lang = {k: v.mentions for k, v in found.by_lang.items()}  # type: ignore[attr-defined]
    assert by_lang == {"da": 14, "sv": 13, "?": 13}
    hour = (NOW - timedelta(hours=1)).replace(minute=0)
    assert found.hours[hour].mentions == 1  # type: ignore[attr-defined]
    assert len(found.hours) == 7 * 24  # type: ignore[attr-defined]
    text = csv_of(sorted(found.by_source.items()), "source")  # type: ignore[attr-defined]
    assert text.splitlines() == [
        "source,mentions,complaints,negative,read,share_negative",
        "blog,20,7,7,20,0.3500",
        "forum,20,7,7,20,0.3500",
    ]


def test_late_and_re_read_posts_are_caught_up_and_match_a_full_recount(
    any_engine: Engine,
) -> None:
    seed(any_engine, posts(), NOW - timedelta(minutes=30))
    figures(any_engine)
    later = NOW + timedelta(hours=1)
    old = NOW - timedelta(days=3, hours=5)  # published long ago, crawled now
    seed(any_engine, [SeedPost("late", "Nordtel late", complaint=0.9, published_at=old)], later)
    with session_scope(any_engine) as session:  # p1 re-read as a complaint
        p1 = next(p for p in posts() if p.id == "p1")
        session.merge(Reading(**{**reading(p1, later).model_dump(), "label": "complaint",
                                 "complaint": 0.95, "negative": 0.95}))  # fmt: skip
    found = figures(any_engine, later)
    assert sum(t.mentions for t in found.days.values()) == 41  # type: ignore[attr-defined]
    assert sum(t.complaints for t in found.days.values()) == 16  # type: ignore[attr-defined]
    incremental = rollup_rows(any_engine)
    with session_scope(any_engine) as session:
        session.delete(session.get(RollupState, "brand_hours"))
    figures(any_engine, later)  # counted from scratch
    assert rollup_rows(any_engine) == incremental
    assert all(incremental)


def test_nothing_new_recounts_nothing(sqlite_engine: Engine) -> None:
    seed(sqlite_engine, posts(), NOW - timedelta(minutes=5))  # fetched 5 min before
    with session_scope(sqlite_engine) as session:
        assert refresh(session, NOW) == 1  # the first refresh counts everything
    with session_scope(sqlite_engine) as session:
        assert (
            refresh(session, NOW + timedelta(hours=1)) > 0
        )  # fetched within the margin: recounted
    with session_scope(sqlite_engine) as session:
        assert refresh(session, NOW + timedelta(hours=2)) == 0


def test_a_current_rollup_is_told_apart_without_writing(sqlite_engine: Engine) -> None:
    seed(sqlite_engine, posts(), NOW - timedelta(minutes=30))
    with read_scope(sqlite_engine) as session:
        assert not is_current(session, NOW)  # never counted
    figures(sqlite_engine)
    with read_scope(sqlite_engine) as session:
        assert is_current(session, NOW + timedelta(minutes=5))
    seed(
        sqlite_engine,
        [SeedPost("new", "Nordtel new", published_at=NOW)],
        NOW + timedelta(minutes=6),
    )
    with read_scope(sqlite_engine) as session:
        assert not is_current(session, NOW + timedelta(minutes=7))  # a post fetched since
