"""Trends page latency: 90 days of a brand at 100,000 posts on SQLite.

The target (issue 23): ``/trends?brand=B&days=90`` answers in p95 <= 300 ms on SQLite with
100,000 posts. This builds a fresh, migrated SQLite database in a temp dir and seeds N posts
about one brand (the worst case: every post is the page's brand; ``--other`` more posts of
another brand in the same days), over 90 days, 30 sources, 6 languages, read by the
classifier (95 %, a third complaints), the complaints flagged in the queue (70 % answered
within 0.5-30 hours). Rows go in with bulk inserts (the FTS triggers on posts fire as in the
daemon); the point is the query, not the seeding.

Timed: ``monitor.reports.trends.trends`` (the page's figures: the grouped query, incidents,
service) in a fresh session, and ``GET /trends`` through the web app (figures, SVG charts,
tables, template) with a logged-in client; 2 warm-ups, then median and p95 of ``--runs``.

Run: ``.venv/bin/python benchmarks/trends.py [--posts 100000] [--runs 20] [--db FILE]``
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.remove(str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.reports.rollup import is_current, refresh
from monitor.reports.trends import trends
from monitor.settings import DatabaseSettings
from monitor.storage.db import analyze, make_engine, read_scope, session_scope, upgrade
from monitor.storage.models import Post, PostBrand, QueueItem, Reading, Source

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DAYS = 90
TARGET_MS = 300.0
BATCH = 5000
LANGS = ["da", "sv", "nb", "en", "de", "fi"]


def seed(engine: Engine, posts: int, other: int) -> None:
    rng = random.Random(23)
    start = NOW - timedelta(days=DAYS)
    with session_scope(engine) as session:
        found = [Source(name=f"src-{i:02d}", kind="feed", url=f"http://127.0.0.1:1/{i}")
                 for i in range(30)]  # fmt: skip
        session.add_all(found)
        session.flush()
        ids = [s.id for s in found if s.id is not None]
    for first in range(0, posts + other, BATCH):
        count = min(BATCH, posts + other - first)
        rows = [_row(first + i, rng, start, ids, first + i >= posts) for i in range(count)]
        with engine.begin() as conn:
            conn.execute(sa.insert(_table(Post)), [r[0] for r in rows])
            conn.execute(sa.insert(_table(PostBrand)), [r[1] for r in rows])
            conn.execute(sa.insert(_table(Reading)), [r[2] for r in rows if r[2]])
            queued = [r[3] for r in rows if r[3]]
            if queued:
                conn.execute(sa.insert(_table(QueueItem)), queued)


def _table(model: type) -> sa.Table:
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return table


def _row(n: int, rng: random.Random, start: datetime, sources: list[int], other: bool) -> tuple:  # type: ignore[type-arg]
    brand = "Fjordkraft" if other else "Nordtel"
    at = start + timedelta(seconds=rng.uniform(0, DAYS * 86400))
    pid, lang, source = f"p{n:07d}", rng.choice(LANGS), rng.choice(sources)
    post = {
        "id": pid, "canonical_url": f"http://127.0.0.1:1/p/{n}", "source_id": source,
        "kind": "post", "thread_id": pid, "text": f"{brand} post {n}", "published_at": at,
        "fetched_at": at, "lang": lang, "brand_reason": "mention", "content_hash": f"{n:064d}",
        "edits": 0,
    }  # fmt: skip
    link = {"post_id": pid, "brand": brand}
    if rng.random() > 0.95:
        return post, link, None, None
    complaint = rng.random() < 1 / 3
    c = rng.uniform(0.6, 0.99) if complaint else rng.uniform(0.0, 0.45)
    reading = {
        "post_id": pid, "brand": brand, "content_hash": f"{n:064d}", "model": "bench",
        "negative": c, "neutral": (1 - c) / 2, "positive": (1 - c) / 2, "complaint": c,
        "label": "complaint" if complaint else "not_complaint", "passage": "",
        "passage_source": "head", "passage_start": 0, "passage_end": 0, "classified_at": at,
    }  # fmt: skip
    if not complaint:
        return post, link, reading, None
    answered = at + timedelta(hours=rng.uniform(0.5, 30)) if rng.random() < 0.7 else None
    item = {
        "post_id": pid, "brand": brand, "status": "responded" if answered else "new",
        "source_id": source, "lang": lang, "complaint": c, "urgency": c, "rank": float(n),
        "published_at": at, "flagged_at": at + timedelta(minutes=2), "first_response_at": answered,
        "updated_at": at,
    }  # fmt: skip
    return post, link, reading, item


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    for _ in range(2):
        fn()
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def report(name: str, ms: list[float]) -> None:
    p95 = sorted(ms)[max(0, round(0.95 * len(ms)) - 1)]
    verdict = "PASS" if p95 <= TARGET_MS else "FAIL"
    print(f"{name:34} median {statistics.median(ms):7.1f} ms  p95 {p95:7.1f} ms  {verdict}")


def page_timer(engine: Engine) -> Callable[[], object]:
    """GET /trends through the app, logged in (accounts hashing made cheap)."""
    from argon2 import PasswordHasher
    from fastapi.testclient import TestClient

    from monitor import accounts
    from monitor.settings import parse_settings
    from monitor.web import create_app

    accounts.HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with session_scope(engine) as session:
        if all(u.name != "mia" for u in accounts.list_users(session)):
            accounts.add_user(session, "mia", "manager", "correct horse battery", NOW)
    web = {"secret_key": "k" * 32, "public_url": "http://testserver"}
    conf = parse_settings(
        {"database": {"url": str(engine.url)}, "web": web, "brands": [{"name": "Nordtel"}]}
    )
    client = TestClient(create_app(conf, engine, clock=lambda: NOW), follow_redirects=False)
    form = client.get("/login").text
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"name": "mia", "password": "correct horse battery",
                                "csrf_token": token})  # fmt: skip

    def get() -> object:
        response = client.get("/trends", params={"brand": "Nordtel", "days": DAYS})
        assert response.status_code == 200, response.text[:300]
        return response

    return get


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--other", type=int, default=0)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--no-page", action="store_true", help="time the figures only")
    args = parser.parse_args()
    path = args.db or Path(tempfile.mkdtemp()) / "trends.db"
    fresh = not path.exists()
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{path}"))
    if fresh:
        upgrade(engine)
        started = time.perf_counter()
        seed(engine, args.posts, args.other)
        analyze(engine)
        print(
            f"seeded {args.posts:,} + {args.other:,} posts in {time.perf_counter() - started:.0f} s"
        )
    zone, target = ZoneInfo("Europe/Copenhagen"), timedelta(hours=4)

    started = time.perf_counter()
    with session_scope(engine) as session:
        refresh(session, NOW)
    print(f"rollup caught up in {time.perf_counter() - started:.1f} s (all of it on a first run)")

    def figures() -> object:  # as the page does it
        with read_scope(engine) as session:
            current = is_current(session, NOW)
        if not current:
            with session_scope(engine) as session:
                refresh(session, NOW)
        with read_scope(engine) as session:
            return trends(session, "Nordtel", NOW - timedelta(days=DAYS), NOW, zone, target)

    print(f"trends, {DAYS} days, {args.posts:,} posts of the brand, {args.runs} runs:")
    report("figures (refresh, rollup, service)", timed(figures, args.runs))
    if not args.no_page:
        report("GET /trends (page)", timed(page_timer(engine), args.runs))
    engine.dispose()


if __name__ == "__main__":
    main()
