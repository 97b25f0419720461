"""Flagged posts: flag, list, search and triage. The one service under web, API and CLI.

Functions take a Session, plain values and ``now``; none of them commits (the caller's
``session_scope`` is the transaction). Every change writes an ``AuditEvent`` in the same
transaction, so a post's history is exactly what happened to it.

Triage states::

    new ──ack──► acknowledged ──respond──► responded ──resolve──► resolved
     │               │                        │
     └──────────── dismiss (any open state) ──┴──► dismissed      reopen ◄── resolved/dismissed

``assign`` acknowledges a new post (someone now owns it). Relabelling an open post as
``not_complaint`` dismisses it: the manager has said it does not belong in the queue.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from alerts.store import UTCDateTime
from monitor.errors import QueueError
from monitor.queue import ranking
from monitor.storage import search
from monitor.storage.models import (
    OPEN_STATUSES,
    QUEUE_STATUSES,
    AuditEvent,
    Post,
    QueueItem,
    Reading,
    Relabel,
    Source,
)

ACTIONS = ("ack", "assign", "respond", "resolve", "dismiss", "reopen", "note", "relabel")
LABELS = ("complaint", "not_complaint")
MAX_NOTE = 4000
MAX_PAGE = 500
THREAD_CONTEXT = 50  # posts of the thread shown around a flagged comment
SNIPPET = 280


# --- views -------------------------------------------------------------------------------


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class QueueFilter:
    brand: str | None = None
    status: str = "open"  # "open" | "all" | one of QUEUE_STATUSES
    lang: str | None = None
    source: str | None = None
    assignee: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None
    limit: int = 50
    offset: int = 0
    incident: str | None = None  # the posts an incident gathered (its workspace)


@dataclass(frozen=True)
class QueueRow:
    post_id: str
    brand: str
    status: str
    assignee: str | None
    complaint: float
    urgency: float
    title: str | None
    passage: str
    author: str | None
    url: str
    source: str
    lang: str | None
    published_at: datetime
    flagged_at: datetime
    first_response_at: datetime | None
    incident_id: str | None
    copies: int = 0  # other posts that carried the same text (syndicated copies, reposts)

    @property
    def key(self) -> str:
        return f"{self.post_id}/{self.brand}"

    def to_dict(self) -> dict[str, Any]:
        # shallow on purpose: asdict() deep-copies every field (half the CSV export's time)
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("published_at", "flagged_at", "first_response_at"):
            data[name] = iso(data[name])
        return data


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "rows": [r.to_dict() for r in self.rows]}


@dataclass(frozen=True)
class Event:
    at: datetime
    actor: str
    action: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": iso(self.at),
            "actor": self.actor,
            "action": self.action,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class ThreadPost:
    post_id: str
    author: str | None
    title: str | None
    published_at: datetime | None
    snippet: str
    current: bool

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "published_at": iso(self.published_at)}


@dataclass(frozen=True)
class CopyPost:
    """Another post that carried the same text: where and when it appeared."""

    post_id: str
    url: str
    source: str
    published_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "published_at": iso(self.published_at)}


@dataclass(frozen=True)
class ItemDetail:
    row: QueueRow
    text: str
    passage_start: int
    passage_end: int
    passage_source: str
    scores: dict[str, Any]
    relabel: str | None
    thread: list[ThreadPost] = field(default_factory=list)
    history: list[Event] = field(default_factory=list)
    copies: list[CopyPost] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.row.to_dict(),
            "text": self.text,
            "passage_start": self.passage_start,
            "passage_end": self.passage_end,
            "passage_source": self.passage_source,
            "scores": self.scores,
            "relabel": self.relabel,
            "thread": [t.to_dict() for t in self.thread],
            "history": [e.to_dict() for e in self.history],
            "copies": [c.to_dict() for c in self.copies],
        }


@dataclass(frozen=True)
class ResponseTime:
    post_id: str
    brand: str
    incident_id: str | None
    flagged_at: datetime
    first_response_at: datetime | None
    status: str

    @property
    def seconds(self) -> float | None:
        if self.first_response_at is None:
            return None
        return (self.first_response_at - self.flagged_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("flagged_at", "first_response_at"):
            data[name] = iso(data[name])
        return {**data, "seconds": self.seconds}


# --- flagging (called by the classify stage, in its transaction) ---------------------------


def post_subject(post_id: str, brand: str) -> str:
    return f"post:{post_id}:{brand}"


def flag(session: Session, readings: Sequence[Reading], threshold: float, now: datetime) -> int:
    """Queue every reading at or over ``threshold``; refresh the complaint of queued ones.

    A post already in the queue keeps its triage state (an edit does not reopen it); a
    reading that drops below the threshold leaves a queued post where it is — a manager
    decides, not a re-read. Returns how many posts entered the queue."""
    wanted = [r for r in readings if r.complaint >= threshold]
    if not wanted:
        return 0
    posts = {
        p.id: p
        for p in session.exec(select(Post).where(col(Post.id).in_({r.post_id for r in wanted})))
    }
    reach = _reach(session, posts.values(), now)
    added = 0
    queued: set[tuple[str, str]] = set()  # this call's items (not flushed: get cannot see them)
    originals_first = sorted(
        wanted, key=lambda r: getattr(posts.get(r.post_id), "copy_of", None) is not None
    )
    with session.no_autoflush:  # one flush at the end, not one INSERT per session.get
        for reading in originals_first:
            post = posts.get(reading.post_id)
            if post is None or _original_queued(session, post, reading.brand, queued):
                continue
            thread_reach = reach.get(_thread_of(post), ranking.Reach())
            added += _upsert(session, post, reading, thread_reach, now)
            queued.add((post.id, reading.brand))
    return added


def _original_queued(
    session: Session, post: Post, brand: str, queued: set[tuple[str, str]]
) -> bool:
    """A copy of a post already in the queue for `brand` is shown with it, not as an item of
    its own (a copy whose original was not flagged for the brand is queued itself)."""
    if post.copy_of is None:
        return False
    key = (post.copy_of, brand)
    return key in queued or session.get(QueueItem, key) is not None


def _upsert(
    session: Session, post: Post, reading: Reading, reach: ranking.Reach, now: datetime
) -> int:
    published = post.published_at or post.fetched_at
    value = ranking.urgency(reading.complaint, reach)
    item = session.get(QueueItem, (post.id, reading.brand))
    is_new = item is None
    if item is None:
        item = QueueItem(
            post_id=post.id,
            brand=reading.brand,
            source_id=post.source_id,
            lang=post.lang,
            complaint=reading.complaint,
            urgency=value,
            rank=ranking.rank(value, published),
            published_at=published,
            flagged_at=now,
            updated_at=now,
        )
        detail = f"complaint {reading.complaint:.2f}"
        session.add(
            AuditEvent(
                subject=post_subject(post.id, reading.brand),
                at=now,
                actor="stormwatch",
                action="flagged",
                detail=detail,
            )
        )
    item.complaint, item.urgency, item.lang = reading.complaint, value, post.lang
    item.rank = ranking.rank(value, published)
    session.add(item)
    return int(is_new)


def _thread_of(post: Post) -> str:
    return post.thread_id or post.id


def _reach(session: Session, posts: Iterable[Post], now: datetime) -> dict[str, ranking.Reach]:
    """Comments per thread, in all and in the last VELOCITY_WINDOW (one grouped query)."""
    threads = sorted({_thread_of(p) for p in posts})
    if not threads:
        return {}
    recent_since = now - ranking.VELOCITY_WINDOW
    when = sa.type_coerce(
        sa.func.coalesce(col(Post.published_at), col(Post.fetched_at)), UTCDateTime
    )
    recent = sa.func.sum(sa.case((when >= recent_since, 1), else_=0))
    query = (
        sa.select(col(Post.thread_id), sa.func.count(), recent)
        .where(col(Post.thread_id).in_(threads), col(Post.kind) == "comment")
        .group_by(col(Post.thread_id))
    )
    return {t: ranking.Reach(int(n), int(r or 0)) for t, n, r in session.execute(query)}


def link_incident(session: Session, incident_id: str, brand: str, post_ids: Iterable[str]) -> int:
    """Mark the queued posts of an incident (called when the incident is saved)."""
    ids = sorted(set(post_ids))
    if not ids:
        return 0
    update = (
        sa.update(QueueItem)
        .where(col(QueueItem.brand) == brand, col(QueueItem.post_id).in_(ids))
        .where(
            sa.or_(col(QueueItem.incident_id).is_(None), col(QueueItem.incident_id) != incident_id)
        )
        .values(incident_id=incident_id)
    )
    # An UPDATE's result is a CursorResult, which has rowcount; Session.execute is typed wider.
    return int(session.execute(update).rowcount or 0)  # type: ignore[attr-defined]


# --- listing -------------------------------------------------------------------------------


def _row_query() -> Any:
    return (
        sa.select(
            QueueItem,
            col(Post.title),
            col(Post.author),
            col(Post.canonical_url),
            col(Source.name),
            col(Reading.passage),
        )
        .join(Post, col(Post.id) == col(QueueItem.post_id))
        .join(Source, col(Source.id) == col(QueueItem.source_id))
        .outerjoin(
            Reading,
            sa.and_(
                col(Reading.post_id) == col(QueueItem.post_id),
                col(Reading.brand) == col(QueueItem.brand),
            ),
        )
    )


def _filtered(query: sa.Select[Any], flt: QueueFilter, dialect: str) -> sa.Select[Any]:
    conditions = list(_conditions(flt))
    if flt.source:
        ids = sa.select(col(Source.id)).where(col(Source.name) == flt.source)
        conditions.append(col(QueueItem.source_id).in_(ids.scalar_subquery()))
    if flt.q and flt.q.strip():
        matching = search.matching_post_ids(dialect, flt.q)
        if matching is None:
            raise QueueError(
                "invalid_input", f"search words must be at least {search.MIN_TERM} letters"
            )
        conditions.append(col(QueueItem.post_id).in_(matching.scalar_subquery()))
    return query.where(*conditions)


def _conditions(flt: QueueFilter) -> Iterable[sa.ColumnElement[bool]]:
    if flt.status == "open":
        yield col(QueueItem.status).in_(OPEN_STATUSES)
    elif flt.status != "all":
        if flt.status not in QUEUE_STATUSES:
            raise QueueError(
                "invalid_input", f"status must be open, all or one of {', '.join(QUEUE_STATUSES)}"
            )
        yield col(QueueItem.status) == flt.status
    if flt.brand:
        yield col(QueueItem.brand) == flt.brand
    if flt.lang:
        yield col(QueueItem.lang) == flt.lang
    if flt.assignee:
        yield col(QueueItem.assignee) == flt.assignee
    if flt.incident:
        yield col(QueueItem.incident_id) == flt.incident
    if flt.since:
        yield col(QueueItem.published_at) >= flt.since
    if flt.until:
        yield col(QueueItem.published_at) < flt.until


def count_flagged_after(session: Session, flt: QueueFilter, after: datetime) -> int:
    """How many posts matching ``flt`` were flagged after ``after`` (the "new posts" bar of a
    page open while a storm grows)."""
    dialect = session.get_bind().dialect.name
    query = _filtered(sa.select(sa.func.count()).select_from(QueueItem), flt, dialect)
    return int(session.execute(query.where(col(QueueItem.flagged_at) > after)).scalar_one())


def list_queue(session: Session, flt: QueueFilter) -> QueuePage:
    """Flagged posts, most urgent first (age-decayed urgency: see ranking).

    Keys first: the page's (post, brand) keys are chosen from ``queue_items`` alone (the
    covering index ``ix_queue_status_rank`` answers filter, order and limit), and only those
    rows are joined to posts, sources and readings — joining every match before sorting
    grew with the queue. With a search, the total comes from ``count(*) OVER ()``
    in the same statement, so the full-text lookup runs once (benchmarks/queue_bench.py)."""
    dialect = session.get_bind().dialect.name
    limit = max(1, min(flt.limit, MAX_PAGE))
    searching = bool(flt.q and flt.q.strip())
    columns: list[Any] = [
        col(QueueItem.post_id).label("pid"),
        col(QueueItem.brand).label("b"),
        col(QueueItem.rank).label("r"),
    ]
    if searching:
        columns.append(sa.func.count().over().label("total"))
    keys = (
        _filtered(sa.select(*columns), flt, dialect)
        .order_by(col(QueueItem.rank).desc(), col(QueueItem.post_id))
        .limit(limit)
        .offset(max(flt.offset, 0))
        .subquery("k")
    )
    query = _row_query().join(
        keys, sa.and_(col(QueueItem.post_id) == keys.c.pid, col(QueueItem.brand) == keys.c.b)
    )
    if searching:
        query = query.add_columns(keys.c.total)
    found = session.execute(query.order_by(keys.c.r.desc(), keys.c.pid)).all()
    rows = with_copies(session, [_row(*r[:6]) for r in found])
    if searching and found:
        return QueuePage(rows, int(found[0][-1]))
    if searching and flt.offset <= 0:
        return QueuePage(rows, 0)
    count = _filtered(sa.select(sa.func.count()).select_from(QueueItem), flt, dialect)
    return QueuePage(rows, int(session.execute(count).scalar_one()))


def with_copies(session: Session, rows: list[QueueRow]) -> list[QueueRow]:
    """`rows` with how many copies of each post are stored (one query for the page)."""
    if not rows:
        return rows
    query = (
        sa.select(col(Post.copy_of), sa.func.count())
        .where(col(Post.copy_of).in_({r.post_id for r in rows}))
        .group_by(col(Post.copy_of))
    )
    counts = {str(original): int(n) for original, n in session.execute(query)}
    return [replace(r, copies=counts[r.post_id]) if r.post_id in counts else r for r in rows]


def copies_of(session: Session, post_id: str) -> list[CopyPost]:
    """The posts stored as copies of `post_id`, first seen first."""
    query = (
        sa.select(col(Post.id), col(Post.canonical_url), col(Source.name), col(Post.published_at))
        .join(Source, col(Source.id) == col(Post.source_id))
        .where(col(Post.copy_of) == post_id)
        .order_by(col(Post.fetched_at), col(Post.id))
    )
    return [CopyPost(pid, url, source, at) for pid, url, source, at in session.execute(query)]


def _row(
    item: QueueItem,
    title: str | None,
    author: str | None,
    url: str,
    source: str,
    passage: str | None,
) -> QueueRow:
    return QueueRow(
        post_id=item.post_id,
        brand=item.brand,
        status=item.status,
        assignee=item.assignee,
        complaint=item.complaint,
        urgency=item.urgency,
        title=title,
        passage=passage or "",
        author=author,
        url=url,
        source=source,
        lang=item.lang,
        published_at=item.published_at,
        flagged_at=item.flagged_at,
        first_response_at=item.first_response_at,
        incident_id=item.incident_id,
    )


def rows_for(session: Session, keys: Iterable[tuple[str, str]]) -> list[QueueRow]:
    """Queue rows for (post_id, brand) keys, in rank order (an incident's posts)."""
    wanted = set(keys)
    if not wanted:
        return []
    ids = sorted({p for p, _ in wanted})
    query = _row_query().where(col(QueueItem.post_id).in_(ids)).order_by(col(QueueItem.rank).desc())
    return [
        row
        for row in (_row(*r) for r in session.execute(query))
        if (row.post_id, row.brand) in wanted
    ]


def get_item(session: Session, post_id: str, brand: str) -> ItemDetail:
    found = session.execute(
        _row_query().where(col(QueueItem.post_id) == post_id, col(QueueItem.brand) == brand)
    ).first()
    if found is None:
        raise QueueError("not_found", f"post {post_id!r} is not in the queue for {brand!r}")
    row = with_copies(session, [_row(*found)])[0]
    post = session.get(Post, post_id)
    reading = session.get(Reading, (post_id, brand))
    assert post is not None
    return ItemDetail(
        row=row,
        text=post.text,
        passage_start=reading.passage_start if reading else 0,
        passage_end=reading.passage_end if reading else 0,
        passage_source=reading.passage_source if reading else "head",
        scores=_scores(reading),
        relabel=_latest_label(session, post_id, brand),
        thread=thread_context(session, post),
        history=history(session, post_subject(post_id, brand)),
        copies=copies_of(session, post_id),
    )


def _scores(reading: Reading | None) -> dict[str, Any]:
    if reading is None:
        return {}
    return {
        "negative": reading.negative,
        "neutral": reading.neutral,
        "positive": reading.positive,
        "complaint": reading.complaint,
        "label": reading.label,
        "model": reading.model,
    }


def _latest_label(session: Session, post_id: str, brand: str) -> str | None:
    query = (
        select(Relabel)
        .where(Relabel.post_id == post_id, Relabel.brand == brand)
        .order_by(col(Relabel.at).desc(), col(Relabel.id).desc())
    )
    found = session.exec(query).first()
    return found.label if found else None


def thread_context(session: Session, post: Post) -> list[ThreadPost]:
    thread = _thread_of(post)
    query = (
        select(Post)
        .where(sa.or_(col(Post.id) == thread, col(Post.thread_id) == thread))
        .order_by(sa.func.coalesce(col(Post.published_at), col(Post.fetched_at)), col(Post.id))
        .limit(THREAD_CONTEXT)
    )
    posts = session.exec(query).all()
    if len(posts) <= 1:
        return []
    return [
        ThreadPost(p.id, p.author, p.title, p.published_at, _snippet(p.text), p.id == post.id)
        for p in posts
    ]


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET else text[: SNIPPET - 1] + "…"


def history(session: Session, subject: str) -> list[Event]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.subject == subject)
        .order_by(col(AuditEvent.at), col(AuditEvent.id))
    )
    return [Event(e.at, e.actor, e.action, e.detail) for e in session.exec(query)]


