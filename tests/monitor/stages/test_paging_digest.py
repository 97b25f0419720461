"""Single flagged posts wait for business hours: one digest per brand per business day to
level 1, nothing at night, nothing twice, none while the brand has a storm open."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from alerts.store import OutboxRow
from monitor.stages.page import PagingStage
from monitor.storage.db import session_scope
from monitor.storage.models import IncidentRow
from tests.support.seeds.queue_seed import SeedPost, seed
from tests.support.worlds.paging import file_paging_settings

SATURDAY_NIGHT = datetime(2026, 11, 7, 2, 0, tzinfo=UTC)  # Copenhagen 03:00, a weekend
MONDAY_OPEN = datetime(2026, 11, 9, 7, 0, tzinfo=UTC)  # Copenhagen 08:00, hours open


def digests(engine: Engine) -> list[OutboxRow]:
    with session_scope(engine) as s:
        query = select(OutboxRow).where(col(OutboxRow.step).startswith("digest:"))
        return list(s.exec(query.order_by(col(OutboxRow.id))))


def test_flagged_posts_wait_for_business_hours_then_one_digest_a_day(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    stage = PagingStage(file_paging_settings(tmp_path, sqlite_engine), sqlite_engine)
    posts = [SeedPost(f"p{i}", f"Nordtel svarer ikke på min klage nummer {i}") for i in range(7)]
    seed(sqlite_engine, posts, SATURDAY_NIGHT)
    assert stage.plan(SATURDAY_NIGHT) == 0
    assert digests(sqlite_engine) == []

    stage.step(MONDAY_OPEN)
    rows = digests(sqlite_engine)
    assert [(r.incident_id, r.step, r.recipient, r.status) for r in rows] == [
        ("flagged:Nordtel", "digest:2026-11-09", "mette", "sent")
    ]
    page = json.loads(rows[0].page)
    assert page["title"] == "7 flagged posts waiting in the queue"
    assert len(page["top_posts"]) == 5
    assert "queue?brand=Nordtel&status=new" in page["explanation"]
    assert "Nordtel svarer ikke" in (tmp_path / "pages.log").read_text()

    assert stage.plan(MONDAY_OPEN + timedelta(hours=2)) == 0  # one digest a day
    seed(
        sqlite_engine,
        [SeedPost("late", "Nordtel har glemt min ordre")],
        MONDAY_OPEN + timedelta(hours=3),
    )
    assert stage.plan(MONDAY_OPEN + timedelta(hours=4)) == 0  # today's digest went out
    stage.plan(MONDAY_OPEN + timedelta(days=1))
    tuesday = digests(sqlite_engine)[-1]
    assert tuesday.step == "digest:2026-11-10"
    assert [p["url"] for p in json.loads(tuesday.page)["top_posts"]] == [
        "http://127.0.0.1:1/p/late"
    ]


def test_no_digest_for_a_brand_with_an_open_storm(sqlite_engine: Engine, tmp_path: Path) -> None:
    stage = PagingStage(file_paging_settings(tmp_path, sqlite_engine), sqlite_engine)
    seed(sqlite_engine, [SeedPost("a", "Nordtel er nede igen")], SATURDAY_NIGHT)
    with session_scope(sqlite_engine) as s:
        s.add(
            IncidentRow(
                id="Nordtel:storm:x", brand="Nordtel", family="storm", kind="volume_surge",
                severity="critical", status="acknowledged", origin="live",
                opened_at=SATURDAY_NIGHT, onset_at=SATURDAY_NIGHT, updated_at=SATURDAY_NIGHT,
            )
        )  # fmt: skip
    stage.plan(MONDAY_OPEN)
    assert digests(sqlite_engine) == []
