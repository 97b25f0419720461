"""Shared fixtures: databases (SQLite always; PostgreSQL when reachable), a fixed clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.settings import DatabaseSettings
from monitor.storage.db import make_engine, upgrade

PG_URL = os.environ.get("STORMWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _pg_reason() -> str | None:
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:
        return f"no PostgreSQL reachable at {PG_URL}: {str(exc).splitlines()[0][:120]}"
    return None


_PG_SKIP = _pg_reason()


def _pg_engine() -> Iterator[Engine]:
    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine = sa.create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_engine(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Engine]:
    """A migrated, empty database — the same tests run on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path}/t.db"))
        upgrade(engine)
        yield engine
        engine.dispose()
    else:
        for engine in _pg_engine():
            upgrade(engine)
            yield engine


@pytest.fixture
def sqlite_engine(tmp_path: object) -> Iterator[Engine]:
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path}/t.db"))
    upgrade(engine)
    yield engine
    engine.dispose()
