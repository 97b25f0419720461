"""Faults with real resources: a disk that fills up under the database, and a crawl killed
with SIGKILL in the middle of a pass. Each time: a clear error, no corrupt or partial state,
and recovery without an operator once the fault is gone."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.app import build_app
from monitor.metrics import Metrics
from monitor.sampleweb import SampleWeb
from monitor.scheduler import Daemon
from monitor.settings import Settings, parse_settings
from monitor.storage import repo
from monitor.storage.db import session_scope, upgrade
from tests.test_cli import config_for
from tests.test_crawl import post_id, should_store


@pytest.fixture(scope="module")
def web() -> Iterator[SampleWeb]:
    with SampleWeb() as site:
        yield site


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 4 MB tmpfs: a real file system that really fills up (needs root to mount)."""
    mount = Path(tempfile.mkdtemp(prefix="stormwatch-disk-"))
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {made.stderr.decode().strip()[:100]}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=False)
        mount.rmdir()


def _settings(db: Path, web: SampleWeb) -> Settings:
    return parse_settings(
        {
            "database": {"url": f"sqlite:///{db}", "busy_timeout_ms": 200},
            "network": {"allowed_hosts": ["127.0.0.1"], "min_host_interval": 0.0},
            "log": {"format": "text"},
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


def wanted_ids(web: SampleWeb) -> set[str]:
    expected = web.expected()
    by_url = expected.by_url()
    return {post_id(i.url) for i in expected.items if should_store(i, by_url)}


def _fill(mount: Path, leave_bytes: int) -> Path:
    filler = mount / "filler"
    free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
    filler.write_bytes(b"\0" * max(free - leave_bytes, 0))
    return filler


def test_disk_full_while_writing_is_a_clear_error_and_nothing_partial(
    small_disk: Path, web: SampleWeb
) -> None:
    db = small_disk / "sw.db"
    app = build_app(_settings(db, web))
    upgrade(app.engine)
    clock = lambda: datetime.now(UTC)  # noqa: E731
    daemon = Daemon(app, tick=1.0, clock=clock, classify=False, metrics=Metrics(app.engine, clock))
    daemon.warm_up()
    daemon.health.started = True
    filler = _fill(small_disk, leave_bytes=8 * 1024)  # room for a page or two, not a pass
    loop = asyncio.new_event_loop()
    loop.run_until_complete(daemon.tick())
    ready, reason = daemon.health.ready(datetime.now(UTC), 1.0)
    assert not ready and "full" in reason, reason  # one clear sentence: database or disk is full
    with session_scope(app.engine) as s:
        assert repo.count_posts(s) == 0  # the pass was rolled back whole: no half-stored source
        assert all(src.last_success_at is None for src in repo.list_sources(s))

    filler.unlink()  # the operator frees space; no restart
    loop.run_until_complete(daemon.tick())
    assert daemon.health.ready(datetime.now(UTC), 1.0) == (True, "ok")
    with session_scope(app.engine) as s:
        stored = repo.count_posts(s)
    assert stored == len(wanted_ids(web))
    loop.run_until_complete(app.aclose())
    loop.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_crawl_killed_mid_pass_loses_nothing_on_restart(tmp_path: Path, web: SampleWeb) -> None:
    config = config_for(tmp_path, web)
    web.clear_requests()
    forum = web.feeds()["forum"][1] + "latest.json"  # mid-pass: the forum comes after the blogs
    command = [sys.executable, "-m", "monitor", "crawl", "--once", "-c", str(config)]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert web.wait_for_request(forum, timeout=60), "the crawl reached the forum"
        first.send_signal(signal.SIGKILL)  # in the middle of the pass, no cleanup
    finally:
        first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(tmp_path / "sw.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = [row[0] for row in conn.execute("SELECT id FROM posts")]
    assert len(stored) == len(set(stored))  # every post stored once
    assert set(stored) == wanted_ids(web)  # and none lost
