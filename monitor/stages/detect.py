"""The detect stage of the daemon: readings in the database -> detectors -> incidents.

On start the detector is rebuilt from the last four weeks of readings (the baseline is
learned from them) and the incident book from the open incidents in the database. Each
tick then observes the readings made since the last tick, evaluates every detector at
``now``, applies the signals to the book, resolves quiet incidents, and writes every
incident that changed. So a restart loses neither history nor open incidents.

History safety, with an explicit cut-over: ``live_since`` is when Stormwatch first stored a
post (its first crawl) less ``FIRST_CRAWL_LOOKBACK`` (30 minutes). Posts published before
it are the backlog: they teach the baseline, storms among them are history and never page.
Posts of the half hour before the first crawl are "what is happening right now": a fresh
install that starts during a storm counts them and pages on it (never on days-old backlog).
Why 30 minutes, with figures: benchmarks/first_crawl.py and benchmarks/RESULTS.md.

Acknowledging or resolving happens elsewhere (CLI, UI: ``monitor.queue.incidents.act``),
which writes the notices of that decision to the outbox in the same transaction
(``monitor.stages.page.record_decision``). Each tick first takes those decisions from the
database into the book (an acknowledgement and a resolve made in the same tick both), and
takes again any decision made while the tick ran before writing an incident back, so a
person's decision is never overwritten. A person's resolve closes that *round* for good: a
storm still signalling afterwards (within the cooldown) reopens the incident as a new round,
which pages afresh and says that the storm continues after it was resolved.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from monitor.detect import (
    BookUpdate,
    Detector,
    IncidentBook,
    IncidentConfig,
    PostEvent,
    codec,
    explain,
)
from monitor.detect.incidents import Incident
from monitor.detect.reasons import BookReason
from monitor.queue import service as queue
from monitor.storage.db import session_scope
from monitor.storage.models import IncidentRow, Post, PostBrand, Reading, Source

log = logging.getLogger("stormwatch.detect")

HISTORY = timedelta(days=28)
FIRST_CRAWL_LOOKBACK = timedelta(minutes=30)  # the cut-over: see the module docstring


class DetectStage:
    """The detect stage: feed new readings to the detector, keep the incident book."""

    name = "detect"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.detector: Detector | None = None
        self.book: IncidentBook | None = None
        self.watermark: datetime | None = None

    def start(self, now: datetime) -> None:
        with session_scope(self.engine) as session:
            live_since = (first_fetch(session) or now) - FIRST_CRAWL_LOOKBACK
            self.watermark = latest_reading(session)
            events = readings_until(session, self.watermark, since=now - HISTORY)
            incidents = book_incidents(session, now, IncidentConfig())
        self.detector = Detector(live_since=live_since)
        self.detector.observe(events)
        self.book = IncidentBook(incidents=incidents)

    async def run(self, now: datetime) -> list[BookUpdate]:
        """:class:`monitor.stages.Stage`: one step in a worker thread (a detector that
        could not start because the database was away is started here)."""
        return await asyncio.to_thread(self.step, now)

    def step(self, now: datetime) -> list[BookUpdate]:
        """Observe new readings, evaluate, update incidents; return what changed."""
        if self.detector is None or self.book is None:
            self.start(now)
        assert self.detector is not None
        assert self.book is not None
        with session_scope(self.engine) as session:
            self._sync_decisions(session, now)
            latest = latest_reading(session)
            fresh = readings_until(session, latest, classified_after=self.watermark)
            self.watermark = latest or self.watermark
        self.detector.observe(fresh)
        updates = [self.book.apply(signal, now) for signal in self.detector.evaluate(now)]
        updates += self.book.tick(now)
        if updates:
            self._save([u.incident for u in updates], now)
        return updates

    def _sync_decisions(self, session: Session, now: datetime) -> None:
        assert self.book is not None
        for incident in self.book.open_incidents():
            row = session.get(IncidentRow, incident.id)
            if row is not None:
                take_decisions(self.book, incident, row, now)

    def _save(self, incidents: Sequence[Incident], now: datetime) -> None:
        assert self.book is not None
        with session_scope(self.engine) as session:
            unique = {i.id: i for i in incidents}.values()
            for incident in unique:  # a person may have decided while this tick ran
                row = session.get(IncidentRow, incident.id, with_for_update=True)
                if row is not None:
                    take_decisions(self.book, incident, row, now)
            events = load_events(session, post_ids=[p for i in unique for p in i.post_ids])
            for incident in unique:
                save_incident(session, incident, explain(incident, events).text, now)


def take_decisions(book: IncidentBook, incident: Incident, row: IncidentRow, now: datetime) -> bool:
    """Take a person's acknowledge and resolve from ``row`` into the book, each once (a
    decision already in the incident's timeline is not taken again); an acknowledgement
    made in the same tick as the resolve is taken first. Returns whether anything changed."""
    known = {(entry.event, entry.at) for entry in incident.timeline}
    began = max([incident.opened_at] + [e.at for e in incident.timeline if e.event == "reopened"])
    acked, changed = row.acknowledged_at, False
    fresh_ack = acked is not None and acked >= began and ("acknowledged", acked) not in known
    if fresh_ack and row.status != "triggered" and incident.status == "triggered":
        book.acknowledge(incident.id, acked or now, row.acknowledged_by or "")
        changed = True
    resolved = row.resolved_at or now
    if row.status == "resolved" and incident.is_open and ("resolved", resolved) not in known:
        book.resolve(incident.id, resolved, BookReason.MANUAL)
        changed = True
    return changed


def save_incident(session: Session, incident: Incident, explanation: str, now: datetime) -> None:
    row = session.get(IncidentRow, incident.id) or IncidentRow(
        id=incident.id,
        brand=incident.brand,
        family=incident.family,
        kind=incident.kind,
        severity=incident.severity,
        status=incident.status,
        origin=incident.origin,
        opened_at=incident.opened_at,
        onset_at=incident.onset_at,
        updated_at=now,
    )
    row.kind, row.severity, row.origin = incident.kind, incident.severity, incident.origin
    row.onset_at = incident.onset_at
    row.status = incident.status  # the book took the database's decisions in at step start
    row.acknowledged_at = incident.acknowledged_at or row.acknowledged_at
    row.resolved_at = incident.resolved_at
    row.explanation, row.state, row.updated_at = explanation, codec.dumps(incident), now
    session.add(row)
    queue.link_incident(session, incident.id, incident.brand, incident.post_ids)


def book_incidents(session: Session, now: datetime, config: IncidentConfig) -> list[Incident]:
    """What the incident book needs, oldest first: the open incidents, and those resolved
    within the cooldown (a returning storm reopens them) or the burst memory (whether the
    brand's surges die out by themselves), so a restart decides as the running book would."""
    since = now - max(config.cooldown, config.burst_memory)
    recent = sa.or_(col(IncidentRow.status) != "resolved", col(IncidentRow.resolved_at) >= since)
    query = select(IncidentRow).where(recent).order_by(col(IncidentRow.opened_at))
    return [codec.loads(row.state) for row in session.exec(query).all()]


def first_fetch(session: Session) -> datetime | None:
    return session.exec(select(sa.func.min(Post.fetched_at))).one()


def latest_reading(session: Session) -> datetime | None:
    return session.exec(select(sa.func.max(Reading.classified_at))).one()


def readings_until(
    session: Session,
    until: datetime | None,
    *,
    since: datetime | None = None,
    classified_after: datetime | None = None,
) -> list[PostEvent]:
    """Events of the readings classified up to ``until``, the watermark read *before*
    them: a reading another process commits meanwhile (cluster mode: the classifier runs
    elsewhere) is left for the next step instead of falling behind the watermark unseen."""
    if until is None:  # no reading had been committed
        return []
    return load_events(
        session, since=since, classified_after=classified_after, classified_until=until
    )


def load_events(
    session: Session,
    *,
    since: datetime | None = None,
    classified_after: datetime | None = None,
    classified_until: datetime | None = None,
    post_ids: Sequence[str] | None = None,
) -> list[PostEvent]:
    """Readings joined with their posts as detector events, oldest first."""
    query = (
        select(Reading, Post, Source.name)
        .join(Post, col(Post.id) == col(Reading.post_id))
        .join(Source, col(Source.id) == col(Post.source_id))
    )
    when = sa.func.coalesce(Post.published_at, Post.fetched_at)
    if since is not None:
        query = query.where(when >= since)
    if classified_after is not None:
        query = query.where(col(Reading.classified_at) > classified_after)
    if classified_until is not None:
        query = query.where(col(Reading.classified_at) <= classified_until)
    if post_ids is not None:
        query = query.where(col(Post.id).in_(sorted(set(post_ids))))
    rows = session.exec(query.order_by(when)).all()
    named = _brands_named(session, [post.id for _, post, _ in rows])
    return [_event(reading, post, source, named.get(post.id, ())) for reading, post, source in rows]


BRANDS_CHUNK = 500  # ids per IN list: well inside SQLite's bound-parameter limit


def _brands_named(session: Session, post_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Every brand each post names, for the posts that name more than one."""
    ids = sorted(set(post_ids))
    named: dict[str, list[str]] = {}
    for lo in range(0, len(ids), BRANDS_CHUNK):
        chunk = ids[lo : lo + BRANDS_CHUNK]
        query = select(PostBrand.post_id, PostBrand.brand).where(col(PostBrand.post_id).in_(chunk))
        for post_id, brand in session.exec(query):
            named.setdefault(post_id, []).append(brand)
    return {post: tuple(sorted(brands)) for post, brands in named.items() if len(brands) > 1}


def _event(reading: Reading, post: Post, source: str, named: tuple[str, ...]) -> PostEvent:
    return PostEvent(
        post_id=post.id,
        brand=reading.brand,
        at=post.published_at or post.fetched_at,
        complaint=reading.complaint,
        negative=reading.negative,
        thread_id=post.thread_id,
        is_comment=post.kind == "comment",
        source=source,
        lang=post.lang,
        title=post.title,
        text_snippet=(reading.passage or post.text)[:280],
        url=post.canonical_url,
        author=post.author,
        also=tuple(b for b in named if b != reading.brand),
    )
