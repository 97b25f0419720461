"""The storage contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from alerts.store import UTCDateTime
from monitor.errors import StorageError
from monitor.settings import parse_settings
from monitor.storage import repo
from monitor.storage.db import read_scope, session_scope
from monitor.storage.search import include_object, matching_post_ids
from tests.support.fixtures.clock import T0
from tests.support.seeds.posts import record

SETTINGS = parse_settings(
    {
        "brands": [{"name": "Nordtel"}],
        "sources": [
            {"name": "blog", "kind": "feed", "url": "http://127.0.0.1:1/feed"},
            {"name": "forum", "kind": "discourse", "url": "http://127.0.0.1:1/forum"},
        ],
    }
)


def source_id(engine: Engine, name: str = "blog") -> int:
    with session_scope(engine) as session:
        rows = repo.sync_sources(session, SETTINGS, T0)
        sid = rows[name].id
        assert sid is not None
        return sid


def test_migrations_match_the_models(any_engine: Engine) -> None:
    with any_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_store_is_idempotent_and_keeps_edit_history(any_engine: Engine) -> None:
    sid = source_id(any_engine)
    with session_scope(any_engine) as s:
        first = repo.store_posts(s, sid, [record("a"), record("b")], T0)
    with session_scope(any_engine) as s:
        again = repo.store_posts(s, sid, [record("a"), record("b")], T0 + timedelta(hours=1))
    with session_scope(any_engine) as s:
        edited = repo.store_posts(s, sid, [record("a", text="Nordtel svarede!")], T0)
    assert (first.new, again.new, again.unchanged) == (["a", "b"], [], 2)
    assert edited.updated == ["a"]
    with session_scope(any_engine) as s:
        post = repo.get_post(s, "a")
        history = repo.post_edits(s, "a")
        assert repo.count_posts(s) == 2
    assert post is not None
    assert post.text == "Nordtel svarede!"
    assert post.edits == 1
    assert [h.old_text for h in history] == ["Nordtel svarer ikke"]
    assert post.published_at == T0
    assert post.published_at.tzinfo is not None


def test_duplicate_in_one_batch_is_stored_once(any_engine: Engine) -> None:
    sid = source_id(any_engine)
    with session_scope(any_engine) as s:
        result = repo.store_posts(s, sid, [record("a"), record("a", text="v2")], T0)
    assert result.new == ["a"]


def test_filters_by_brand_source_and_time(any_engine: Engine) -> None:
    blog, forum = source_id(any_engine), source_id(any_engine, "forum")
    with session_scope(any_engine) as s:
        repo.store_posts(s, blog, [record("old", published_at=T0 - timedelta(days=3))], T0)
        repo.store_posts(s, forum, [record("new", brands=("Other",))], T0)
    with session_scope(any_engine) as s:
        by_brand = [p.id for p in repo.list_posts(s, brand="Nordtel")]
        by_source = [p.id for p in repo.list_posts(s, source="forum")]
        recent = [p.id for p in repo.list_posts(s, since=T0 - timedelta(days=1))]
        inherited = repo.brands_of(s, ["old", "new", "missing"])
    assert (by_brand, by_source, recent) == (["old"], ["new"], ["new"])
    assert inherited == {"old": ["Nordtel"], "new": ["Other"]}


def test_sync_sources_adds_updates_and_disables(any_engine: Engine) -> None:
    source_id(any_engine)
    fewer = SETTINGS.model_copy(update={"sources": SETTINGS.sources[:1]})
    with session_scope(any_engine) as s:
        rows = repo.sync_sources(s, fewer, T0)
    assert rows["blog"].enabled
    assert not rows["forum"].enabled
    with session_scope(any_engine) as s:
        assert [x.name for x in repo.due_sources(s, T0)] == ["blog"]


def test_sync_sources_writes_only_what_the_config_changed(any_engine: Engine) -> None:
    source_id(any_engine)
    moved = SETTINGS.model_copy(
        update={"sources": [SETTINGS.sources[0].model_copy(update={"interval": 77.0})]}
    )
    written: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if not statement.lstrip().upper().startswith(("SELECT", "BEGIN", "SAVEPOINT")):
            written.append(statement.split()[0].upper())

    sa.event.listen(any_engine, "before_cursor_execute", record)
    try:
        with session_scope(any_engine) as s:
            repo.sync_sources(s, SETTINGS, T0)  # as stored: nothing to write
        assert written == []
        with session_scope(any_engine) as s:
            rows = repo.sync_sources(s, moved, T0)
        with session_scope(any_engine) as s:
            stored = repo.source_rows(s)
    finally:
        sa.event.remove(any_engine, "before_cursor_execute", record)
    assert written == ["UPDATE", "UPDATE"]  # the changed interval, the dropped source
    assert (rows["blog"].interval_s, rows["forum"].enabled) == (77.0, False)
    assert stored == rows


def test_fetch_state_keeps_validators_on_304(any_engine: Engine) -> None:
    sid = source_id(any_engine)
    url = "http://127.0.0.1:1/feed"
    with session_scope(any_engine) as s:
        repo.save_fetch_state(s, sid, url, status=200, etag='"v1"', last_modified="x", now=T0)
    with session_scope(any_engine) as s:
        repo.save_fetch_state(s, sid, url, status=304, etag=None, last_modified=None, now=T0)
    with session_scope(any_engine) as s:
        state = repo.fetch_state(s, sid, url)
    assert state is not None
    assert (state.etag, state.last_status) == ('"v1"', 304)


def test_bulk_fetch_states_insert_update_and_keep_validators_on_304(any_engine: Engine) -> None:
    sid = source_id(any_engine)
    feed, comments = "http://127.0.0.1:1/feed", "http://127.0.0.1:1/c"
    later = T0 + timedelta(minutes=5)
    with session_scope(any_engine) as s:
        repo.save_fetch_states(s, [repo.Answer(sid, feed, 200, '"v1"', "Mon")], T0)
    with session_scope(any_engine) as s:  # one known 304, one new URL, in one call
        answers = [
            repo.Answer(sid, feed, 304, None, None),
            repo.Answer(sid, comments, 200, '"c"', None),
        ]
        repo.save_fetch_states(s, answers, later)
    with session_scope(any_engine) as s:
        got = {v.url: (v.etag, v.last_modified) for v in repo.validators_of(s, [sid])}
        state = repo.fetch_state(s, sid, feed)
    assert got == {feed: ('"v1"', "Mon"), comments: ('"c"', None)}
    assert state is not None
    assert state.last_status == 304
    assert state.fetched_at == later
    twice = [
        repo.Answer(sid, comments, 200, '"c2"', None),
        repo.Answer(sid, comments, 200, '"c3"', None),
    ]
    with session_scope(any_engine) as s:  # one URL twice in a batch: one row, its last answer
        repo.save_fetch_states(s, twice, later)
        rows = [v for v in repo.validators_of(s, [sid]) if v.url == comments]
    assert [v.etag for v in rows] == ['"c3"']


def test_update_sources_applies_each_shape_and_adds_posts(any_engine: Engine) -> None:
    blog, forum = source_id(any_engine, "blog"), source_id(any_engine, "forum")
    due_blog, due_forum = T0 + timedelta(minutes=15), T0 + timedelta(minutes=14)
    changes = [  # a shared time (bound once) and per-row values, plus a failure's shape
        {"id": blog, "last_attempt_at": T0, repo.POSTS_ADDED: 3, "next_due_at": due_blog},
        {"id": forum, "last_attempt_at": T0, repo.POSTS_ADDED: 0, "next_due_at": due_forum},
    ]
    with session_scope(any_engine) as s:
        repo.update_sources(s, changes)
        repo.update_sources(s, [{"id": blog, repo.POSTS_ADDED: 2, "last_error": "HTTP 500"}])
    with session_scope(any_engine) as s:
        rows = {r.name: r for r in repo.list_sources(s)}
    assert (rows["blog"].posts_stored, rows["blog"].next_due_at) == (5, due_blog)
    assert (rows["forum"].posts_stored, rows["forum"].next_due_at) == (0, due_forum)
    assert rows["blog"].last_attempt_at == T0 == rows["forum"].last_attempt_at
    assert (rows["blog"].last_error, rows["forum"].last_error) == ("HTTP 500", None)


def test_update_sources_stores_a_shared_local_time_as_utc(any_engine: Engine) -> None:
    """One source in a pass: every value is shared and bound once; an aware local time (the
    demo's clock is Europe/Copenhagen) must still be stored as the same instant in UTC."""
    from zoneinfo import ZoneInfo

    blog = source_id(any_engine, "blog")
    local = T0.astimezone(ZoneInfo("Europe/Copenhagen"))
    with session_scope(any_engine) as s:
        repo.update_sources(s, [{"id": blog, "next_due_at": local, "last_attempt_at": local}])
    with session_scope(any_engine) as s:
        row = repo.source_by_name(s, "blog")
        assert row is not None
        assert row.next_due_at == T0 == row.last_attempt_at


def test_sqlite_concurrent_writers_wait_instead_of_failing(sqlite_engine: Engine) -> None:
    """BEGIN IMMEDIATE + busy_timeout: eight threads writing at once all succeed."""
    sid = source_id(sqlite_engine)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(10):
                with session_scope(sqlite_engine) as s:
                    repo.store_posts(s, sid, [record(f"t{n}-{i}")], T0)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with sqlite_engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from posts")).scalar() == 80
        assert conn.execute(sa.text("pragma journal_mode")).scalar() == "wal"


def test_same_post_from_another_source_enriches_without_an_edit(any_engine: Engine) -> None:
    blog, forum = source_id(any_engine), source_id(any_engine, "forum")
    with session_scope(any_engine) as s:
        repo.store_posts(s, blog, [record("a", text="Nordtel ...")], T0)
    fuller = record("a", text="Nordtel svarer ikke i telefonen.", brands=("Nordtel", "Other"))
    with session_scope(any_engine) as s:
        result = repo.store_posts(s, forum, [fuller], T0)
    with session_scope(any_engine) as s:
        post = repo.get_post(s, "a")
        brands = repo.brands_of(s, ["a"])["a"]
        history = repo.post_edits(s, "a")
    assert (result.updated, result.unchanged) == ([], 1)
    assert post is not None
    assert post.text == fuller.text
    assert post.edits == 0
    assert history == []
    assert sorted(brands) == ["Nordtel", "Other"]


def test_new_posts_go_in_as_one_statement_per_chunk_and_stay_searchable(
    any_engine: Engine,
) -> None:
    """A statement per post made SQLite's FTS5 flush and re-merge its index once per post
    (repo._insert_many): a chunk and one more post must take 2 INSERTs, and every one must
    be found by the search the queue uses."""
    sid = source_id(any_engine)
    n = repo.POST_INSERT_CHUNK + 1
    records = [record(f"p{i}", text=f"Nordtel svarer ikke, sag {i} fibernedbrud") for i in range(n)]
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO POSTS "):
            statements.append(statement)

    sa.event.listen(any_engine, "before_cursor_execute", count)
    try:
        with session_scope(any_engine) as s:
            result = repo.store_posts(s, sid, records, T0)
    finally:
        sa.event.remove(any_engine, "before_cursor_execute", count)
    assert len(result.new) == n
    assert len(statements) == 2
    query = matching_post_ids(any_engine.dialect.name, "fibernedbrud")
    assert query is not None
    with session_scope(any_engine) as s:
        found = set(s.execute(query).scalars())
    assert found == {r.id for r in records}


def test_read_scope_refuses_writes_and_leaves_the_connection_writable(any_engine: Engine) -> None:
    sid = source_id(any_engine)
    # the refusal comes at the write or at the flush, depending on the database
    with pytest.raises((sa.exc.DBAPIError, StorageError)), read_scope(any_engine) as s:  # noqa: PT012
        repo.store_posts(s, sid, [record("sneaky")], T0)
        s.flush()
    with session_scope(any_engine) as s:  # the pooled connection writes again afterwards
        assert repo.store_posts(s, sid, [record("fine")], T0).new == ["fine"]
    with read_scope(any_engine) as s:
        assert repo.get_post(s, "sneaky") is None
        assert repo.get_post(s, "fine") is not None


def test_several_sources_store_in_one_call_and_a_shared_post_is_enriched_once(
    any_engine: Engine,
) -> None:
    blog, forum = source_id(any_engine), source_id(any_engine, "forum")
    short = record("shared", text="Nordtel svarer ikke")
    full = record("shared", text="Nordtel svarer ikke, tre uger nu", brands=("Other",))
    with session_scope(any_engine) as s:
        first, second = repo.store_posts_many(
            s, [(blog, [record("a"), short]), (forum, [record("b"), full])], T0
        )
    assert (first.new, second.new) == (["a", "shared"], ["b"])
    assert (second.unchanged, second.updated) == (1, [])  # another source: enriched, no edit
    with session_scope(any_engine) as s:
        post = repo.get_post(s, "shared")
        assert post is not None
        assert post.text == full.text
        assert post.edits == 0
        assert post.source_id == blog
        assert sorted(repo.brands_of(s, ["shared"])["shared"]) == ["Nordtel", "Other"]
        assert repo.count_posts(s) == 3


def test_nul_in_any_field_is_dropped_not_a_failed_batch(any_engine: Engine) -> None:
    """PostgreSQL refuses NUL in text; a hostile author or title must not fail the batch."""
    sid = source_id(any_engine)
    hostile = record("nul", text="Nordtel\x00 svarer ikke", title="Ti\x00tel", author="M\x00e")
    with session_scope(any_engine) as s:
        assert repo.store_posts(s, sid, [hostile, record("ok")], T0).new == ["nul", "ok"]
    with session_scope(any_engine) as s:
        post = repo.get_post(s, "nul")
    assert post is not None
    assert (post.text, post.title, post.author) == ("Nordtel svarer ikke", "Titel", "Me")


def test_a_time_without_a_utc_form_is_a_value_error_naming_it() -> None:
    early = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))
    with pytest.raises(ValueError, match="0001-01-01T00:00:00\\+14:00 is outside"):
        UTCDateTime().process_bind_param(early, None)
