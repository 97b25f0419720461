"""Queries and writes, in one place, for every caller (crawler, CLI, later the web UI).

Functions take a Session and plain values; none of them commits (the caller's
``session_scope`` is the transaction). Time is always passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from monitor.parse.text import copy_key
from monitor.settings import Settings
from monitor.storage.models import (
    FetchState,
    HostState,
    Post,
    PostBrand,
    PostEdit,
    Reading,
    Relabel,
    Source,
)
from monitor.storage.records import PostRecord as PostRecord  # callers use repo.PostRecord

# Rows per multi-row INSERT of posts: 17 columns x 1,900 = 32,300 bound parameters, under
# SQLite's 32,766 (and PostgreSQL's 65,535). As many as fit, because on SQLite each
# statement flushes the search index's pending terms into a new segment (see
# _insert_many): fewer, larger statements store a crawl batch for less, and the gap grows
# with the index (benchmarks/RESULTS.md, "Storing posts").
POST_INSERT_CHUNK = 1900
# With RETURNING, SQLAlchemy sends an executemany as "insertmanyvalues": multi-row INSERTs
# of POST_INSERT_CHUNK rows from one cached compilation, with the column types' own
# conversions (a .values(list) statement was compiled afresh every time: most of the
# crawl's storage cost). The table's, not the ORM entity's: an ORM bulk insert sorts
# every row's keys against the mapper first, a noticeable share of the writer's time.
# (SQLAlchemy sets __table__ at class creation; SQLModel does not declare it: hence the ignores.)
_POSTS: sa.Table = Post.__table__  # type: ignore[attr-defined]
INSERT_POSTS: sa.sql.dml.ReturningInsert[Any] = (
    sa.insert(_POSTS)
    .returning(_POSTS.c.id)
    .execution_options(insertmanyvalues_page_size=POST_INSERT_CHUNK)
)
_INSERT_BRANDS = sa.insert(PostBrand.__table__)  # type: ignore[attr-defined]

_T = TypeVar("_T")

# The tables under the models, for the bulk statements of a crawl pass (no ORM objects).
_SOURCES: sa.Table = Source.__table__  # type: ignore[attr-defined]
_FETCH_STATE: sa.Table = FetchState.__table__  # type: ignore[attr-defined]


@dataclass
class StoreResult:
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0


# --- sources -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceRow:
    """A source as a crawl pass plans with it: a plain row, not an ORM object (a pass
    over 10,000 sources reads them all, and building ORM objects cost more than the
    query)."""

    id: int
    name: str
    kind: str
    url: str
    brand: str | None
    lang: str | None
    interval_s: float
    enabled: bool
    consecutive_failures: int
    cursor: str | None = None


_ROW_COLUMNS = [_SOURCES.c[name] for name in SourceRow.__dataclass_fields__]


def source_rows(session: Session, names: Sequence[str] | None = None) -> dict[str, SourceRow]:
    """Sources by name as plain rows: every one, or those of ``names`` that exist."""
    query = sa.select(*_ROW_COLUMNS)
    if names is None:
        return {row.name: SourceRow(*row) for row in session.execute(query)}
    found: dict[str, SourceRow] = {}
    for chunk in _chunks(list(names)):
        rows = session.execute(query.where(_SOURCES.c.name.in_(chunk)))
        found |= {row.name: SourceRow(*row) for row in rows}
    return found


def sync_sources(session: Session, settings: Settings, now: datetime) -> dict[str, SourceRow]:
    """Make the sources table match the config: new ones are due now; removed ones are
    disabled (kept, so their posts keep a source); changed URL/kind/interval applied.
    Returns every source by name, as it now stands."""
    stored = source_rows(session)
    default = settings.crawl.default_interval
    changes: list[dict[str, Any]] = []
    new: list[dict[str, Any]] = []
    for conf in settings.sources:
        wanted: dict[str, Any] = {
            "kind": conf.kind,
            "url": conf.url,
            "brand": conf.brand,
            "lang": conf.lang,
            "interval_s": conf.interval or default,
            "enabled": conf.enabled,
        }
        row = stored.get(conf.name)
        if row is None:
            new.append({"name": conf.name, **wanted, "next_due_at": now})
            continue
        changed = {k: v for k, v in wanted.items() if getattr(row, k) != v}
        if "kind" in changed or "url" in changed:
            changed["cursor"] = None  # another place: the old marks mean nothing there
        if changed:  # only what changed: a pass syncs every source
            changes.append({"id": row.id, **changed})
            stored[conf.name] = replace(row, **changed)
    configured = {s.name for s in settings.sources}
    for name, row in stored.items():
        if name not in configured and row.enabled:
            changes.append({"id": row.id, "enabled": False})
            stored[name] = replace(row, enabled=False)
    update_sources(session, changes)
    if new:
        session.execute(sa.insert(_SOURCES), new)
        stored |= source_rows(session, [n["name"] for n in new])
    return stored


def due_sources(session: Session, now: datetime) -> list[SourceRow]:
    """Enabled sources whose next due time has come, the longest overdue first."""
    due = _SOURCES.c.next_due_at
    query = (
        sa.select(*_ROW_COLUMNS)
        .where(_SOURCES.c.enabled.is_(True))
        .where(sa.or_(due.is_(None), due <= now))
        .order_by(due)
    )
    return [SourceRow(*row) for row in session.execute(query)]


def list_sources(session: Session) -> list[Source]:
    return list(session.exec(select(Source).order_by(col(Source.name))).all())


def source_by_name(session: Session, name: str) -> Source | None:
    return session.exec(select(Source).where(Source.name == name)).first()


# --- fetch and host state ----------------------------------------------------------------


def fetch_state(session: Session, source_id: int, url: str) -> FetchState | None:
    query = select(FetchState).where(FetchState.source_id == source_id, FetchState.url == url)
    return session.exec(query).first()


@dataclass(frozen=True)
class Validators:
    """What the previous answer for one URL of a source said (for a conditional GET), and
    its fetch_state row."""

    id: int
    source_id: int
    url: str
    etag: str | None
    last_modified: str | None


def validators_of(session: Session, source_ids: Sequence[int]) -> list[Validators]:
    """Every URL these sources fetched before, with its validators if any (plain rows, no
    ORM objects: a pass over 10,000 sources reads them all)."""
    table = _FETCH_STATE
    query = sa.select(
        table.c.id, table.c.source_id, table.c.url, table.c.etag, table.c.last_modified
    )
    found: list[Validators] = []
    for chunk in _chunks(source_ids):
        found += [
            Validators(*row) for row in session.execute(query.where(table.c.source_id.in_(chunk)))
        ]
    return found


@dataclass(frozen=True)
class Answer:
    """One URL's answer, to be remembered in fetch_state. ``state_id``: its fetch_state
    row when the caller knows it (a crawl pass read them all in its plan), saving a query."""

    source_id: int
    url: str
    status: int
    etag: str | None
    last_modified: str | None
    state_id: int | None = None


def save_fetch_states(session: Session, answers: Sequence[Answer], now: datetime) -> None:
    """Record many URLs' answers in a few statements: an UPDATE per shape for the URLs we
    know (a 304 keeps the validators we sent, so it only touches status and time), one
    INSERT for the new ones."""
    table = _FETCH_STATE
    latest = {(a.source_id, a.url): a for a in answers}  # one URL twice: its last answer
    unknown = sorted({a.source_id for a in latest.values() if a.state_id is None})
    known = {(v.source_id, v.url): v.id for v in validators_of(session, unknown)}
    same: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    new: list[dict[str, Any]] = []
    for key, a in latest.items():
        row_id = a.state_id or known.get(key)
        if row_id is None:
            new.append(
                {
                    "source_id": a.source_id,
                    "url": a.url,
                    "etag": a.etag,
                    "last_modified": a.last_modified,
                    "last_status": a.status,
                    "fetched_at": now,
                }
            )
        elif a.status == 304:
            same.append({"v_id": row_id, "v_status": a.status})
        else:
            changed.append(
                {"v_id": row_id, "v_status": a.status, "v_etag": a.etag, "v_lm": a.last_modified}
            )
    if same:  # the pass's time is bound once, not per row
        executemany(session, _update_status(now), same)
    if changed:
        validators: dict[str, Any] = {
            "etag": sa.bindparam("v_etag"),
            "last_modified": sa.bindparam("v_lm"),
        }
        executemany(session, _update_status(now).values(validators), changed)
    if new:
        session.execute(sa.insert(table), new)


def _update_status(now: datetime) -> sa.Update:
    table = _FETCH_STATE
    return (
        sa.update(table)
        .where(table.c.id == sa.bindparam("v_id"))
        .values(last_status=sa.bindparam("v_status"), fetched_at=sa.bindparam("c_at", now))
    )


def save_fetch_state(
    session: Session,
    source_id: int,
    url: str,
    *,
    status: int,
    etag: str | None,
    last_modified: str | None,
    now: datetime,
) -> None:
    """Record one URL's answer (``save_fetch_states`` for one)."""
    save_fetch_states(session, [Answer(source_id, url, status, etag, last_modified)], now)