def facets(session: Session) -> dict[str, list[str]]:
    """Values for the filter menus (what the queue actually holds)."""

    def distinct(column: Any) -> list[str]:
        values = session.execute(sa.select(column).distinct().where(column.is_not(None))).scalars()
        return sorted(str(v) for v in values)

    sources = session.execute(
        sa.select(col(Source.name)).where(
            col(Source.id).in_(sa.select(col(QueueItem.source_id)).distinct())
        )
    ).scalars()
    return {
        "brands": distinct(col(QueueItem.brand)),
        "langs": distinct(col(QueueItem.lang)),
        "sources": sorted(sources),
        "assignees": distinct(col(QueueItem.assignee)),
        "statuses": ["open", "all", *QUEUE_STATUSES],
    }


# --- triage --------------------------------------------------------------------------------


def act(
    session: Session,
    post_id: str,
    brand: str,
    action: str,
    actor: str,
    now: datetime,
    *,
    assignee: str | None = None,
    note: str | None = None,
    label: str | None = None,
) -> QueueRow:
    """Apply one triage action; raises QueueError with a named kind when refused."""
    if action not in ACTIONS:
        raise QueueError("invalid_input", f"action must be one of {', '.join(ACTIONS)}")
    item = session.get(QueueItem, (post_id, brand))
    if item is None:
        raise QueueError("not_found", f"post {post_id!r} is not in the queue for {brand!r}")
    detail = _APPLY[action](session, item, now, actor, assignee, _clean_note(note), label)
    item.updated_at = now
    session.add(item)
    session.add(
        AuditEvent(
            subject=post_subject(post_id, brand), at=now, actor=actor, action=action, detail=detail
        )
    )
    session.flush()
    return get_item(session, post_id, brand).row


