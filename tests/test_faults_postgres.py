"""PostgreSQL stopped and started under a running daemon: it keeps running, reports not
ready, and recovers by itself, losing nothing that was published meanwhile.

The shared PostgreSQL on 127.0.0.1:5432 is never stopped: the test starts its own private
server (``initdb`` into a temp dir, a free port on 127.0.0.1, fsync off) and stops and
starts that one. It skips with the reason when the PostgreSQL server programs are not
installed, or when running as root without a ``postgres`` user to run them as."""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.demo.sampleweb import SampleWeb
from tests.support.servers.ports import free_port
from tests.support.worlds.crawl import config_for
from tests.support.worlds.processes import get, wait_for

pytestmark = pytest.mark.postgres


def _server_program(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _runner() -> tuple[list[str], str | None]:
    """The prefix that runs a server program (PostgreSQL refuses to run as root), and the
    user that must own its files; or a reason to skip."""
    if os.geteuid() != 0:
        return [], None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no postgres user to run a private server")
    return ["runuser", "-u", "postgres", "--"], "postgres"


class PrivateServer:
    def __init__(self) -> None:
        initdb, self.pg_ctl = _server_program("initdb"), _server_program("pg_ctl")
        if initdb is None or self.pg_ctl is None:
            pytest.skip("PostgreSQL server programs (initdb, pg_ctl) are not installed")
        self.prefix, owner = _runner()
        self.home = Path(tempfile.mkdtemp(prefix="stormwatch-pg-"))
        if owner:
            shutil.chown(self.home, owner)
        self.data = self.home / "data"
        self.port = free_port()
        self._run(initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        done = subprocess.run([*self.prefix, *command], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.home} -c fsync=off"
        log = str(self.home / "server.log")
        assert self.pg_ctl is not None
        self._run(self.pg_ctl, "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self) -> None:
        assert self.pg_ctl is not None
        self._run(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        assert self.pg_ctl is not None
        subprocess.run(
            [*self.prefix, self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture
def server() -> Iterator[PrivateServer]:
    private = PrivateServer()
    try:
        yield private
    finally:
        private.remove()


@pytest.fixture(scope="module")
def web() -> Iterator[SampleWeb]:
    with SampleWeb() as site:
        yield site


def test_postgresql_stopped_and_started_under_the_daemon(
    tmp_path: Path, web: SampleWeb, server: PrivateServer
) -> None:
    config = config_for(tmp_path, web)
    port = free_port()
    text = config.read_text().replace(f"sqlite:///{tmp_path}/sw.db", server.url)
    text = text.replace("interval = 60", "interval = 2")
    text = text.replace("[log]\n", '[log]\nlevel = "debug"\n')
    config.write_text(text + f'\n[web]\nbind = "127.0.0.1:{port}"\n')
    command = [sys.executable, "-m", "monitor", "run", "-c", str(config), "--tick", "0.3"]
    daemon = subprocess.Popen(
        [*command, "--no-classify"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert daemon.stdout is not None
    seen: list[str] = []
    try:
        wait_for(daemon.stdout, "web UI listening", seen)
        _wait_for_clean_tick(daemon.stdout, seen)
        assert json.loads(get(f"http://127.0.0.1:{port}/readyz")[1])["ready"] is True

        server.stop()
        wait_for(daemon.stdout, "stage failed", seen)
        # still ticking without its database; the tick the stop fell in may have crawled
        # before it, so read ticks until every stage that needs the database has failed
        for _ in range(20):
            wait_for(daemon.stdout, "tick finished", seen)
            status, body = get(f"http://127.0.0.1:{port}/readyz")
            ready = json.loads(body)
            failing = {n: s["last_error"] for n, s in ready["stages"].items() if s["ok"] is False}
            if set(failing) == {"crawl", "detect", "page"}:  # classify is off here
                break
        assert status == 503, body
        assert ready["ready"] is False, body
        assert set(failing) == {"crawl", "detect", "page"}, failing
        assert all("database unavailable" in error for error in failing.values()), failing
        assert "stormwatch_database_up 0.0" in get(f"http://127.0.0.1:{port}/metrics")[1]
        web.publish_post(
            "nede-under-nedbruddet",
            "Nordtel svarer ikke",
            "Nordtel har ikke svaret i tre dage. Skrevet mens databasen var nede.",
            published=datetime.now(UTC),
        )
        assert daemon.poll() is None

        server.start()  # no restart of the daemon, no operator
        _wait_for_clean_tick(daemon.stdout, seen)
        status, body = get(f"http://127.0.0.1:{port}/readyz")
        assert status == 200, body
        assert json.loads(body)["ready"] is True, body
        _wait_for_post(daemon.stdout, seen, server.url, "nede-under-nedbruddet")
    finally:
        daemon.terminate()
        rest, _ = daemon.communicate(timeout=60)
    log = "".join(seen) + rest
    assert daemon.returncode == 0, log
    assert "Traceback" not in log


def _wait_for_clean_tick(stream: object, seen: list[str]) -> None:
    """Read the log until a tick finishes with no stage failing in it."""
    failed = True
    for line in stream:  # type: ignore[attr-defined]
        seen.append(line)
        if "stage failed" in line:
            failed = True
        elif "tick finished" in line:
            if not failed:
                return
            failed = False
    raise AssertionError("the daemon exited:\n" + "".join(seen))


def _wait_for_post(stream: object, seen: list[str], url: str, slug: str) -> None:
    """Read the log tick by tick until the post published during the outage is stored,
    then check it is stored once."""
    engine = sa.create_engine(url)
    query = sa.text("SELECT count(*) FROM posts WHERE canonical_url LIKE :slug")
    try:
        for line in stream:  # type: ignore[attr-defined]
            seen.append(line)
            if "tick finished" not in line:
                continue
            with engine.connect() as conn:
                count = conn.execute(query, {"slug": f"%{slug}%"}).scalar_one()
            if count:
                assert count == 1
                return
        raise AssertionError("the daemon exited:\n" + "".join(seen))
    finally:
        engine.dispose()
