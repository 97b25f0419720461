"""Where the crawl parses: worker processes (the default) or a thread, against the sample web.

What must hold: both readers store exactly the same posts, threads, brands and languages;
a parse worker killed between passes (the OOM killer) is replaced and the next pass loses
nothing; closing the app stops the workers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from monitor.demo.sampleweb import SampleWeb
from monitor.pipeline import Pipeline, build_pipeline
from monitor.settings import DatabaseSettings, Settings
from monitor.stages.crawl import CrawlReport
from monitor.stages.read import ProcessReader, ThreadReader
from monitor.storage import repo
from monitor.storage.db import make_engine, session_scope, upgrade
from tests.support.fixtures.clock import T0
from tests.support.paths import REPO
from tests.support.worlds.crawl import good_sources, make_settings


@pytest.fixture(scope="module")
def web() -> Iterator[SampleWeb]:
    with SampleWeb() as site:
        yield site


def with_processes(settings: Settings, processes: int) -> Settings:
    crawl = settings.crawl.model_copy(update={"parse_processes": processes})
    return settings.model_copy(update={"crawl": crawl})


def stored(engine: Engine) -> set[tuple[Any, ...]]:
    with session_scope(engine) as s:
        posts = repo.list_posts(s, limit=10_000)
        brands = repo.brands_of(s, [p.id for p in posts])
    return {
        (
            p.id,
            p.thread_id,
            p.parent_id,
            p.kind,
            p.lang,
            p.content_hash,
            tuple(sorted(brands[p.id])),
        )
        for p in posts
    }


def crawl_once(
    settings: Settings, engine: Engine, before: Callable[[Pipeline], None] | None = None
) -> tuple[Pipeline, list[CrawlReport]]:
    """Build the app, run ``before`` on it, crawl every source once, close the app."""

    async def go() -> tuple[Pipeline, list[CrawlReport]]:
        app = build_pipeline(settings, engine)
        try:
            if before is not None:
                before(app)
            return app, await app.crawler.crawl([s.name for s in settings.sources], T0)
        finally:
            await app.aclose()

    return asyncio.run(go())


def engine_at(path: Path) -> Engine:
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{path}"))
    upgrade(engine)
    return engine


def test_worker_processes_store_exactly_what_the_thread_stores(
    web: SampleWeb, tmp_path: Path
) -> None:
    base = make_settings(web, tmp_path / "unused.db", good_sources(web))
    results = []
    for processes, kind in [(0, ThreadReader), (1, ProcessReader)]:
        engine = engine_at(tmp_path / f"p{processes}.db")
        app, reports = crawl_once(with_processes(base, processes), engine)
        assert isinstance(app.crawler.reader, kind)
        assert [r.error for r in reports if r.error] == []
        results.append((stored(engine), sorted((r.source, r.unmatched) for r in reports)))
    (thread_posts, thread_unmatched), (process_posts, process_unmatched) = results
    assert len(thread_posts) > 20
    assert process_posts == thread_posts
    assert process_unmatched == thread_unmatched


def worker_pids(reader: ProcessReader) -> list[int]:
    pool = reader._current()
    return list(pool._processes)  # type: ignore[attr-defined]  # the executor's own table


def test_a_parse_worker_killed_mid_pass_is_replaced_and_nothing_is_lost(
    web: SampleWeb, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = with_processes(make_settings(web, tmp_path / "unused.db", good_sources(web)), 1)
    engine = engine_at(tmp_path / "killed.db")
    spies: list[KillsFirst] = []

    def spy(app: Pipeline) -> None:
        assert isinstance(app.crawler.reader, ProcessReader)
        spies.append(KillsFirst(app.crawler.reader))
        app.crawler.reader = spies[0]

    with caplog.at_level(logging.WARNING, logger="stormwatch.crawl"):
        _, reports = crawl_once(settings, engine, spy)
    assert [r.error for r in reports if r.error] == []
    assert "a parse worker died reading" in caplog.text
    assert "workers restarted" in caplog.text
    [killer] = spies
    assert killer.killed is not None
    assert killer.later
    assert killer.killed not in killer.later
    reference = engine_at(tmp_path / "reference.db")
    crawl_once(with_processes(settings, 0), reference)
    assert stored(engine) == stored(reference)


def test_workers_dead_between_passes_are_restarted_before_the_next(
    web: SampleWeb, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = with_processes(make_settings(web, tmp_path / "unused.db", good_sources(web)), 1)

    def kill_after_start(app: Pipeline) -> None:
        reader = app.crawler.reader
        assert isinstance(reader, ProcessReader)
        reader.load()
        os.kill(worker_pids(reader)[0], signal.SIGKILL)

    with caplog.at_level(logging.WARNING, logger="stormwatch.crawl"):
        _, reports = crawl_once(settings, engine_at(tmp_path / "between.db"), kill_after_start)
    assert [r.error for r in reports if r.error] == []
    assert sum(len(r.new) for r in reports) > 20
    assert "workers restarted" in caplog.text


class KillsFirst:
    """The process reader, with its worker killed just before the pass's first read."""

    def __init__(self, inner: ProcessReader) -> None:
        self.inner = inner
        self.killed: int | None = None
        self.later: set[int] = set()

    def load(self) -> None:
        self.inner.load()

    async def read(self, *args: Any) -> Any:
        if self.killed is None:
            self.killed = worker_pids(self.inner)[0]
            os.kill(self.killed, signal.SIGKILL)
        result = await self.inner.read(*args)
        self.later.update(worker_pids(self.inner))
        return result

    def close(self) -> None:
        self.inner.close()


def test_closing_the_app_stops_the_workers(web: SampleWeb, tmp_path: Path) -> None:
    settings = with_processes(make_settings(web, tmp_path / "unused.db", good_sources(web)), 2)
    processes: list[Any] = []

    def note_workers(app: Pipeline) -> None:
        reader = app.crawler.reader
        assert isinstance(reader, ProcessReader)
        reader.load()
        processes.extend(reader._current()._processes.values())  # type: ignore[attr-defined]

    crawl_once(settings, engine_at(tmp_path / "close.db"), note_workers)
    assert processes
    assert not any(p.is_alive() for p in processes)


ORPHAN_SCRIPT = """
import sys
from monitor.stages.read import ProcessReader, read_config
from monitor.settings import parse_settings

if __name__ == "__main__":
    reader = ProcessReader(read_config(parse_settings({"brands": [{"name": "Nordtel"}]})), 1)
    reader.load()
    print(*reader._current()._processes, flush=True)
    sys.stdin.read()  # until the test kills us
"""


def test_a_worker_whose_parent_is_killed_exits(tmp_path: Path) -> None:
    """SIGKILL gives the parent no chance to stop its workers; they must notice and exit,
    or they would hold the parent's stdout (and memory) forever."""
    script = tmp_path / "parent.py"
    script.write_text(ORPHAN_SCRIPT)
    parent = subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert parent.stdout is not None
    worker = int(parent.stdout.readline().split()[0])
    parent.send_signal(signal.SIGKILL)
    # The worker shares the parent's stdout: EOF means the worker has exited too.
    rest, _ = parent.communicate(timeout=20)
    assert rest == ""
    assert not running(worker)


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for init to reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
