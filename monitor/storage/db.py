"""Engines and migrations for SQLite (the embedded default) and PostgreSQL (psycopg 3).

SQLite decisions (docs/ARCHITECTURE.md, "SQLite"): WAL so readers never block the writer;
``busy_timeout`` so a second writer waits instead of failing; and every write transaction
opened with ``BEGIN IMMEDIATE`` — a deferred transaction that later upgrades to a write lock
gets "database is locked" at once despite the timeout, which is the classic SQLite pitfall.
Read-only work (pages, API reads, metrics) uses ``read_scope``: a deferred BEGIN that never
waits for a writer under WAL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session

from monitor.errors import StorageError
from monitor.settings import DatabaseSettings, mask_url


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (SQLAlchemy's default driver is psycopg2)."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(db: DatabaseSettings) -> Engine:
    url = normalise_url(db.url.reveal())
    try:
        if url.startswith("sqlite"):
            return _sqlite_engine(url, db)
        return _postgresql_engine(url, db)
    except (SQLAlchemyError, ValueError) as exc:
        raise StorageError(f"cannot open database {mask_url(url)}: {exc}") from None


def _sqlite_engine(url: str, db: DatabaseSettings) -> Engine:
    engine = sa.create_engine(
        url, echo=db.echo, connect_args={"check_same_thread": False, "timeout": 30}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(db.busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the lock up front (else "database is locked" despite busy_timeout);
        # readers (read_scope) begin deferred and, under WAL, never wait for a writer.
        # query_only makes a read_scope refuse writes outright (a write there is a bug: it
        # would run without the write lock); set on every BEGIN as pooled connections are
        # shared by readers and writers; only when it changes (remembered per connection).
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        info = conn.connection.info
        if info.get("query_only") is not read_only:
            conn.exec_driver_sql(f"PRAGMA query_only={'ON' if read_only else 'OFF'}")
            info["query_only"] = read_only
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def _postgresql_engine(url: str, db: DatabaseSettings) -> Engine:
    engine = sa.create_engine(url, echo=db.echo, pool_pre_ping=True, future=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY, False):  # read_scope refuses writes
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")

    return engine


@contextlib.contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One write transaction: commit on success, roll back on error, translate errors."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except OperationalError as exc:
            session.rollback()
            raise StorageError(f"database unavailable: {_first_line(exc)}") from exc
        except Exception:
            session.rollback()
            raise


READ_ONLY = "stormwatch_read_only"


@contextlib.contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A read-only transaction: on SQLite it does not take the write lock, so pages, the
    API and metrics answer while the daemon writes. The database refuses any write in it
    (SQLite ``query_only``, PostgreSQL ``READ ONLY``). Errors are translated as in
    session_scope; nothing is committed."""
    with Session(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False) as session:
        try:
            yield session
        except OperationalError as exc:
            raise StorageError(f"database unavailable: {_first_line(exc)}") from exc
        finally:
            session.rollback()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", exc)) or type(exc).__name__
    return text.strip().splitlines()[0]


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("monitor") / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations (``stormwatch db upgrade``); safe to run on every start."""
    from alembic import command

    try:
        command.upgrade(alembic_config(engine), revision)
    except OperationalError as exc:
        raise StorageError(f"cannot migrate database: {_first_line(exc)}") from exc
    analyze(engine)


def analyze(engine: Engine) -> None:
    """Refresh the query planner's statistics. Without them SQLite guesses that
    ``status = 'new'`` matches a handful of rows and walks the whole queue for one page of
    a search (benchmarks/RESULTS.md, "Planner statistics"). Run at upgrade and daily by the
    daemon: the first start sees an empty database, so statistics taken then are soon
    wrong."""
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    except OperationalError as exc:
        raise StorageError(f"cannot analyze database: {_first_line(exc)}") from exc


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def backup_sqlite(db: DatabaseSettings, target: Path) -> int:
    """An online, consistent copy of a SQLite database (sqlite3 backup API) to ``target``.
    Returns the number of pages copied. Refuses to overwrite and refuses PostgreSQL."""
    import sqlite3

    url = db.url.reveal()
    if not url.startswith("sqlite:///"):
        raise StorageError("db backup copies SQLite databases; for PostgreSQL use pg_dump")
    source = Path(url.removeprefix("sqlite:///"))
    if not source.is_file():
        raise StorageError(f"no database file at {source}")
    if target.exists():
        raise StorageError(f"{target} exists; choose a new file name")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst, pages=1024)
        pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.Error as exc:
        raise StorageError(f"backup failed: {exc}") from None
    finally:
        dst.close()
        src.close()
    if check != "ok":
        raise StorageError(f"the copy failed its integrity check: {check}")
    return pages