BULK_ACTIONS = ("ack", "assign", "resolve", "dismiss")
MAX_BULK = 200  # a queue page at its largest


@dataclass(frozen=True)
class BulkOutcome:
    """What one action on many posts did: how many changed, and the posts left as they
    were with the reason (a post already acknowledged cannot be acknowledged again)."""

    action: str
    changed: int
    left: dict[str, int] = field(default_factory=dict)  # refusal sentence -> posts

    @property
    def unchanged(self) -> int:
        return sum(self.left.values())


def act_many(
    session: Session,
    keys: Sequence[tuple[str, str]],
    action: str,
    actor: str,
    now: datetime,
    *,
    assignee: str | None = None,
) -> BulkOutcome:
    """One action on each (post_id, brand): each post that allows it changes, with its own
    audit event; one that does not is left as it was and counted under its reason. A
    refusal that would be the same for every post (nothing chosen, no assignee) refuses
    the whole request."""
    if action not in BULK_ACTIONS:
        raise QueueError("invalid_input", f"action must be one of {', '.join(BULK_ACTIONS)}")
    if not keys:
        raise QueueError("invalid_input", "select at least one post first")
    if len(keys) > MAX_BULK:
        raise QueueError("invalid_input", f"select at most {MAX_BULK} posts at a time")
    if action == "assign" and not (assignee or "").strip():
        raise QueueError("invalid_input", "assign needs an assignee: pick one from the list")
    changed, left = 0, Counter[str]()
    for post_id, brand in dict.fromkeys(keys):
        try:
            act(session, post_id, brand, action, actor, now, assignee=assignee)
        except QueueError as refused:
            left["not in the queue" if refused.kind == "not_found" else str(refused)] += 1
        else:
            changed += 1
    return BulkOutcome(action, changed, dict(left))


