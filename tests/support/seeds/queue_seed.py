"""Seed a database with flagged posts through the real code paths (store, read, flag).

Used by the queue service, CLI, web and browser tests and by benchmarks/queue_bench.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from monitor.parse.text import content_hash
from monitor.queue import service
from monitor.settings import Settings, parse_settings
from monitor.storage import repo
from monitor.storage.db import session_scope
from monitor.storage.models import Reading

SEED_SETTINGS = parse_settings(
    {
        "brands": [{"name": "Nordtel"}, {"name": "Fjordkraft"}],
        "sources": [
            {"name": "blog", "kind": "feed", "url": "http://127.0.0.1:1/feed"},
            {"name": "forum", "kind": "discourse", "url": "http://127.0.0.1:1/forum"},
        ],
    }
)


@dataclass(frozen=True)
class SeedPost:
    id: str
    text: str
    title: str | None = None
    brand: str = "Nordtel"
    complaint: float = 0.9
    lang: str | None = "da"
    source: str = "blog"
    published_at: datetime | None = None
    thread_id: str | None = None
    kind: str = "post"
    author: str | None = "Mette"
    url: str | None = None


def record(post: SeedPost, published: datetime) -> repo.PostRecord:
    return repo.PostRecord(
        id=post.id,
        canonical_url=post.url or f"http://127.0.0.1:1/p/{post.id}",
        kind=post.kind,
        thread_id=post.thread_id or post.id,
        parent_id=post.thread_id if post.kind == "comment" else None,
        external_id=None,
        author=post.author,
        title=post.title,
        text=post.text,
        published_at=published,
        lang=post.lang,
        brands=(post.brand,),
        brand_reason="mention",
        content_hash=content_hash(post.title, post.text),
    )


def reading(post: SeedPost, now: datetime) -> Reading:
    c = post.complaint
    passage_end = min(len(post.text), 60)
    return Reading(
        post_id=post.id,
        brand=post.brand,
        content_hash=content_hash(post.title, post.text),
        model="seed",
        negative=c,
        neutral=(1 - c) / 2,
        positive=(1 - c) / 2,
        complaint=c,
        label="complaint" if c >= 0.5 else "not_complaint",
        passage=post.text[:passage_end],
        passage_source="mention",
        passage_start=0,
        passage_end=passage_end,
        classified_at=now,
    )


def seed(
    engine: Engine,
    posts: Sequence[SeedPost],
    now: datetime,
    settings: Settings = SEED_SETTINGS,
    threshold: float = 0.5,
) -> int:
    """Store, read and flag ``posts``; returns how many entered the queue."""
    with session_scope(engine) as session:
        sources = repo.sync_sources(session, settings, now)
        for name in {p.source for p in posts}:
            group = [p for p in posts if p.source == name]
            records = [record(p, p.published_at or now - timedelta(minutes=5)) for p in group]
            source_id = sources[name].id
            assert source_id is not None
            repo.store_posts(session, source_id, records, now)
        session.flush()
        rows = [reading(p, now) for p in posts]
        for row in rows:
            repo.save_reading(session, row)
        session.flush()
        return service.flag(session, rows, threshold, now)
