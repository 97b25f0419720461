"""The daemon's tick on real parts: sample web, SQLite, a tiny real model, the real
detect and paging stages; a locked database; systemd notifications on a real socket."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from classifiers.config import ClassifierSettings
from monitor import systemd
from monitor.demo.sampleweb import SampleWeb
from monitor.metrics import Metrics
from monitor.pipeline import build_pipeline
from monitor.runner.embedded import EmbeddedRunner
from monitor.settings import Settings, parse_settings
from monitor.storage.db import upgrade
from tests.support.fixtures.models import tiny_classifier_settings


@pytest.fixture(scope="module")
def web() -> Iterator[SampleWeb]:
    with SampleWeb() as site:
        yield site


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> ClassifierSettings:
    return tiny_classifier_settings(tmp_path_factory.mktemp("tiny"))


def settings_for(
    tmp: Path, web: SampleWeb, tiny: ClassifierSettings, busy_ms: int = 5000
) -> Settings:
    settings = parse_settings(
        {
            "database": {"url": f"sqlite:///{tmp}/sw.db", "busy_timeout_ms": busy_ms},
            "network": {"allowed_hosts": ["127.0.0.1"], "min_host_interval": 0.0},
            "brands": [
                {"name": "Nordtel", "aliases": ["#nordtel", "nordtel.dk"]},
                {"name": "Teleborg"},
            ],
            "sources": [
                {"name": name, "kind": kind, "url": f"{web.base_url}{path}", "interval": 60}
                for name, (kind, path) in web.feeds().items()
            ],
        }
    )
    return settings.model_copy(update={"classifier": tiny})


def daemon_for(settings: Settings) -> EmbeddedRunner:
    app = build_pipeline(settings)
    upgrade(app.engine)
    clock = lambda: datetime.now(UTC)  # noqa: E731
    daemon = EmbeddedRunner(app, tick=1.0, clock=clock, metrics=Metrics(app.engine, clock))
    daemon.warm_up()
    return daemon


async def ticks(daemon: EmbeddedRunner, count: int) -> None:
    for _ in range(count):
        await daemon.tick()
    await daemon.pipeline.aclose()


def test_a_tick_runs_every_stage_and_reports_ready_and_metrics(
    tmp_path: Path, web: SampleWeb, tiny: ClassifierSettings
) -> None:
    daemon = daemon_for(settings_for(tmp_path, web, tiny))
    asyncio.run(ticks(daemon, 1))
    now = datetime.now(UTC)
    assert [s.ok for s in daemon.health.stages.values()] == [True, True, True, True]
    assert daemon.health.ready(now, 1.0) == (False, "starting")  # run() not called
    daemon.health.started = True
    assert daemon.health.ready(now, 1.0) == (True, "ok")
    text = daemon.metrics.render().decode()
    assert 'stormwatch_fetches_total{outcome="ok",source="' in text
    assert "stormwatch_posts_total" in text
    assert "stormwatch_classifications_total" in text
    assert "stormwatch_database_up 1.0" in text
    assert 'stormwatch_source_staleness_seconds{source="' in text
    assert "stormwatch_outbox_pending 0.0" in text


def test_a_locked_database_makes_the_daemon_unready_and_it_recovers_by_itself(
    tmp_path: Path, web: SampleWeb, tiny: ClassifierSettings
) -> None:
    daemon = daemon_for(settings_for(tmp_path, web, tiny, busy_ms=50))
    daemon.health.started = True
    blocker = sqlite3.connect(tmp_path / "sw.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the database
    loop = asyncio.new_event_loop()  # one loop for the daemon's HTTP client throughout
    try:
        loop.run_until_complete(daemon.tick())
        ready, reason = daemon.health.ready(datetime.now(UTC), 1.0)
        assert not ready
        assert "locked" in reason
        # readers do not wait for the writer (WAL, deferred BEGIN): metrics still answer
        assert "stormwatch_database_up 1.0" in daemon.metrics.render().decode()
        assert daemon.metrics.stage_errors.labels("crawl")._value.get() >= 1
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    loop.run_until_complete(daemon.tick())  # no restart, no operator: the next tick gets through
    assert daemon.health.ready(datetime.now(UTC), 1.0) == (True, "ok")
    loop.run_until_complete(daemon.pipeline.aclose())
    loop.close()


def test_systemd_hears_ready_watchdog_and_stopping(
    tmp_path: Path, web: SampleWeb, tiny: ClassifierSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(60)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    heard: list[str] = []
    daemon = EmbeddedRunner(build_pipeline(settings_for(tmp_path, web, tiny)), tick=0.2)
    upgrade(daemon.pipeline.engine)

    def listen(loop: asyncio.AbstractEventLoop) -> None:
        while True:
            message = listener.recv(256).decode()
            heard.append(message)
            if message == "WATCHDOG=1":
                loop.call_soon_threadsafe(daemon.stop)
            if message == "STOPPING=1":
                return

    async def main() -> None:
        thread = threading.Thread(target=listen, args=(asyncio.get_running_loop(),), daemon=True)
        thread.start()
        await daemon.run(install_signals=False)
        await asyncio.to_thread(thread.join, 30)

    asyncio.run(main())
    listener.close()
    assert heard[0] == "READY=1"
    assert "WATCHDOG=1" in heard
    assert heard[-1] == "STOPPING=1"


def test_notify_outside_systemd_does_nothing() -> None:
    assert systemd.notify("READY=1", environ={}) is False
    assert systemd.notify("READY=1", environ={"NOTIFY_SOCKET": "/nonexistent/sock"}) is False


def test_missing_model_keeps_crawling_and_recovers_when_the_folder_appears(
    tmp_path: Path, web: SampleWeb, tiny: ClassifierSettings
) -> None:
    import shutil

    from monitor.storage import repo
    from monitor.storage.db import session_scope

    folder = tmp_path / "restored" / "tiny-e5"  # the head names its encoder by folder
    broken = tiny.model_copy(update={"model_dir": str(folder)})  # nothing there yet
    daemon = daemon_for(settings_for(tmp_path, web, broken))
    daemon.health.started = True
    loop = asyncio.new_event_loop()
    loop.run_until_complete(daemon.tick())
    health = daemon.health
    assert health.stages["crawl"].ok
    assert health.stages["classify"].ok is False
    assert health.classifier
    assert str(folder) in health.classifier
    assert health.ready(datetime.now(UTC), 1.0) == (True, "ok")  # still crawling and paging
    with session_scope(daemon.pipeline.engine) as s:
        stored = repo.count_posts(s)
        assert stored > 0
        assert len(repo.pending_readings(s, daemon.pipeline.classify.model_id, 10_000)) > 0

    shutil.copytree(str(tiny.model_dir), folder)  # an operator restores the model folder
    loop.run_until_complete(daemon.tick())
    assert daemon.health.stages["classify"].ok
    assert daemon.health.classifier is None
    with session_scope(daemon.pipeline.engine) as s:
        assert repo.count_posts(s) == stored  # nothing was dropped meanwhile
    loop.run_until_complete(daemon.pipeline.aclose())
    loop.close()
