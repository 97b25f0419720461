"""Posts and readings written as the crawler and classifier write them: ``record`` builds one
post, ``store`` writes simulated post events (from ``monitor.detect.simulate``) with their
readings, one crawl as one batch."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from sqlalchemy.engine import Engine

from monitor.detect import PostEvent
from monitor.parse.text import content_hash
from monitor.settings import parse_settings
from monitor.storage import repo
from monitor.storage.db import session_scope
from monitor.storage.models import Reading
from tests.support.fixtures.clock import T0


def record(pid: str, text: str = "Nordtel svarer ikke", **kw: object) -> repo.PostRecord:
    base = repo.PostRecord(
        id=pid,
        canonical_url=f"http://127.0.0.1:1/p/{pid}",
        kind="post",
        thread_id=pid,
        parent_id=None,
        external_id=None,
        author="Mette",
        title="Tre uger uden internet",
        text=text,
        published_at=T0,
        lang="da",
        brands=("Nordtel",),
        brand_reason="mention",
        content_hash=content_hash(None, text),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def store(engine: Engine, events: Iterable[PostEvent], fetched: datetime | None) -> None:
    """Posts and their readings, as the crawler and classifier store them; one crawl (all
    fetched at ``fetched``) goes in as one batch."""
    settings = parse_settings({"sources": [{"name": "sim", "kind": "feed", "url": "http://x/f"}]})
    with session_scope(engine) as s:
        sid = repo.sync_sources(s, settings, fetched or datetime.now().astimezone())["sim"].id
        assert sid is not None
        pairs = [(e, event_record(e)) for e in events]
        if fetched is not None:
            repo.store_posts(s, sid, [r for _, r in pairs], fetched)
        for e, record in pairs:
            if fetched is None:
                repo.store_posts(s, sid, [record], e.at)
            s.add(_reading(e, record, fetched or e.at))


def event_record(e: PostEvent) -> repo.PostRecord:
    text = e.text_snippet or e.post_id
    return repo.PostRecord(
        id=e.post_id[:32],
        canonical_url=f"http://x/{e.post_id}",
        kind="comment" if e.is_comment else "post",
        thread_id=(e.thread_id or e.post_id)[:32],
        parent_id=None,
        external_id=None,
        author=e.author,
        title=e.title,
        text=text,
        published_at=e.at,
        lang=e.lang,
        brands=(e.brand,),
        brand_reason="mention",
        content_hash=content_hash(e.title, text),
    )


def reading(post: repo.PostRecord, brand: str, at: datetime, complaint: float = 0.9) -> Reading:
    """A reading of a stored post for one brand, classified at `at`."""
    return Reading(
        post_id=post.id,
        brand=brand,
        content_hash=post.content_hash,
        model="sim",
        negative=complaint,
        neutral=1 - complaint,
        positive=0.0,
        complaint=complaint,
        label="complaint" if complaint >= 0.5 else "not_complaint",
        passage=post.text,
        classified_at=at,
    )


def _reading(e: PostEvent, record: repo.PostRecord, at: datetime) -> Reading:
    return Reading(
        post_id=record.id,
        brand=e.brand,
        content_hash=record.content_hash,
        model="sim",
        negative=e.negative,
        neutral=1 - e.negative,
        positive=0.0,
        complaint=e.complaint,
        label="complaint" if e.complaint >= 0.5 else "not_complaint",
        passage=record.text,
        classified_at=at,
    )