POSTS_ADDED = "posts_added"  # a health change's key: add this many to posts_stored


def update_sources(session: Session, changes: Sequence[dict[str, Any]]) -> None:
    """Apply column changes to many sources, one executemany per shape of change. Each
    change names ``id``, the columns to set, and optionally ``POSTS_ADDED``."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in changes:
        shapes.setdefault(tuple(sorted(change)), []).append(change)
    for keys, rows in shapes.items():
        first = rows[0]
        # a value every row shares (the pass's time, mostly) is bound once, not per row
        common = {k: first[k] for k in keys if k != "id" and all(r[k] == first[k] for r in rows)}
        varying = [k for k in keys if k not in common]
        params = [{f"v_{k}": row[k] for k in varying} for row in rows]
        executemany(session, _source_update(varying, common), params)


def _source_update(varying: Sequence[str], common: dict[str, Any]) -> sa.Update:
    table = _SOURCES
    values: dict[str, Any] = {
        # the column's type on a shared value too: UTCDateTime turns an aware local time
        # into UTC (bound with the value's own type it was stored an hour off in the demo)
        k: sa.bindparam(f"v_{k}")
        if k in varying
        else sa.bindparam(f"c_{k}", common[k], type_=table.c[k].type)
        for k in [*varying, *common]
        if k not in ("id", POSTS_ADDED)
    }
    if POSTS_ADDED in varying:
        values["posts_stored"] = table.c.posts_stored + sa.bindparam(f"v_{POSTS_ADDED}")
    elif POSTS_ADDED in common:
        values["posts_stored"] = table.c.posts_stored + common[POSTS_ADDED]
    return sa.update(table).where(table.c.id == sa.bindparam("v_id")).values(values)


def executemany(session: Session, statement: sa.Update, rows: Sequence[dict[str, Any]]) -> None:
    """Run ``statement`` once per parameter set in ``rows`` as one DBAPI executemany,
    converting each value by its column's type here, once per value.

    Why not ``session.execute(statement, rows)``: SQLAlchemy then builds a dict of every
    bound parameter per row and runs every type conversion again, the pass's time
    included; for a pass of 10,000 304s that was most of the cost of recording it, in the
    thread that competes with the fetching loop for the interpreter (benchmarks/crawl.py).
    Values ``rows`` do not name come from the statement's own bound values, converted
    once. The SQL is SQLAlchemy's, compiled for the connection's dialect."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect)
    names = compiled.positiontup or list(compiled.binds)
    convert: dict[str, Callable[[Any], Any]] = {}
    fixed: dict[str, Any] = {}
    for name in names:
        bind = compiled.binds[name]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if name in rows[0]:
            convert[name] = process or _same
        else:
            fixed[name] = process(bind.effective_value) if process else bind.effective_value
    params: list[Any] = [{**fixed, **{n: f(row[n]) for n, f in convert.items()}} for row in rows]
    if compiled.positiontup is not None:  # qmark (SQLite): tuples in the statement's order
        params = [tuple(p[n] for n in names) for p in params]
    connection.exec_driver_sql(str(compiled), params)