def _clean_note(note: str | None) -> str:
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise QueueError("invalid_input", f"a note is at most {MAX_NOTE} characters")
    return text


def _require(item: QueueItem, allowed: Sequence[str], action: str) -> None:
    if item.status not in allowed:
        raise QueueError("invalid_transition", f"cannot {action} a post that is {item.status}")


def _ack(session: Session, item: QueueItem, now: datetime, actor: str, *_: Any) -> str:
    _require(item, ("new",), "acknowledge")
    item.status, item.acknowledged_at = "acknowledged", now
    return ""


def _assign(
    session: Session, item: QueueItem, now: datetime, actor: str, assignee: str | None, *_: Any
) -> str:
    _require(item, OPEN_STATUSES, "assign")
    who = (assignee or "").strip()
    if not who or len(who) > 200:
        raise QueueError(
            "invalid_input", "assign needs an assignee (a name of at most 200 characters)"
        )
    item.assignee = who
    if item.status == "new":
        item.status, item.acknowledged_at = "acknowledged", now
    return who


def _respond(
    session: Session, item: QueueItem, now: datetime, actor: str, _a: Any, note: str, *_: Any
) -> str:
    _require(item, OPEN_STATUSES, "mark as answered")
    item.status = "responded"
    item.acknowledged_at = item.acknowledged_at or now
    item.first_response_at = item.first_response_at or now
    return note


