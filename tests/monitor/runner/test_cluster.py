"""Cluster mode on a real PostgreSQL: the job queue's locks in-process, then two real
``stormwatch run`` processes sharing one database — every feed fetched once, every post
stored once, every page delivered once.

Each test gets a database of its own (procrastinate's schema is global to it). Nothing
sleeps: the tests wait on what the processes log (a condition woken by every line; the
rows a test waits for are checked again at each line, and every tick logs one), with a
deadline only so a broken build fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import procrastinate
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from monitor.demo.sampleweb import SampleWeb
from monitor.detect import IncidentBook, Signal, simulate
from monitor.metrics import Metrics
from monitor.pipeline import Pipeline, build_pipeline
from monitor.runner.cluster import detect
from monitor.runner.cluster.queue import CRAWL, build_queue, ensure_schema, host_lock
from monitor.runner.cluster.runner import free_stalled_jobs
from monitor.runner.cluster.work import Work
from monitor.runner.embedded import Health
from monitor.settings import DatabaseSettings, load_settings
from monitor.stages.detect import DetectStage, save_incident
from monitor.storage.db import make_engine, session_scope, upgrade
from monitor.storage.models import IncidentRow, Post, Source
from tests.support.fixtures.clock import STEP
from tests.support.seeds.posts import store
from tests.support.servers.ports import free_port
from tests.support.servers.receivers import http_receiver
from tests.support.worlds.cluster import PAGES, assert_stopped_cleanly, count, write_pages
from tests.support.worlds.processes import Logs, start, stop

# --- fixtures: two sample webs, a config (the database: conftest.py) ----------------------


@pytest.fixture
def webs() -> Iterator[list[SampleWeb]]:
    """Two sites on two ports: two hosts, so crawls run side by side."""
    with SampleWeb() as one, SampleWeb() as two:
        yield [one, two]


def write_config(
    tmp: Path, url: str, webs: list[SampleWeb], extra: str = "", bind: str = "127.0.0.1:8080"
) -> Path:
    sources = "".join(
        f'[[sources]]\nname = "w{i}-{name}"\nkind = "{kind}"\n'
        f'url = "{web.base_url}{path}"\ninterval = 3600\n'
        for i, web in enumerate(webs)
        for name, (kind, path) in web.feeds().items()
    )
    path = tmp / "stormwatch.toml"
    path.write_text(
        f'[database]\nurl = "{url}"\n'
        '[runner]\nkind = "cluster"\nconcurrency = 4\nstalled_after = 30\n'
        f'[web]\nsecret_key = "{"s" * 32}"\nbind = "{bind}"\n'
        '[network]\nallowed_hosts = ["127.0.0.1"]\nmin_host_interval = 0.0\n'
        "[crawl]\njitter = 0.0\n"
        '[log]\nformat = "json"\n'
        '[[brands]]\nname = "Nordtel"\naliases = ["#nordtel", "nordtel.dk"]\n'
        '[[brands]]\nname = "Teleborg"\n' + extra + sources
    )
    return path


# --- what the processes logged (starting them and waiting: tests/support/worlds) -----------


def ticks(logs: Logs) -> int:
    return len(logs.messages("tick"))


def crawls(logs: Logs) -> Counter[str]:
    return Counter(line["source"] for _, line in logs.messages("crawled"))


# --- the queue in-process: locks and recovery ----------------------------------------------


@pytest.mark.postgres
def test_the_schema_is_applied_once_when_processes_start_together(database: str) -> None:
    async def together() -> list[bool]:
        return list(await asyncio.gather(*(ensure_schema(database) for _ in range(4))))

    assert sorted(asyncio.run(together())) == [False, False, False, True]
    assert asyncio.run(ensure_schema(database)) is False


def cluster_app(tmp: Path, url: str, webs: list[SampleWeb]) -> Pipeline:
    settings = load_settings(write_config(tmp, url, webs), environ={})
    app = build_pipeline(settings)
    upgrade(app.engine)
    return app


async def with_queue(app: Pipeline, body: Callable[[Work, procrastinate.App], Any]) -> Any:
    url = app.settings.database.url.reveal()
    await ensure_schema(url)
    work = Work(app, None, health=Health(), metrics=Metrics(), clock=lambda: datetime.now(UTC))
    queue = build_queue(url, work, tick=1, pool_size=4)
    work.queue = queue
    try:
        async with queue.open_async():
            return await body(work, queue)
    finally:
        await app.aclose()


def jobs(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT task_name, lock, queueing_lock, status, args "
                "FROM procrastinate_jobs ORDER BY id"
            )
        )
        return [dict(row._mapping) for row in rows]


@pytest.mark.postgres
def test_a_tick_queues_each_due_source_once_under_its_host_lock(
    tmp_path: Path, database: str, webs: list[SampleWeb]
) -> None:
    app = cluster_app(tmp_path, database, webs)
    engine = sa.create_engine(database)

    async def three_ticks(work: Work, queue: procrastinate.App) -> list[str]:
        notes = [await work.tick(), await work.tick()]  # nothing ran: every job still waits
        with engine.begin() as conn:  # one crawl starts running: still not queued again
            conn.execute(
                sa.text(
                    "UPDATE procrastinate_jobs SET status = 'doing' WHERE id ="
                    " (SELECT min(id) FROM procrastinate_jobs WHERE task_name = :task)"
                ),
                {"task": CRAWL},
            )
        return [*notes, await work.tick()]

    notes = asyncio.run(with_queue(app, three_ticks))
    queued = jobs(engine)
    engine.dispose()
    assert notes[1:] == ["0 due, 0 crawl(s) queued"] * 2, notes
    crawls = [j for j in queued if j["task_name"] == CRAWL]
    names = [f"w{i}-{name}" for i, web in enumerate(webs) for name in web.feeds()]
    assert sorted(j["args"]["source"] for j in crawls) == sorted(names)
    for job in crawls:
        assert job["lock"] == host_lock(webs[int(job["args"]["source"][1])].base_url)
        assert job["queueing_lock"] == f"crawl:{job['args']['source']}"
    others = Counter((j["task_name"], j["lock"]) for j in queued if j["task_name"] != CRAWL)
    assert others == {
        ("stormwatch.classify", "classify"): 1,
        ("stormwatch.detect", "detect"): 1,
        ("stormwatch.page", "outbox"): 1,
    }


@pytest.mark.postgres
def test_a_crawl_queued_while_its_source_was_crawled_does_not_fetch_again(
    tmp_path: Path, database: str, webs: list[SampleWeb]
) -> None:
    app = cluster_app(tmp_path, database, webs)
    name = next(iter(webs[0].feeds()))

    async def crawl_twice(work: Work, queue: procrastinate.App) -> list[str]:
        await work.tick()  # the sources table now matches the config: all due
        return [await work.crawl(f"w0-{name}"), await work.crawl(f"w0-{name}")]

    first, second = asyncio.run(with_queue(app, crawl_twice))
    assert "new" in first
    assert second == "not_due"
    paths = Counter(r.path for r in webs[0].requests if r.path != "/robots.txt")
    assert paths, paths
    assert set(paths.values()) == {1}, paths


@pytest.mark.postgres
def test_the_jobs_of_a_dead_process_are_failed_and_their_locks_freed(
    tmp_path: Path, database: str, webs: list[SampleWeb]
) -> None:
    app = cluster_app(tmp_path, database, webs)
    engine = sa.create_engine(database)

    async def die_holding_the_outbox(work: Work, queue: procrastinate.App) -> tuple[Any, ...]:
        manager = queue.job_manager
        dead = await manager.register_worker()
        await work._defer("stormwatch.page")
        held = await manager.fetch_job(queues=None, worker_id=dead)
        await work._defer("stormwatch.page")  # the next page job waits for the lock ...
        alive = await manager.register_worker()
        blocked = await manager.fetch_job(queues=None, worker_id=alive)
        with engine.begin() as conn:  # ... and the holder stops sending heartbeats
            conn.execute(
                sa.text("UPDATE procrastinate_workers SET last_heartbeat = now() - :gone"),
                {"gone": timedelta(minutes=5)},
            )
            conn.execute(
                sa.text("UPDATE procrastinate_workers SET last_heartbeat = now() WHERE id = :id"),
                {"id": alive},
            )
        freed = await free_stalled_jobs(queue, stalled_after=30)
        taken = await manager.fetch_job(queues=None, worker_id=alive)
        return held, blocked, freed, taken

    held, blocked, freed, taken = asyncio.run(with_queue(app, die_holding_the_outbox))
    statuses = [j["status"] for j in jobs(engine)]
    engine.dispose()
    assert held is not None
    assert held.lock == "outbox"
    assert blocked is None, "the lock holds while its holder lives"
    assert freed == 1
    assert taken is not None
    assert taken.lock == "outbox"
    assert statuses == ["failed", "doing"]


def test_processes_taking_turns_at_detecting_open_one_incident_as_one_process_would(
    tmp_path: Path,
) -> None:
    scenario = simulate.storm(seed=2, tier="medium", peak=10.0, ramp_hours=0.5, warmup_days=7)
    onset = scenario.onsets()["Acme"]
    assert onset is not None
    events = sorted((e for e in scenario.events if e.brand == "Acme"), key=lambda e: e.at)

    def incidents(name: str, turns: int, run: Callable[[DetectStage, datetime], object]) -> Any:
        """Crawl-and-classify every 5 minutes; ``turns`` processes take turns detecting."""
        engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path}/{name}.db"))
        upgrade(engine)
        now = onset - timedelta(hours=1)
        store(engine, [e for e in events if e.at <= now], fetched=now)
        stages = [DetectStage(engine) for _ in range(turns)]
        for stage in stages:
            run(stage, now)
        for n in range(30):
            now += STEP
            store(engine, [e for e in events if now - STEP < e.at <= now], fetched=None)
            run(stages[n % turns], now)
        with Session(engine) as session:
            rows = session.exec(select(IncidentRow)).all()
            found = sorted((r.id, r.status, r.severity) for r in rows)
        engine.dispose()
        return found

    one = incidents("embedded", 1, DetectStage.step)
    assert len(one) == 1
    assert incidents("cluster", 2, detect.step) == one, "two processes in turn: one incident"
    assert len(incidents("naive", 2, DetectStage.step)) == 2, "without the shared book: two"


# --- two real processes -------------------------------------------------------------------


@pytest.mark.postgres
def test_two_processes_fetch_every_feed_once_and_store_every_post_once(
    tmp_path: Path, database: str, webs: list[SampleWeb]
) -> None:
    config = write_config(tmp_path, database, webs)
    names = {f"w{i}-{name}" for i, web in enumerate(webs) for name in web.feeds()}
    logs = Logs()
    processes = [start(config, logs, i, "--no-web", "--no-classify") for i in range(2)]
    try:
        logs.wait("every source crawled", lambda: set(crawls(logs)) == names)
        after = ticks(logs)
        # Two more ticks, each after every crawl ended: anything due again would be queued.
        logs.wait("two more ticks", lambda: ticks(logs) >= after + 2)
        logs.wait("no crawl running", lambda: not crawl_jobs_pending(database))
    finally:
        stop(processes, logs)
    assert_stopped_cleanly(database)

    for web in webs:
        fetched = Counter(r.path for r in web.requests)
        robots = fetched.pop("/robots.txt", 0)
        assert 1 <= robots <= 2, "robots.txt: once per process at most (each caches its own)"
        assert fetched, fetched
        assert set(fetched.values()) == {1}, fetched
    assert set(crawls(logs).values()) == {1}, "no source crawled twice"
    engine = sa.create_engine(database)
    with Session(engine) as session:
        posts = session.exec(select(Post.canonical_url)).all()
        sources = session.exec(select(Source)).all()
    engine.dispose()
    assert posts
    assert len(posts) == len(set(posts))
    assert sum(s.posts_stored for s in sources) == len(posts), "each post was new exactly once"
    assert all(s.last_success_at is not None and s.consecutive_failures == 0 for s in sources)


def crawl_jobs_pending(database: str) -> bool:
    return bool(
        count(
            database,
            "SELECT count(*) FROM procrastinate_jobs "
            "WHERE task_name = :task AND status IN ('todo', 'doing')",
            task=CRAWL,
        )
    )


@pytest.mark.postgres
def test_two_processes_deliver_each_page_exactly_once(
    tmp_path: Path, database: str, webs: list[SampleWeb]
) -> None:
    with ExitStack() as stack:
        receiver = stack.enter_context(http_receiver())
        alerting = (
            f'[[channels]]\nname = "hook"\nurl = "json://127.0.0.1:{receiver.port}/hook"\n'
            '[oncall]\n[[oncall.people]]\nname = "mette"\nchannels = ["hook"]\n'
            '[[oncall.policies]]\nname = "storms"\n'
            '[[oncall.policies.levels]]\npeople = ["mette"]\nwait_minutes = 60\n'
            "[outbox]\nbatch_size = 5\n"
        )
        port = free_port()
        config = write_config(tmp_path, database, [], alerting, bind=f"127.0.0.1:{port}")
        settings = load_settings(config, environ={})
        engine = build_pipeline(settings).engine
        upgrade(engine)
        incident = open_incident(engine, datetime.now(UTC))
        write_pages(engine, datetime.now(UTC))
        logs = Logs()
        processes = [start(config, logs, 0, "--no-classify"), start(config, logs, 1, "--no-web")]
        try:
            logs.wait("every page delivered", lambda: len(receiver.accepted()) >= PAGES + 1)
            logs.wait("the outbox settled", lambda: outbox_settled(engine))
            after = ticks(logs)
            logs.wait("two more ticks", lambda: ticks(logs) >= after + 2)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as answer:
                ready = json.loads(answer.read())
        finally:
            stop(processes, logs)
            engine.dispose()
    assert_stopped_cleanly(database)
    titles = Counter(hit.json()["title"] for hit in receiver.accepted())
    assert len(titles) == PAGES + 1, titles
    assert set(titles.values()) == {1}, titles
    assert any(incident.brand in title for title in titles), "the live incident was paged"
    assert ready["ready"] is True, ready


def open_incident(engine: Engine, now: datetime) -> Any:
    signal = Signal(
        kind="volume_surge",
        brand="Nordtel",
        severity="critical",
        reason="volume_surge",
        at=now,
        window_start=now - timedelta(hours=1),
        window_end=now,
        observed=30.0,
        expected=3.0,
        ratio=10.0,
    )
    incident = IncidentBook().apply(signal, now).incident
    with session_scope(engine) as session:
        save_incident(session, incident, "Nordtel: thirty complaints in an hour", now)
    return incident


def outbox_settled(engine: Engine) -> bool:
    with engine.connect() as conn:
        waiting = conn.execute(
            sa.text("SELECT count(*) FROM outbox WHERE status = 'pending'")
        ).scalar()
    return waiting == 0
