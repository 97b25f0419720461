"""Shared fixtures: databases (SQLite always; PostgreSQL when reachable), a fixed clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

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
    # through make_engine, so the tests run the app's own PostgreSQL engine set-up
    engine = make_engine(DatabaseSettings(url=f"{PG_URL}?options=-csearch_path%3D{schema}"))
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


# --- the hardening summary printed at the end of every run (issue: faults, hostile input,
# intruders). Each row counts the tests of that kind and how many passed; the invariants
# (posts lost 0, duplicate pages 0, crashes 0, hangs 0) are what those tests assert.

HARDENING = {
    "faults injected (kill -9, SIGTERM, locked/full/missing disk and model, dead receivers, "
    "PostgreSQL stopped)": (
        "test_faults.py", "test_paging_restart.py", "test_scheduler.py", "test_cluster_kill.py",
        "test_alerts_outbox.py", "test_daemon_run.py", "test_faults_postgres.py",
    ),
    "hostile inputs (hostile routes, fuzzed parsers, SSRF, arbitrary bytes)": (
        "test_crawl_hostile.py", "test_fuzz.py", "test_urlgate.py", "test_sources.py",
        "test_fetch.py", "test_fuzz_atheris.py",
    ),
    "intrusion checks (auth on every route, CSRF, sessions, brute force, XSS in a browser)": (
        "test_web_security.py", "test_accounts.py", "test_web_browser.py", "test_web_api.py",
    ),
}  # fmt: skip


def pytest_terminal_summary(terminalreporter: Any) -> None:
    import resource

    counts = _hardening_counts(terminalreporter.stats)
    if not any(sum(row) for row in counts.values()):
        return
    write = terminalreporter.write_line
    write("")
    write("hardening summary (tests run / passed / skipped)")
    for name, (total, passed, skipped) in counts.items():
        write(f"  {name}: {total} / {passed} / {skipped}")
    failed = sum(total - passed for total, passed, _ in counts.values())
    write(
        f"  posts lost, duplicate pages, crashes, hangs: {'0' if failed == 0 else 'SEE FAILURES'}"
    )
    skipped = sum(row[2] for row in counts.values())
    if skipped:
        write(f"  skipped: {skipped} hardening tests did not run (why: the short test summary)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    write(f"  peak memory: test process {peak:.0f} MB, largest child process {children:.0f} MB")


def _hardening_counts(stats: dict[str, list[Any]]) -> dict[str, list[int]]:
    """Per row of HARDENING: [run, passed, skipped]. A skip is reported at setup, so it is
    counted whatever phase it came from; a run is a test's call phase (or its error)."""
    counts: dict[str, list[int]] = {name: [0, 0, 0] for name in HARDENING}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in stats.get(outcome, []):
            if outcome in ("passed", "failed") and getattr(report, "when", "call") != "call":
                continue
            module = str(getattr(report, "nodeid", "")).split("::")[0].rsplit("/", 1)[-1]
            for name, modules in HARDENING.items():
                if module not in modules:
                    continue
                if outcome == "skipped":
                    counts[name][2] += 1
                else:
                    counts[name][0] += 1
                    counts[name][1] += outcome == "passed"
    return counts
