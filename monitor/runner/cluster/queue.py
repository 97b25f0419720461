"""The job queue of cluster mode: procrastinate on Stormwatch's own PostgreSQL database.

Every ``stormwatch run`` process builds the same procrastinate App (same task names, same
locks) and runs workers on it. The jobs, and the lock that makes each safe to run on any
machine (procrastinate gives a job one ``lock``: no two jobs with the same lock run at
once; and one ``queueing_lock``: at most one such job waits in the queue)::

    task      queue     lock           queueing_lock   why
    tick      control   tick           tick            periodic: deferred once per period
                                                       for the whole cluster, run by one
    crawl     crawl     host:<host>    crawl:<source>  one source, politely (see below)
    classify  classify  classify       classify        one model reading pending posts
    detect    control   detect         detect          one detector deciding incidents
    page      control   outbox         page            one sender draining the outbox

Crawl locks. A source lives on one host, so the per-host lock gives per-source exclusivity
too (two crawls of one source never overlap) and keeps the cluster to one crawl per host
at a time, which is what the fetcher already does inside one process. The per-source
queueing lock keeps the queue to one waiting crawl per source however many ticks see it
due. A crawl queued while the previous one was still running would fetch again right
after it: so a crawl job first checks that its source is still due, in the database, and
skips with a named reason if another job crawled it meanwhile. Both checks are sound
because of the host lock: nothing else crawls that source while the job runs.

Queues let a process opt out of work: ``run --no-classify`` does not serve ``classify``
(the model is loaded only by processes that read), and crawls have their own worker so
a long crawl backlog never delays paging.

The procrastinate schema lives beside Stormwatch's tables. It is applied at start when
missing, under a PostgreSQL advisory lock, so processes starting together apply it once.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlsplit

import procrastinate
import psycopg
from procrastinate.schema import SchemaManager
from sqlalchemy.engine import make_url

TICK, CRAWL, CLASSIFY, DETECT, PAGE = (
    "stormwatch.tick",
    "stormwatch.crawl",
    "stormwatch.classify",
    "stormwatch.detect",
    "stormwatch.page",
)
CONTROL_QUEUE, CRAWL_QUEUE, CLASSIFY_QUEUE = "control", "crawl", "classify"
SCHEMA_LOCK = 0x53_54_4F_52_4D_51  # pg_advisory_lock key ("STORMQ")


class Jobs(Protocol):
    """What the queue's tasks do (monitor.runner.cluster.work.Work); each returns a short note
    that procrastinate logs with the job's outcome."""

    async def tick(self) -> str: ...
    async def crawl(self, source: str) -> str: ...
    async def classify(self) -> str: ...
    async def detect(self) -> str: ...
    async def page(self) -> str: ...


def conninfo(database_url: str) -> str:
    """The SQLAlchemy URL of ``[database] url`` as a libpq URL (psycopg's own form)."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def host_lock(source_url: str) -> str:
    parts = urlsplit(source_url)
    host = (parts.hostname or "").lower() + (f":{parts.port}" if parts.port else "")
    return f"host:{host}"


def tick_cron(seconds: float) -> str:
    """procrastinate schedules with cron (a 6th field for seconds): every ``seconds``
    rounded to a whole second, or to whole minutes from one minute up."""
    whole = max(1, round(seconds))
    if whole < 60:
        return f"* * * * * */{whole}"
    return f"*/{min(59, max(1, round(whole / 60)))} * * * *"


def build_queue(database_url: str, jobs: Jobs, *, tick: float, pool_size: int) -> procrastinate.App:
    """The procrastinate App with Stormwatch's five tasks bound to ``jobs``."""
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(database_url), min_size=1, max_size=pool_size
    )
    queue = procrastinate.App(connector=connector)

    @queue.task(name=TICK, queue=CONTROL_QUEUE, lock="tick", queueing_lock="tick", priority=30)
    async def tick_task(timestamp: int) -> str:
        return await jobs.tick()

    queue.periodic(cron=tick_cron(tick), periodic_id="tick")(tick_task)

    @queue.task(name=CRAWL, queue=CRAWL_QUEUE)
    async def crawl_task(source: str) -> str:
        return await jobs.crawl(source)

    @queue.task(name=CLASSIFY, queue=CLASSIFY_QUEUE, lock="classify", queueing_lock="classify")
    async def classify_task() -> str:
        return await jobs.classify()

    @queue.task(name=DETECT, queue=CONTROL_QUEUE, lock="detect", queueing_lock="detect")
    async def detect_task() -> str:
        return await jobs.detect()

    @queue.task(name=PAGE, queue=CONTROL_QUEUE, lock="outbox", queueing_lock="page", priority=20)
    async def page_task() -> str:
        return await jobs.page()

    return queue


async def ensure_schema(database_url: str) -> bool:
    """Apply procrastinate's schema unless it is there; True when this call applied it.
    The advisory lock makes a second process starting at the same moment wait, then find
    the schema and leave it alone. The schema script runs as one implicit transaction."""
    async with await psycopg.AsyncConnection.connect(
        conninfo(database_url), autocommit=True
    ) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            found = await (
                await conn.execute("SELECT to_regclass('procrastinate_jobs')")
            ).fetchone()
            if found is not None and found[0] is not None:
                return False
            await conn.execute(SchemaManager.get_schema())  # no parameters: '%' stays as is
            return True
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))
