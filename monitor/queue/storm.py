"""An incident's explanation as facts for the incident page's cards.

The detect stage stores the explanation as plain text (pages, the CLI). The page draws it
again from the incident's stored state and its posts as stored now, through the same
:func:`monitor.detect.explain.explain`, and adds what the text cannot carry: each top
thread's title and link instead of its id, and whether each representative post (from
within the storm) is in the queue, so the page links it to its queue item.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from monitor.detect import codec
from monitor.detect.explain import Explanation, Representative, explain
from monitor.detect.incidents import Incident
from monitor.queue.service import iso
from monitor.stages.detect import load_events
from monitor.storage.models import IncidentRow, Post, QueueItem

OPENING_WORDS = 10  # an untitled thread is named by the first words of its first post
THREAD_POSTS = 2  # a "thread" of one post is that post: not shown as a top thread


@dataclass(frozen=True)
class ThreadFact:
    thread_id: str
    title: str  # the thread's title, else the opening words of its first post
    url: str | None  # the thread's first post as published (checked again before a link)
    posts: int  # the incident's posts in it


@dataclass(frozen=True)
class SampleFact:
    post_id: str
    brand: str
    source: str
    title: str
    snippet: str
    complaint: float
    published_at: datetime | None
    url: str | None
    queued: bool  # in the queue: the page links its queue item, else the original


@dataclass(frozen=True)
class StormFacts:
    kind: str  # the strongest signal's detector
    observed: float
    expected: float
    window_seconds: float
    ratio: float
    p_value: float | None
    score: float | None  # CUSUM statistic (slow burn, rising storm)
    share_negative: float
    posts: int
    sources: tuple[tuple[str, int], ...]
    languages: tuple[tuple[str, int], ...]
    threads: tuple[ThreadFact, ...]
    samples: tuple[SampleFact, ...]
    onset_at: datetime

    @property
    def unit(self) -> str:
        return "comments" if self.kind == "thread_velocity" else "complaints"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["onset_at"] = iso(self.onset_at)
        data["samples"] = [{**asdict(s), "published_at": iso(s.published_at)} for s in self.samples]
        data["unit"] = self.unit
        return data


def storm_facts(session: Session, row: IncidentRow) -> StormFacts | None:
    """The incident's explanation as facts; None for a row without a stored state."""
    if not row.state or row.state == "{}":
        return None
    incident = codec.loads(row.state)
    found = explain(incident, load_events(session, post_ids=incident.post_ids))
    return StormFacts(
        kind=incident.peak.kind,
        observed=found.observed,
        expected=found.expected,
        window_seconds=incident.peak.window.total_seconds(),
        ratio=found.ratio,
        p_value=found.p_value,
        score=incident.peak.score,
        share_negative=found.share_negative,
        posts=found.posts,
        sources=found.top_sources,
        languages=found.languages,
        threads=tuple(threads(session, [t for t in found.top_threads if t[1] >= THREAD_POSTS])),
        samples=tuple(_samples(session, incident, found)),
        onset_at=incident.onset_at,
    )


def threads(session: Session, counts: Iterable[tuple[str, int]]) -> list[ThreadFact]:
    """Each thread by its title and first post: the post the thread id names when it is
    stored (a thread's id is its first post's), else the thread's earliest stored post."""
    counted = list(counts)
    ids = [t for t, _ in counted]
    firsts = {p.id: p for p in session.exec(select(Post).where(col(Post.id).in_(ids)))}
    facts = []
    for thread_id, n in counted:
        first = firsts.get(thread_id) or _earliest(session, thread_id)
        titled = first if first and first.title else _earliest(session, thread_id, titled=True)
        title = (titled.title or "") if titled else ""
        facts.append(
            ThreadFact(
                thread_id,
                title.strip() or _opening(first.text if first else "") or thread_id,
                first.canonical_url if first else None,
                n,
            )
        )
    return facts


def _earliest(session: Session, thread_id: str, titled: bool = False) -> Post | None:
    query = select(Post).where(col(Post.thread_id) == thread_id)
    if titled:
        query = query.where(col(Post.title).is_not(None), col(Post.title) != "")
    when = sa.func.coalesce(col(Post.published_at), col(Post.fetched_at))
    return session.exec(query.order_by(when, col(Post.id)).limit(1)).first()


def _opening(text: str) -> str:
    words = text.split()
    return " ".join(words[:OPENING_WORDS]) + (" …" if len(words) > OPENING_WORDS else "")


def _samples(session: Session, incident: Incident, found: Explanation) -> list[SampleFact]:
    reps = found.representatives
    queued = _queued(session, incident.brand, [r.post_id for r in reps])
    return [_sample(r, incident.brand, r.post_id in queued) for r in reps]


def _sample(rep: Representative, brand: str, queued: bool) -> SampleFact:
    return SampleFact(
        rep.post_id,
        brand,
        rep.source,
        rep.title,
        rep.snippet,
        rep.complaint,
        rep.at,
        rep.url,
        queued,
    )


def _queued(session: Session, brand: str, post_ids: list[str]) -> set[str]:
    if not post_ids:
        return set()
    query = sa.select(col(QueueItem.post_id)).where(
        col(QueueItem.brand) == brand, col(QueueItem.post_id).in_(post_ids)
    )
    return {p for (p,) in session.execute(query)}
