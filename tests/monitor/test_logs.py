"""Every log line in the configured format, third-party libraries' included."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.logs import configure
from monitor.settings import parse_settings


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    configure(parse_settings({"log": {"format": "json", "level": "info"}}).log, stream=out)
    yield out
    configure(parse_settings({}).log)  # back to stdout, as the other tests expect


async def a_tick_still_running_when_the_next_is_due() -> None:
    """APScheduler's own code path: the tick job is due while one instance still runs."""
    scheduler = AsyncIOScheduler(timezone=UTC)

    async def tick() -> None:
        pass

    scheduler.add_job(
        tick, "interval", seconds=60, next_run_time=datetime.now(UTC), max_instances=1, id="tick"
    )
    scheduler.start()
    scheduler._lookup_executor("default")._instances["tick"] = 1  # the running instance
    for _ in range(5):  # let the scheduler's wake-up run on the loop (no waiting on time)
        await asyncio.sleep(0)
    scheduler.shutdown(wait=False)


def test_apschedulers_skipped_tick_is_a_json_line(
    json_lines: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(a_tick_still_running_when_the_next_is_due())
    logging.getLogger("alerts.outbox").warning("outbox row %s via %s: dead", 7, "hook")
    logging.getLogger("stormwatch.scheduler").info("tick")
    records = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    skipped = [r for r in records if "maximum number of running instances" in r["msg"]]
    assert len(skipped) == 1
    assert skipped[0]["logger"].startswith("apscheduler")
    assert skipped[0]["level"] == "warning"
    assert "ts" in skipped[0]
    assert {"alerts.outbox", "stormwatch.scheduler"} <= {r["logger"] for r in records}
    assert capsys.readouterr().err == "", "nothing falls through to plain text on stderr"


def test_a_library_line_is_masked_like_ours(json_lines: io.StringIO) -> None:
    logging.getLogger("httpx").warning("POST %s failed", "https://bot:s3cret-tok@hooks.example/x")
    [record] = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    assert record["logger"] == "httpx"
    assert "s3cret-tok" not in record["msg"]
