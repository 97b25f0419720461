"""Cluster mode's checks on its PostgreSQL database: counts, a clean stop, pages waiting in
the outbox."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from alerts.outbox import enqueue
from alerts.page import Page


def count(database: str, query: str, **params: str) -> int:
    engine = sa.create_engine(database)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(query), params).scalar() or 0)
    finally:
        engine.dispose()


def assert_stopped_cleanly(database: str) -> None:
    """After SIGTERM: no job left running, every worker signed off."""
    doing = "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'"
    assert count(database, doing) == 0
    assert count(database, "SELECT count(*) FROM procrastinate_workers") == 0


PAGES = 24


def write_pages(engine: Engine, now: datetime) -> None:
    with Session(engine) as session, session.begin():
        for n in range(PAGES):
            page = Page(
                incident_id=f"test-{n}",
                dedup_key=f"stormwatch-test-{n}",
                step="trigger",
                brand="Teleborg",
                kind="volume_surge",
                severity="critical",
                title=f"page {n}",
                explanation="a page waiting in the outbox",
                created_at=now,
            )
            enqueue(session, page, now, channels=["hook"], recipient="mette")