def _close(status: str, verb: str) -> Any:
    def apply(
        session: Session, item: QueueItem, now: datetime, actor: str, _a: Any, note: str, *_: Any
    ) -> str:
        _require(item, OPEN_STATUSES, verb)
        item.status, item.closed_at = status, now
        return note

    return apply


def _reopen(
    session: Session, item: QueueItem, now: datetime, actor: str, _a: Any, note: str, *_: Any
) -> str:
    _require(item, ("resolved", "dismissed"), "reopen")
    item.status = "responded" if item.first_response_at else "acknowledged"
    item.closed_at = None
    return note


def _note(
    session: Session, item: QueueItem, now: datetime, actor: str, _a: Any, note: str, *_: Any
) -> str:
    if not note:
        raise QueueError("invalid_input", "a note needs some text")
    return note


def _relabel(
    session: Session,
    item: QueueItem,
    now: datetime,
    actor: str,
    _a: Any,
    note: str,
    label: str | None,
) -> str:
    if label not in LABELS:
        raise QueueError("invalid_input", f"label must be one of {', '.join(LABELS)}")
    session.add(Relabel(post_id=item.post_id, brand=item.brand, label=label, by=actor, at=now))
    if label == "not_complaint" and item.status in OPEN_STATUSES:
        item.status, item.closed_at = "dismissed", now  # the manager says it does not belong here
    return label


