"""A pushed post is classified at once: the daemon's runner, nudged by the intake, runs
classify, detect and page without waiting for its next tick (an hour away here)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from classifiers.config import ClassifierSettings
from monitor.metrics import Metrics
from monitor.pipeline import build_pipeline
from monitor.push import PushService
from monitor.runner.embedded import EmbeddedRunner
from monitor.settings import parse_settings
from monitor.sources import Request
from monitor.storage.db import session_scope, upgrade
from tests.support.fixtures.models import tiny_classifier_settings
from tests.support.servers.fakeplatform import mastodon_status
from tests.support.servers.ports import closed_port


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> ClassifierSettings:
    return tiny_classifier_settings(tmp_path_factory.mktemp("tiny"))


def runner(tmp: Path, tiny: ClassifierSettings) -> EmbeddedRunner:
    instance = f"http://127.0.0.1:{closed_port()}"  # nothing there: the tick's poll fails
    settings = parse_settings(
        {
            "database": {"url": f"sqlite:///{tmp}/sw.db"},
            "network": {"allowed_hosts": ["127.0.0.1"]},
            "crawl": {"parse_processes": 0, "languages": ["da", "en"]},
            "brands": [{"name": "Nordtel", "aliases": ["#nordtel"]}],
            "sources": [{"name": "tag", "kind": "mastodon", "url": instance, "tags": ["nordtel"]}],
        }
    ).model_copy(update={"classifier": tiny})
    pipeline = build_pipeline(settings)
    upgrade(pipeline.engine)
    clock = lambda: datetime.now(UTC)  # noqa: E731
    return EmbeddedRunner(pipeline, tick=3600, clock=clock, metrics=Metrics(pipeline.engine, clock))


def readings(runner: EmbeddedRunner) -> int:
    with session_scope(runner.pipeline.engine) as session:
        return int(session.execute(sa.text("SELECT count(*) FROM readings")).scalar_one())


def test_a_pushed_post_is_classified_without_waiting_for_the_tick(
    tmp_path: Path, tiny: ClassifierSettings
) -> None:
    daemon = runner(tmp_path, tiny)
    paged: asyncio.Queue[Any] = asyncio.Queue()
    page = daemon.pipeline.page.run

    async def spy(now: datetime) -> Any:  # the last stage of a pass: tell the test
        report = await page(now)
        paged.put_nowait(report)
        return report

    daemon.pipeline.page.run = spy  # type: ignore[method-assign]

    async def go() -> None:
        running = asyncio.create_task(daemon.run(install_signals=False))
        await asyncio.wait_for(paged.get(), 120)  # the first tick (at start)
        assert readings(daemon) == 0
        service = PushService(lambda: daemon.pipeline, daemon.clock, daemon.nudge)
        status = mastodon_status(7, "#nordtel nede igen, ingen svar", "2026-11-02T09:00:00Z")
        body = json.dumps([status]).encode()
        request = Request(daemon.pipeline.settings.sources[0].url + "/api/v1/timelines/tag/nordtel")
        report = await service.intake.accept("tag", request, body, {}, daemon.clock())
        assert len(report.new) == 1
        await asyncio.wait_for(paged.get(), 120)  # the nudged pass, not a tick
        assert readings(daemon) == 1
        daemon.stop()
        await running

    asyncio.run(go())
