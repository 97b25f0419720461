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

from monitor.canonical import post_id
from monitor.demo.sampleweb import SampleWeb
from monitor.metrics import Metrics
from monitor.pipeline import build_pipeline
from monitor.runner.embedded import EmbeddedRunner
from monitor.settings import Settings, parse_settings
from monitor.storage import repo
from monitor.storage.db import session_scope, upgrade
from tests.support.worlds.crawl import config_for, should_store


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
    app = build_pipeline(_settings(db, web))
    upgrade(app.engine)
    clock = lambda: datetime.now(UTC)  # noqa: E731
    daemon = EmbeddedRunner(
        app, tick=1.0, clock=clock, classify=False, metrics=Metrics(app.engine, clock)
    )
    daemon.warm_up()
    daemon.health.started = True
    filler = _fill(small_disk, leave_bytes=8 * 1024)  # room for a page or two, not a pass
    loop = asyncio.new_event_loop()
    loop.run_until_complete(daemon.tick())
    ready, reason = daemon.health.ready(datetime.now(UTC), 1.0)
    assert not ready, reason
    assert "full" in reason, reason  # one clear sentence: database or disk is full
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


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    from tests.support.fixtures.models import tiny_classifier_settings

    tiny = tiny_classifier_settings(tmp_path_factory.mktemp("tiny"))
    return str(tiny.model_dir), str(tiny.head)


@pytest.mark.parametrize("seed", [3, 7, 11])
def test_daemon_killed_at_a_random_point_recovers_every_post_once(
    tmp_path: Path, web: SampleWeb, tiny_model: tuple[str, str], seed: int
) -> None:
    """kill -9 after a random number of log lines (crawl, classify, detect or page under
    way), restart, run until nothing is pending: every expected post stored once and read
    once per brand, at most one open incident per brand and kind, the database intact."""
    import random

    config = config_for(tmp_path, web)
    model_dir, head = tiny_model
    text = config.read_text().replace("[log]\n", '[log]\nlevel = "debug"\n')
    config.write_text(
        text + f'\n[classifier]\nmodel_dir = "{model_dir}"\nhead = "{head}"\nthreads = 1\n'
    )
    command = [
        sys.executable,
        "-m",
        "monitor",
        "run",
        "-c",
        str(config),
        "--tick",
        "0.2",
        "--no-web",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    kill_after = random.Random(seed).randint(2, 14)
    first = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert first.stdout is not None
    for count, _line in enumerate(first.stdout, 1):
        if count >= kill_after:
            break
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)

    second = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert second.stdout is not None
    db = tmp_path / "sw.db"
    log: list[str] = []
    try:
        for line in second.stdout:  # read the log: after each finished tick, look at the database
            log.append(line)
            if "tick finished" in line and _settled(db):
                break
        else:
            raise AssertionError("the restarted daemon exited:\n" + "".join(log))
    finally:
        second.send_signal(signal.SIGTERM)
        rest, _ = second.communicate(timeout=60)
    assert second.returncode == 0
    assert "Traceback" not in "".join(log) + rest
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ids = [r[0] for r in conn.execute("SELECT id FROM posts")]
        assert len(ids) == len(set(ids))
        assert set(ids) == wanted_ids(web)
        unread = conn.execute(
            "SELECT count(*) FROM post_brands pb LEFT JOIN readings r"
            " ON r.post_id = pb.post_id AND r.brand = pb.brand WHERE r.post_id IS NULL"
        ).fetchone()[0]
        assert unread == 0
        doubled = conn.execute(
            "SELECT brand, family, count(*) FROM incidents WHERE status != 'resolved'"
            " GROUP BY brand, family HAVING count(*) > 1"
        ).fetchall()
        assert doubled == []
    finally:
        conn.close()


def _settled(db: Path) -> bool:
    """Every source crawled once and every (post, brand) read."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        never = conn.execute(
            "SELECT count(*) FROM sources WHERE last_success_at IS NULL"
        ).fetchone()[0]
        unread = conn.execute(
            "SELECT count(*) FROM post_brands pb LEFT JOIN readings r"
            " ON r.post_id = pb.post_id AND r.brand = pb.brand WHERE r.post_id IS NULL"
        ).fetchone()[0]
        return bool(never == 0 and unread == 0)
    except sqlite3.Error:
        return False
    finally:
        conn.close()
