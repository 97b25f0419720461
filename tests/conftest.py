"""Shared fixtures: databases (SQLite always; PostgreSQL when reachable). The helpers they
build on, like every helper test modules share, live in tests/support."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.settings import DatabaseSettings
from monitor.stages.read import Matchers, make_matchers, read_config
from monitor.storage.db import make_engine, upgrade
from tests.support.fixtures.databases import PG_SKIP, PG_URL, pg_schema_engine
from tests.support.servers.fakeplatform import make_settings


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """A command run in-process (``stormwatch run``, ``web``) configures logging for the whole
    process; put it back, so a later test's captured stdout holds only what its command
    printed."""
    own, root = logging.getLogger("stormwatch"), logging.getLogger()
    saved = (own.handlers[:], own.level, own.propagate, root.handlers[:], root.level)
    yield
    own.handlers[:], own.level, own.propagate = saved[0], saved[1], saved[2]
    root.handlers[:] = saved[3]
    root.setLevel(saved[4])


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_engine(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Engine]:
    """A migrated, empty database — the same tests run on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path}/t.db"))
        upgrade(engine)
        yield engine
        engine.dispose()
    else:
        for engine in pg_schema_engine():
            upgrade(engine)
            yield engine


@pytest.fixture
def sqlite_engine(tmp_path: object) -> Iterator[Engine]:
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path}/t.db"))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh PostgreSQL database of its own (procrastinate's tables and functions are
    per database); skips when PostgreSQL is not reachable."""
    if PG_SKIP:
        pytest.skip(PG_SKIP)
    name = f"sw_cluster_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(scope="module")
def matchers() -> Matchers:
    """The reader's matchers for the API source kinds' tests, the language model loaded."""
    built = make_matchers(read_config(make_settings("sqlite://", [])))
    built.language.load()
    return built


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
