"""Cluster mode when processes die: real ``stormwatch run`` processes on a fresh
PostgreSQL database, killed or stopped in the middle of a crawl or of a send.

- SIGKILL one of three crawling processes while it holds crawls: the others free its
  jobs after ``[runner] stalled_after`` (5 s here) and crawl those sources; nothing is
  lost and only the feeds the dead process had fetched without recording are fetched
  again (once, by a survivor);
- SIGTERM during a crawl: the process finishes the crawl it holds and exits 0; after a
  restart every source is crawled and no feed was fetched twice;
- SIGTERM during a send: the page being sent is recorded before the process exits; after
  a restart it is not sent again.

No sleeps: the feed server and the receiver hold a request on an event until the test
has sent its signal, and the tests wait on what the processes log (every tick logs a
line) and on the servers' request logs, with a deadline only so a broken build fails.
Each worker has a config of its own that differs only in its user agent, so the feed
server's log says which process fetched what.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.servers.httpservers import Handler, Server, serve
from tests.support.worlds.cluster import assert_stopped_cleanly, count, write_pages
from tests.support.worlds.processes import Logs, start

pytestmark = pytest.mark.postgres
HOLD = 120.0  # seconds a held request waits at most; only ever reached when broken
ITEMS = 2
TEXT = "Jeg har ventet i tre uger på at Nordtel sender en tekniker, og kundeservice svarer ikke."


def rss(i: int) -> bytes:
    entries = "".join(
        f"<item><title>Indlæg {n} om Nordtel (feed {i})</title>"
        f"<link>http://kill.invalid/f/{i}/p/{n}</link><guid>f{i}-p{n}</guid>"
        f"<pubDate>Mon, 02 Nov 2026 09:{n:02d}:00 +0000</pubDate>"
        f"<description>{TEXT} Sag {i}-{n}.</description></item>"
        for n in range(ITEMS)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Feed {i}</title><link>http://kill.invalid/f/{i}</link>{entries}"
        "</channel></rss>"
    ).encode()


class Feeds:
    """``sources`` feeds over ``hosts`` loopback addresses (127.0.0.1, .2, ...: the
    fetcher is polite per host name, so one address would serialise a process's crawls).
    ``hold(h)`` decides, per request, whether to wait on ``release`` before answering."""

    def __init__(self, servers: list[Server], sources: int, hold: Callable[[Handler], bool]):
        self.servers = servers
        self.release = threading.Event()
        self.urls = {f"f{i}": servers[i % len(servers)].url(f"/f/{i}.xml") for i in range(sources)}
        for i in range(sources):
            servers[i % len(servers)].routes[f"/f/{i}.xml"] = self._route(i, hold)

    def _route(self, i: int, hold: Callable[[Handler], bool]) -> Callable[[Handler], None]:
        def route(h: Handler) -> None:
            if hold(h):
                self.release.wait(HOLD)
            h.reply(200, rss(i), {"Content-Type": "application/rss+xml; charset=utf-8"})

        return route

    def requests(self) -> list[tuple[str, str, bool]]:
        """(path, user agent, answered) of every feed request, all servers."""
        seen = []
        for server in self.servers:
            with server.log.lock:
                seen += [
                    (r.path, r.headers.get("user-agent", ""), r.ended is not None)
                    for r in server.log.requests
                    if r.path != "/robots.txt"
                ]
        return seen

    def fetched(self, agent: str | None = None) -> Counter[str]:
        return Counter(p for p, a, _ in self.requests() if agent is None or a == agent)

    def held(self, agent: str) -> list[str]:
        return [p for p, a, answered in self.requests() if a == agent and not answered]


@contextmanager
def feeds(sources: int, hosts: int, hold: Callable[[Handler], bool]) -> Iterator[Feeds]:
    with ExitStack() as stack:
        servers = [stack.enter_context(serve(f"127.0.0.{n + 1}")) for n in range(hosts)]
        web = Feeds(servers, sources, hold)
        try:
            yield web
        finally:
            web.release.set()  # before the servers stop: held handlers end


def agent(worker: int) -> str:
    return f"kill-test-{worker}"


def configs(
    tmp: Path, url: str, workers: int, sources: dict[str, str], extra: str = "", network: str = ""
) -> list[Path]:
    """One config per worker; only the user agent differs. ``network``: more [network] keys."""
    hosts = sorted({"127.0.0.1", *(u.split("/")[2].split(":")[0] for u in sources.values())})
    feeds = "".join(
        f'[[sources]]\nname = "{name}"\nkind = "feed"\nurl = "{u}"\ninterval = 3600\n'
        for name, u in sources.items()
    )
    paths = []
    for w in range(workers):
        path = tmp / f"worker{w}.toml"
        path.write_text(
            f'[database]\nurl = "{url}"\n'
            '[runner]\nkind = "cluster"\nconcurrency = 4\nstalled_after = 5\n'
            f'[web]\nsecret_key = "{"s" * 32}"\n'
            f"[network]\nallowed_hosts = {json.dumps(hosts)}\nmin_host_interval = 0.0\n"
            f'user_agent = "{agent(w)}"\n{network}'
            '[crawl]\njitter = 0.0\n[log]\nformat = "json"\n'
            '[[brands]]\nname = "Nordtel"\n[[brands]]\nname = "Teleborg"\n' + extra + feeds
        )
        paths.append(path)
    return paths


def crawled(url: str) -> int:
    return count(url, "SELECT count(*) FROM sources WHERE last_success_at IS NOT NULL")


def stop_all(processes: list[subprocess.Popen[str]], logs: Logs) -> None:
    """SIGTERM the live ones; each must exit 0 without a traceback."""
    alive = [p for p in processes if p.poll() is None]
    for process in alive:
        process.terminate()
    for process in alive:
        assert process.wait(timeout=60) == 0, "".join(logs.raw)[-4000:]
    logs.wait("every log line", lambda: sum("(exited)" in r for r in logs.raw) == len(processes))
    assert "Traceback" not in "".join(logs.raw), "".join(logs.raw)[-4000:]


def assert_posts_stored_once(url: str, sources: int) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            posts, unique = conn.execute(
                sa.text("SELECT count(*), count(DISTINCT canonical_url) FROM posts")
            ).one()
            stored, failing = conn.execute(
                sa.text(
                    "SELECT coalesce(sum(posts_stored), 0), "
                    "count(*) FILTER (WHERE consecutive_failures > 0) FROM sources"
                )
            ).one()
    finally:
        engine.dispose()
    assert posts == unique == stored == sources * ITEMS, (posts, unique, stored)
    assert failing == 0


# --- SIGKILL mid-crawl --------------------------------------------------------------------

SOURCES_KILL = 90


def test_a_killed_process_loses_nothing_its_crawls_are_picked_up(
    tmp_path: Path,
    database: str,
) -> None:
    victim = agent(0)
    before_hold = 4  # the victim's first feeds are answered, the next ones held

    def hold(h: Handler) -> bool:
        # the request is in the log already: the victim's fifth feed on is held
        return h.headers.get("User-Agent") == victim and web.fetched(victim).total() > before_hold

    with feeds(SOURCES_KILL, 6, hold) as web:
        # Held fetches must outlast starting the other two processes (~15 s on two busy
        # cores): a read timeout would record the held crawls as failed, not interrupted.
        slow = f"read_timeout = {HOLD + 30}\ndeadline = {HOLD + 60}\n"
        paths = configs(tmp_path, database, 3, web.urls, network=slow)
        survivors = list(enumerate(paths))[1:]
        logs = Logs()
        # The victim starts alone and holds crawls before the others exist: started
        # together under load, the other two could crawl everything before it got one.
        processes = [start(paths[0], logs, 0, "--no-web", "--no-classify")]
        try:
            logs.wait("the victim holding a crawl", lambda: bool(web.held(victim)))
            processes += [start(p, logs, i, "--no-web", "--no-classify") for i, p in survivors]
            logs.wait(
                "a survivor crawling", lambda: bool(web.fetched(agent(1)) + web.fetched(agent(2)))
            )
            assert crawled(database) < SOURCES_KILL, "killed mid-crawl, not after"
            processes[0].send_signal(signal.SIGKILL)
            processes[0].wait(timeout=30)
            web.release.set()  # its connections are gone; end the handlers
            logs.wait("every source crawled", lambda: crawled(database) == SOURCES_KILL)
            logs.wait("no crawl left", lambda: not crawl_jobs_waiting(database))
        finally:
            stop_all(processes, logs)
    assert processes[0].returncode == -signal.SIGKILL
    assert_stopped_cleanly(database)  # the dead one's jobs failed, its worker rows pruned
    freed = [line for _, line in logs.messages("freed the job of a dead process")]
    assert any(line.get("task") == "stormwatch.crawl" for line in freed), freed

    by_survivors = web.fetched(agent(1)) + web.fetched(agent(2))
    assert set(by_survivors.values()) == {1}, "no survivor fetched a feed twice"
    everything = web.fetched()
    assert set(everything) == {f"/f/{i}.xml" for i in range(SOURCES_KILL)}
    again = {p for p, n in everything.items() if n > 1}
    assert again, "only the victim's crawls are redone"
    assert again <= set(web.fetched(victim)), "only the victim's crawls are redone"
    assert set(everything.values()) == {1, 2}
    assert_posts_stored_once(database, SOURCES_KILL)


def crawl_jobs_waiting(url: str) -> bool:
    query = (
        "SELECT count(*) FROM procrastinate_jobs "
        "WHERE task_name = 'stormwatch.crawl' AND status IN ('todo', 'doing')"
    )
    return bool(count(url, query))


# --- SIGTERM mid-crawl --------------------------------------------------------------------

SOURCES_TERM = 24


def test_sigterm_during_a_crawl_finishes_it_and_a_restart_crawls_the_rest_once(
    tmp_path: Path,
    database: str,
) -> None:
    gate = "/f/5.xml"

    def hold(h: Handler) -> bool:
        return h.path == gate

    with feeds(SOURCES_TERM, 3, hold) as web:
        (config,) = configs(tmp_path, database, 1, web.urls)
        logs = Logs()
        first = start(config, logs, 0, "--no-web", "--no-classify")
        try:
            logs.wait("the gated feed requested", lambda: gate in web.held(agent(0)))
            first.terminate()
            logs.wait(
                "stopping", lambda: bool(logs.messages("stopping: finishing the running jobs"))
            )
            web.release.set()  # the held crawl ends after SIGTERM
            assert first.wait(timeout=60) == 0
        finally:
            if first.poll() is None:
                first.kill()
        assert_stopped_cleanly(database)
        done_before = crawled(database)
        assert gate in {p for p, _, answered in web.requests() if answered}
        assert done_before < SOURCES_TERM, "stopped mid-crawl, with sources left"

        second = start(config, logs, 1, "--no-web", "--no-classify")
        try:
            logs.wait("every source crawled", lambda: crawled(database) == SOURCES_TERM)
            logs.wait("no crawl left", lambda: not crawl_jobs_waiting(database))
        finally:
            stop_all([first, second], logs)
    assert_stopped_cleanly(database)
    crawls = Counter(line["source"] for _, line in logs.messages("crawled"))
    assert crawls["f5"] == 1, "the held crawl was recorded by the first process"
    assert set(web.fetched().values()) == {1}
    assert len(web.fetched()) == SOURCES_TERM
    assert_posts_stored_once(database, SOURCES_TERM)


# --- SIGTERM mid-send ---------------------------------------------------------------------


class HeldReceiver:
    """An HTTP sink that holds the first POST until ``release`` is set."""

    def __init__(self) -> None:
        self.titles: list[str] = []
        self.holding = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Sink(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    first = not receiver.holding.is_set()
                    receiver.holding.set()
                if first:
                    receiver.release.wait(HOLD)
                with receiver.lock:
                    receiver.titles.append(json.loads(body)["title"])
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def delivered(self) -> list[str]:
        with self.lock:
            return list(self.titles)


@contextmanager
def held_receiver() -> Iterator[HeldReceiver]:
    receiver = HeldReceiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        receiver.server.shutdown()
        receiver.server.server_close()


def test_sigterm_during_a_send_records_it_and_a_restart_does_not_send_it_again(
    tmp_path: Path,
    database: str,
) -> None:
    from monitor.pipeline import build_pipeline
    from monitor.settings import load_settings
    from monitor.storage.db import upgrade
    from tests.support.worlds.cluster import PAGES

    with held_receiver() as receiver:
        alerting = (
            f'[[channels]]\nname = "hook"\nurl = "json://127.0.0.1:{receiver.port}/hook"\n'
            '[oncall]\n[[oncall.people]]\nname = "mette"\nchannels = ["hook"]\n'
            '[[oncall.policies]]\nname = "storms"\n'
            '[[oncall.policies.levels]]\npeople = ["mette"]\nwait_minutes = 60\n'
            "[outbox]\nbatch_size = 5\n"
        )
        (config,) = configs(tmp_path, database, 1, {}, alerting)
        engine = build_pipeline(load_settings(config, environ={})).engine
        upgrade(engine)
        write_pages(engine, datetime.now(UTC))
        logs = Logs()
        first = start(config, logs, 0, "--no-web", "--no-classify")
        try:
            logs.wait("a page being sent", receiver.holding.is_set)
            first.terminate()
            logs.wait(
                "stopping", lambda: bool(logs.messages("stopping: finishing the running jobs"))
            )
            receiver.release.set()  # the receiver accepts the held page after SIGTERM
            assert first.wait(timeout=60) == 0
        finally:
            if first.poll() is None:
                first.kill()
        assert_stopped_cleanly(database)
        assert outbox(engine, "sent") >= 1, "the page held across SIGTERM was recorded"
        (held, *_) = receiver.delivered()

        second = start(config, logs, 1, "--no-web", "--no-classify")
        try:
            logs.wait("every page sent", lambda: outbox(engine, "sent") == PAGES)
            after = len(logs.messages("tick"))
            logs.wait("two more ticks", lambda: len(logs.messages("tick")) >= after + 2)
        finally:
            stop_all([first, second], logs)
            engine.dispose()
    titles = Counter(receiver.delivered())
    assert len(titles) == PAGES, titles
    assert set(titles.values()) == {1}, titles
    assert held in titles


def outbox(engine: sa.Engine, status: str) -> int:
    with engine.connect() as conn:
        query = sa.text("SELECT count(*) FROM outbox WHERE status = :status")
        return int(conn.execute(query, {"status": status}).scalar() or 0)