_APPLY: dict[str, Any] = {
    "ack": _ack,
    "assign": _assign,
    "respond": _respond,
    "resolve": _close("resolved", "resolve"),
    "dismiss": _close("dismissed", "dismiss"),
    "reopen": _reopen,
    "note": _note,
    "relabel": _relabel,
}


# --- exports -------------------------------------------------------------------------------

EXPORT_LIMIT = 100_000
QUEUE_COLUMNS = (
    "post_id", "brand", "status", "assignee", "complaint", "urgency", "source", "lang",
    "published_at", "flagged_at", "first_response_at", "incident_id", "url", "title",
)  # fmt: skip


def queue_csv(session: Session, flt: QueueFilter) -> str:
    dialect = session.get_bind().dialect.name
    query = (
        _filtered(_row_query(), flt, dialect)
        .order_by(col(QueueItem.rank).desc())
        .limit(EXPORT_LIMIT)
    )
    rows = (_row(*r).to_dict() for r in session.execute(query))
    return _csv(QUEUE_COLUMNS, ({k: r[k] for k in QUEUE_COLUMNS} for r in rows))


def response_times(
    session: Session, since: datetime | None = None, until: datetime | None = None
) -> list[ResponseTime]:
    """Time from flagging to first response, per post (responded or still waiting)."""
    query = select(QueueItem).order_by(col(QueueItem.flagged_at))
    if since:
        query = query.where(col(QueueItem.flagged_at) >= since)
    if until:
        query = query.where(col(QueueItem.flagged_at) < until)
    return [
        ResponseTime(i.post_id, i.brand, i.incident_id, i.flagged_at, i.first_response_at, i.status)
        for i in session.exec(query)
    ]


def response_times_csv(
    session: Session, since: datetime | None = None, until: datetime | None = None
) -> str:
    columns = (
        "post_id",
        "brand",
        "incident_id",
        "status",
        "flagged_at",
        "first_response_at",
        "seconds",
    )
    return _csv(columns, (r.to_dict() for r in response_times(session, since, until)))


def _csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in columns})
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    """Spreadsheet formula injection: a cell starting with = + - @ is prefixed with '."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value