def _same(value: Any) -> Any:
    return value


def _chunks(ids: Sequence[_T], size: int = 500) -> Iterable[Sequence[_T]]:
    """IN lists of at most ``size`` values (SQLite's bound-parameter limit is far above)."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def host_state(session: Session, host: str) -> HostState | None:
    return session.get(HostState, host)


def host_backoffs(session: Session, now: datetime) -> dict[str, datetime]:
    """Hosts that asked us to wait (429/503) and whose wait is not over."""
    query = select(HostState).where(col(HostState.backoff_until) > now)
    return {h.host: h.backoff_until for h in session.exec(query) if h.backoff_until}


def record_host_result(
    session: Session,
    host: str,
    *,
    backoff_until: datetime | None,
    status: int | None,
    reason: str | None,
) -> None:
    row = session.get(HostState, host) or HostState(host=host)
    row.backoff_until = backoff_until
    row.last_status = status
    row.last_reason = reason
    row.consecutive_failures = row.consecutive_failures + 1 if backoff_until else 0
    session.add(row)


# --- posts -------------------------------------------------------------------------------


def store_posts(
    session: Session, source_id: int, records: Sequence[PostRecord], now: datetime
) -> StoreResult:
    """Insert new posts, update edited ones in place (keeping the old text in post_edits),
    leave unchanged ones alone. Idempotent: the same records twice store nothing new."""
    return store_posts_many(session, [(source_id, records)], now)[0]


def store_posts_many(
    session: Session, batches: Sequence[tuple[int, Sequence[PostRecord]]], now: datetime
) -> list[StoreResult]:
    """``store_posts`` for several sources' records at once, one result per batch, in the
    same order: one lookup and one multi-row INSERT per ``POST_INSERT_CHUNK`` new posts for
    all of them (the crawl writes a pass's sources together; _insert_many says why fewer,
    larger statements matter). A post new in an earlier batch and seen again in a later
    one (the same page through two sources) is handled as if the first were stored
    already: the later source enriches it."""
    unique = [(source_id, _unique(records)) for source_id, records in batches]
    existing = _existing(session, [r.id for _, records in unique for r in records])
    results = [StoreResult() for _ in unique]
    fresh: list[tuple[int, PostRecord]] = []
    again: list[tuple[StoreResult, int, PostRecord]] = []
    claimed: set[str] = set()
    for result, (source_id, records) in zip(results, unique, strict=True):
        for record in records:
            row = existing.get(record.id)
            if row is not None:
                _store_seen(session, result, row, source_id, record, now)
            elif record.id in claimed:
                again.append((result, source_id, record))
            else:
                claimed.add(record.id)
                fresh.append((source_id, record))
                result.new.append(record.id)
    _insert_many(session, fresh, now)
    if again:
        inserted = _existing(session, [record.id for _, _, record in again])
        for result, source_id, record in again:
            _store_seen(session, result, inserted[record.id], source_id, record, now)
    return results


def _store_seen(
    session: Session,
    result: StoreResult,
    row: Post,
    source_id: int,
    record: PostRecord,
    now: datetime,
) -> None:
    """A record whose post is stored already: unchanged, edited, or enriching."""
    if row.content_hash == record.content_hash:
        result.unchanged += 1
    elif row.source_id == source_id:
        _update(session, row, record, now)
        result.updated.append(record.id)
    else:
        _enrich(session, row, record)
        result.unchanged += 1


def _enrich(session: Session, row: Post, record: PostRecord) -> None:
    """The same post seen through another source (an alert's snippet, then the page
    itself) is not an edit: keep the fuller text and the union of brands, no history."""
    if len(record.text) > len(row.text):
        row.text, row.content_hash = record.text, record.content_hash
        row.text_key = copy_key(record.text)
        row.title = record.title or row.title
        row.lang = record.lang or row.lang
    have = set(brands_of(session, [row.id]).get(row.id, []))
    session.add_all(PostBrand(post_id=row.id, brand=b) for b in record.brands if b not in have)


def _unique(records: Sequence[PostRecord]) -> list[PostRecord]:
    """The same post twice in one batch (a feed repeating an item): the last one wins."""
    return list({r.id: r for r in records}.values())


def _existing(session: Session, ids: list[str]) -> dict[str, Post]:
    found: dict[str, Post] = {}
    for chunk in _chunks(ids):
        found.update({p.id: p for p in session.exec(select(Post).where(col(Post.id).in_(chunk)))})
    return found


def _insert_many(
    session: Session, records: Sequence[tuple[int, PostRecord]], now: datetime
) -> None:
    """Core bulk inserts (the crawl's hot path): posts first, then their brand rows.

    Posts go in as multi-row ``INSERT ... VALUES`` statements, not an executemany: on
    SQLite every statement that fires the search trigger opens a savepoint, and FTS5
    flushes its pending terms to a new segment at each one, so a row-per-statement insert
    re-merged the search index for every post, at a cost growing with the index
    (benchmarks/queue_bench.py; figures in benchmarks/RESULTS.md, "Storing posts")."""
    if not records:
        return
    values = [_post_values(source_id, r, now) for source_id, r in records]
    _link_copies(session, values)
    session.execute(INSERT_POSTS, values)
    brand_rows = [{"post_id": r.id, "brand": b} for _, r in records for b in r.brands]
    if brand_rows:
        session.execute(_INSERT_BRANDS, brand_rows)


def _link_copies(session: Session, values: list[dict[str, object]]) -> None:
    """A new post whose text an earlier post already carried (a syndicated copy, a repost:
    another guid and link, the same words up to case and spacing) is stored as a copy of the
    first one; URL identity stays, so an edit is still an edit of its own post."""
    keys = {str(v["text_key"]) for v in values if v["text_key"] is not None}
    if not keys:
        return
    first = _first_with_keys(session, sorted(keys))
    for row in values:
        key = row["text_key"]
        if key is None:
            continue
        original = first.setdefault(str(key), str(row["id"]))
        if original != row["id"]:
            row["copy_of"] = original


def _first_with_keys(session: Session, keys: list[str]) -> dict[str, str]:
    """The first stored post (the original, never a copy) carrying each text key."""
    found: dict[str, str] = {}
    for chunk in _chunks(keys):
        query = (
            sa.select(_POSTS.c.text_key, _POSTS.c.id)
            .where(_POSTS.c.text_key.in_(chunk), _POSTS.c.copy_of.is_(None))
            .order_by(_POSTS.c.fetched_at.desc(), _POSTS.c.id.desc())
        )
        found.update({key: pid for key, pid in session.execute(query)})  # earliest wins
    return found


def _post_values(source_id: int, r: PostRecord, now: datetime) -> dict[str, object]:
    values = vars(r).copy()
    del values["brands"]
    # NUL is never text, and PostgreSQL refuses it in any string: one hostile author or
    # title would otherwise fail the whole batch (found by tests/fuzz_atheris.py)
    for key, value in values.items():
        if isinstance(value, str) and "\x00" in value:
            values[key] = value.replace("\x00", "")
    values.update(source_id=source_id, fetched_at=now, edits=0)
    values.update(text_key=copy_key(r.text), copy_of=None)
    return values


def _update(session: Session, row: Post, r: PostRecord, now: datetime) -> None:
    session.add(
        PostEdit(
            post_id=row.id,
            changed_at=now,
            old_title=row.title,
            old_text=row.text,
            old_hash=row.content_hash,
        )
    )
    row.title, row.text, row.content_hash = r.title, r.text, r.content_hash
    key = copy_key(r.text)
    if key != row.text_key:  # rewritten: no longer the copy it was
        row.text_key, row.copy_of = key, None
    row.lang, row.updated_at, row.edits = r.lang, now, row.edits + 1
    row.author = r.author or row.author
    row.rating = r.rating if r.rating is not None else row.rating
    session.add(row)
    _set_brands(session, row.id, r.brands)
    row.brand_reason = r.brand_reason


def _set_brands(session: Session, post_id: str, brands: Iterable[str]) -> None:
    session.execute(sa.delete(PostBrand).where(col(PostBrand.post_id) == post_id))
    session.add_all(PostBrand(post_id=post_id, brand=b) for b in brands)


def brands_of(session: Session, post_ids: Iterable[str]) -> dict[str, list[str]]:
    """Brands of stored posts by id (missing posts are absent). The crawler uses it for
    thread roots, so a comment that names no brand inherits its article's."""
    ids = sorted(set(post_ids))
    if not ids:
        return {}
    rows = session.exec(select(PostBrand).where(col(PostBrand.post_id).in_(ids))).all()
    out: dict[str, list[str]] = {}
    for row in rows:
        out.setdefault(row.post_id, []).append(row.brand)
    return out


def list_posts(
    session: Session,
    *,
    brand: str | None = None,
    since: datetime | None = None,
    source: str | None = None,
    limit: int = 100,
) -> list[Post]:
    query = select(Post)
    if brand:
        query = query.join(PostBrand, col(PostBrand.post_id) == col(Post.id)).where(
            PostBrand.brand == brand
        )
    if since:
        query = query.where(sa.func.coalesce(Post.published_at, Post.fetched_at) >= since)
    if source:
        query = query.join(Source, col(Source.id) == col(Post.source_id)).where(
            Source.name == source
        )
    order = sa.func.coalesce(Post.published_at, Post.fetched_at)
    return list(session.exec(query.order_by(order.desc(), col(Post.id)).limit(limit)).all())


def get_post(session: Session, post_id: str) -> Post | None:
    return session.get(Post, post_id)


def post_edits(session: Session, post_id: str) -> list[PostEdit]:
    query = select(PostEdit).where(PostEdit.post_id == post_id).order_by(col(PostEdit.id))
    return list(session.exec(query).all())


def count_posts(session: Session) -> int:
    return int(session.exec(select(sa.func.count()).select_from(Post)).one())


def post_by_prefix(session: Session, prefix: str) -> Post | None:
    """A unique id prefix (as printed by ``posts list``); None if none or ambiguous."""
    if len(prefix) < 4:
        return None
    rows = session.exec(select(Post).where(col(Post.id).startswith(prefix)).limit(2)).all()
    return rows[0] if len(rows) == 1 else None


# --- readings (the classify stage) -----------------------------------------------------


def pending_readings(
    session: Session, model: str, limit: int, *, first: Sequence[str] = ()
) -> list[tuple[Post, str]]:
    """(post, brand) pairs with no reading, or one made for other text or another model:
    the brands in ``first`` first, then newest (published, else fetched) first."""
    published = sa.func.coalesce(col(Post.published_at), col(Post.fetched_at))
    later = sa.case((col(PostBrand.brand).in_(list(first)), 0), else_=1) if first else sa.literal(1)
    query = (
        select(Post, PostBrand.brand)
        .join(PostBrand, col(PostBrand.post_id) == col(Post.id))
        .outerjoin(
            Reading,
            sa.and_(
                col(Reading.post_id) == col(Post.id), col(Reading.brand) == col(PostBrand.brand)
            ),
        )
        .where(
            sa.or_(
                col(Reading.post_id).is_(None),
                col(Reading.content_hash) != col(Post.content_hash),
                col(Reading.model) != model,
            )
        )
        .order_by(later, published.desc(), col(Post.id))
        .limit(limit)
    )
    return [(post, brand) for post, brand in session.exec(query).all()]


def save_reading(session: Session, reading: Reading) -> None:
    session.merge(reading)


def readings_of(session: Session, post_ids: Iterable[str]) -> dict[tuple[str, str], Reading]:
    ids = sorted(set(post_ids))
    rows = session.exec(select(Reading).where(col(Reading.post_id).in_(ids))).all() if ids else []
    return {(r.post_id, r.brand): r for r in rows}


def latest_relabels(session: Session) -> list[Relabel]:
    """The newest correction per (post, brand)."""
    rows = session.exec(select(Relabel).order_by(col(Relabel.at), col(Relabel.id))).all()
    return list({(r.post_id, r.brand): r for r in rows}.values())
