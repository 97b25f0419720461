"""Cluster throughput: one ``stormwatch run`` process against three, on a real PostgreSQL.

A local feed server (its own process) serves N feeds spread over H hosts (127.0.0.1 ..
127.0.0.H, all loopback: the fetcher's politeness lock is per host *name*, so ports of one
address would serialise one process's crawls; monitor.fetch), each
answer held ``--delay`` seconds to model network latency, so the work is I/O bound. Each
run gets a fresh database; the sources are written first with ``next_due_at`` far ahead,
the worker processes start (``run --no-web --no-classify``, ``[runner] kind = "cluster"``),
and once every one of them is up every source is made due in one UPDATE: the clock runs
from that UPDATE until every source has ``last_success_at`` (the interval, 3600 s, makes
each due exactly once meanwhile).

Checked from the feed server's request log and the database: no feed fetched twice, every
post stored once (``sources.posts_stored`` sums to the posts table, canonical URLs unique).
Then, with the three processes still running, ``--pages`` pages go into the outbox and a
local receiver checks each is delivered exactly once across the three.

Usage: python benchmarks/cluster.py [--sources 3000] [--hosts 100] [--delay 0.5] [--concurrency 4]
PostgreSQL: STORMWATCH_BENCH_PG (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres);
databases ``sw_bench_<random>`` are created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Run as a script, this folder comes first on sys.path, where alerts.py would shadow the
# alerts package: put the repository root ahead of it (tests/test_layout.py checks).
sys.path.insert(0, str(ROOT))
ADMIN_URL = os.environ.get(
    "STORMWATCH_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
INTERVAL = 3600
DEADLINE = 1800.0  # seconds for one run; only reached when something is broken
TEXTS = [
    "Jeg har ventet i tre uger på at Nordtel sender en tekniker, og kundeservice svarer ikke.",
    "Nordtels app har været nede hele formiddagen, ingen kan se deres regning.",
    "Jag har ringt Nordtel fyra gånger om fakturan och fått fyra olika svar.",
    "Nordtel kom og fikset fiberen på under en time, veldig fornøyd med teknikeren.",
    "Nordtel announced a new mobile plan today with more data for the same price.",
]


# --- the feed server (its own process) ------------------------------------------------------


def feed(i: int, items: int) -> bytes:
    base = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=i)
    entries = "".join(
        f"<item><title>Indlæg {n} om Nordtel (feed {i})</title>"
        f"<link>http://bench.invalid/f/{i}/p/{n}</link><guid>f{i}-p{n}</guid>"
        f"<pubDate>{format_datetime(base + timedelta(minutes=n * 7))}</pubDate>"
        f"<description>{TEXTS[(i + n) % len(TEXTS)]} Sag {i}-{n}.</description></item>"
        for n in range(items)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Feed {i}</title><link>http://bench.invalid/f/{i}</link>{entries}"
        "</channel></rss>"
    ).encode()


async def serve(hosts: int, delay: float, items: int, log_path: str) -> None:
    """``hosts`` addresses 127.0.0.1, 127.0.0.2, ...; ``/f/{i}.xml`` answered after
    ``delay`` seconds; one log line per request (host:port, path, user agent).
    Prints the hosts, one line, then serves until SIGTERM."""
    log = open(log_path, "a", buffering=1)  # noqa: SIM115 - line-buffered for the whole run

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host = "{}:{}".format(*writer.get_extra_info("sockname")[:2])
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                path = head[0].split(" ")[1]
                headers = {k.lower(): v for k, _, v in (h.partition(": ") for h in head[1:]) if v}
                log.write(f"{host} {path} {headers.get('user-agent', '-')}\n")
                await asyncio.sleep(delay)
                if path.startswith("/f/") and path.endswith(".xml"):
                    body = feed(int(path[3:-4]), items)
                    status = "200 OK\r\nContent-Type: application/rss+xml; charset=utf-8"
                else:
                    body, status = b"", "404 Not Found"
                writer.write(
                    f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError, ValueError):
            pass
        finally:
            writer.close()

    servers = [
        await asyncio.start_server(handle, f"127.0.0.{n + 1}", 0, backlog=256) for n in range(hosts)
    ]
    print(" ".join("{}:{}".format(*s.sockets[0].getsockname()[:2]) for s in servers), flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    for server in servers:
        server.close()
    log.close()


@contextmanager
def feed_server(hosts: int, delay: float, items: int, log_path: Path) -> Iterator[list[str]]:
    command = [sys.executable, __file__, "--serve", "--hosts", str(hosts)]
    command += ["--delay", str(delay), "--items", str(items), "--log", str(log_path)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        yield server.stdout.readline().split()
    finally:
        server.terminate()
        server.wait(timeout=30)


def requests(log_path: Path) -> list[tuple[str, str, str]]:
    """(host:port, path, user agent) of every request the feed server saw."""
    rows = []
    for line in log_path.read_text().splitlines():
        host, path, agent = line.split(" ", 2)
        rows.append((host, path, agent))
    return rows


# --- a page receiver (a thread in this process) ---------------------------------------------


class Receiver:
    def __init__(self) -> None:
        self.titles: Counter[str] = Counter()
        self.lock = threading.Lock()

        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.titles[json.loads(body).get("title", "?")] += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- databases, configs and worker processes -------------------------------------------------


@contextmanager
def fresh_database() -> Iterator[str]:
    import sqlalchemy as sa

    name = f"sw_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield sa.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def write_configs(
    tmp: Path, url: str, hosts: list[str], sources: int, workers: int, args: Any, hook: int
) -> list[Path]:
    """One config per worker, the same but for the user agent (the server log tells the
    workers apart)."""
    feeds = "".join(
        f'[[sources]]\nname = "f{i}"\nkind = "feed"\n'
        f'url = "http://{hosts[i % len(hosts)]}/f/{i}.xml"\ninterval = {INTERVAL}\n'
        for i in range(sources)
    )
    allowed = json.dumps(["127.0.0.1", *(h.split(":")[0] for h in hosts)])
    paths = []
    for w in range(workers):
        path = tmp / f"worker{w}.toml"
        path.write_text(
            f'[database]\nurl = "{url}"\n'
            f'[runner]\nkind = "cluster"\nconcurrency = {args.concurrency}\nstalled_after = 30\n'
            f'[web]\nsecret_key = "{"s" * 32}"\n'
            f"[network]\nallowed_hosts = {allowed}\nmin_host_interval = 0.0\n"
            f'concurrency = {max(16, args.concurrency)}\nuser_agent = "bench-worker-{w}"\n'
            '[crawl]\njitter = 0.0\n[log]\nformat = "json"\n'
            '[[brands]]\nname = "Nordtel"\n'
            f'[[channels]]\nname = "hook"\nurl = "json://127.0.0.1:{hook}/hook"\n'
            '[oncall]\n[[oncall.people]]\nname = "mette"\nchannels = ["hook"]\n'
            '[[oncall.policies]]\nname = "storms"\n'
            '[[oncall.policies.levels]]\npeople = ["mette"]\nwait_minutes = 60\n'
            "[outbox]\nbatch_size = 20\n" + feeds
        )
        paths.append(path)
    return paths


def start_worker(config: Path, ready: threading.Event, errors: list[str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "monitor", "run", "-c", str(config)]
    process = subprocess.Popen(
        [*command, "--no-web", "--no-classify", "--tick", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    threading.Thread(target=follow, args=(process.stdout, ready, errors), daemon=True).start()
    return process


def follow(stream: IO[str], ready: threading.Event, errors: list[str]) -> None:
    for line in stream:
        if '"cluster runner started"' in line:
            ready.set()
        elif "Traceback" in line or '"level": "error"' in line or '"level":"error"' in line:
            errors.append(line.strip()[:300])


def wait_for(what: str, done: Any, every: float = 0.2) -> None:
    deadline = time.monotonic() + DEADLINE
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(every)


def scalar(engine: Any, query: str) -> int:
    import sqlalchemy as sa

    with engine.connect() as conn:
        return int(conn.execute(sa.text(query)).scalar() or 0)


# --- one measured run -----------------------------------------------------------------------


def run(workers: int, args: Any, pages: int) -> dict[str, Any]:
    import sqlalchemy as sa

    from monitor.pipeline import build_pipeline
    from monitor.settings import load_settings
    from monitor.storage import repo
    from monitor.storage.db import session_scope, upgrade

    tmp = Path(tempfile.mkdtemp(prefix="sw-cluster-bench-"))
    log_path = tmp / "requests.log"
    receiver = Receiver()
    with (
        fresh_database() as url,
        feed_server(args.hosts, args.delay, args.items, log_path) as hosts,
    ):
        configs = write_configs(tmp, url, hosts, args.sources, workers, args, receiver.port)
        settings = load_settings(configs[0], environ={})
        app = build_pipeline(settings)
        engine = app.engine
        upgrade(engine)
        with session_scope(engine) as session:  # every source known, none due yet
            repo.sync_sources(session, settings, datetime.now(UTC))
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE sources SET next_due_at = now() + interval '1 day'"))
        errors: list[str] = []
        readies = [threading.Event() for _ in range(workers)]
        processes = [start_worker(c, r, errors) for c, r in zip(configs, readies, strict=True)]
        try:
            wait_for("every worker up", lambda: all(r.is_set() for r in readies))
            started = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(sa.text("UPDATE sources SET next_due_at = now()"))
            done = "SELECT count(*) FROM sources WHERE last_success_at IS NOT NULL"
            wait_for("every source crawled", lambda: scalar(engine, done) >= args.sources)
            seconds = time.perf_counter() - started
            delivered = deliver_pages(engine, pages, receiver) if pages else None
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            codes = [process.wait(timeout=120) for process in processes]
        posts = scalar(engine, "SELECT count(*) FROM posts")
        unique = scalar(engine, "SELECT count(DISTINCT canonical_url) FROM posts")
        stored = scalar(engine, "SELECT coalesce(sum(posts_stored), 0) FROM sources")
        failures = scalar(engine, "SELECT count(*) FROM sources WHERE consecutive_failures > 0")
        app.engine.dispose()
    receiver.close()
    seen = requests(log_path)
    fetched = Counter((port, path) for port, path, _ in seen if path != "/robots.txt")
    per_worker = Counter(agent for _, path, agent in seen if path != "/robots.txt")
    return {
        "workers": workers,
        "seconds": seconds,
        "feeds_fetched": len(fetched),
        "fetched_twice": sum(1 for n in fetched.values() if n > 1),
        "robots": sum(1 for _, path, _ in seen if path == "/robots.txt"),
        "per_worker": dict(sorted(per_worker.items())),
        "posts": posts,
        "posts_unique": unique,
        "posts_stored_sum": stored,
        "failing_sources": failures,
        "exit_codes": codes,
        "errors": errors[:5],
        "pages": delivered,
    }


def deliver_pages(engine: Any, pages: int, receiver: Receiver) -> dict[str, Any]:
    """``pages`` pages into the outbox while the workers run; each must arrive once."""
    from sqlmodel import Session

    from alerts.outbox import enqueue
    from alerts.page import Page

    now = datetime.now(UTC)
    started = time.perf_counter()
    with Session(engine) as session, session.begin():
        for n in range(pages):
            page = Page(
                incident_id=f"bench-{n}",
                dedup_key=f"stormwatch-bench-{n}",
                step="trigger",
                brand="Nordtel",
                kind="volume_surge",
                severity="critical",
                title=f"page {n}",
                explanation="a page waiting in the outbox",
                created_at=now,
            )
            enqueue(session, page, now, channels=["hook"], recipient="mette")
    pending = "SELECT count(*) FROM outbox WHERE status <> 'sent'"
    wait_for("every page sent", lambda: scalar(engine, pending) == 0)
    seconds = time.perf_counter() - started
    with receiver.lock:
        titles = Counter(receiver.titles)
    return {
        "pages": pages,
        "delivered": len(titles),
        "twice": sum(1 for n in titles.values() if n > 1),
        "seconds": seconds,
    }


def check(result: dict[str, Any], sources: int, items: int) -> list[str]:
    problems = []
    if result["feeds_fetched"] != sources or result["fetched_twice"]:
        problems.append(f"{result['feeds_fetched']} feeds fetched, {result['fetched_twice']} twice")
    expected = sources * items
    if not result["posts"] == result["posts_unique"] == result["posts_stored_sum"] == expected:
        problems.append(
            f"posts {result['posts']} (unique {result['posts_unique']}, "
            f"stored {result['posts_stored_sum']}, expected {expected})"
        )
    if result["failing_sources"]:
        problems.append(f"{result['failing_sources']} sources failing")
    if result["exit_codes"] != [0] * result["workers"]:
        problems.append(f"exit codes {result['exit_codes']}")
    if result["errors"]:
        problems.append(f"errors logged: {result['errors']}")
    paged = result["pages"]
    if paged and (paged["delivered"] != paged["pages"] or paged["twice"]):
        problems.append(f"pages {paged}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=3000)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--delay", type=float, default=0.5, help="seconds per answer")
    parser.add_argument("--items", type=int, default=5, help="posts per feed")
    parser.add_argument("--concurrency", type=int, default=4, help="[runner] concurrency")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--one-only", action="store_true", help="measure 1 worker only")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--log", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.hosts, args.delay, args.items, args.log))
        return
    one = run(1, args, pages=0)
    if args.one_only:
        print(json.dumps(one | {"sources_per_s": args.sources / one["seconds"]}))
        return
    many = run(args.workers, args, pages=args.pages)
    print(
        f"\n{args.sources} feed sources x {args.items} posts on {args.hosts} hosts "
        f"(127.0.0.1-{args.hosts} on loopback), {args.delay * 1000:.0f} ms per answer, "
        f"[runner] concurrency {args.concurrency}; PostgreSQL local; "
        f"{os.cpu_count()} cores shared by the workers, PostgreSQL and the feed server\n"
    )
    print("| workers | seconds | sources/s | feeds fetched (twice) | posts stored | robots.txt |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in (one, many):
        print(
            f"| {r['workers']} | {r['seconds']:.1f} | {args.sources / r['seconds']:.0f} "
            f"| {r['feeds_fetched']} ({r['fetched_twice']}) | {r['posts']} | {r['robots']} |"
        )
    ratio = one["seconds"] / many["seconds"]
    verdict = "PASS" if ratio >= 2.5 else "FAIL"
    print(f"\n{args.workers} workers vs 1: {ratio:.2f}x throughput (target >= 2.5x): {verdict}")
    print(f"feeds per worker ({args.workers} workers): {many['per_worker']}")
    paged = many["pages"]
    print(
        f"pages: {paged['delivered']}/{paged['pages']} delivered, {paged['twice']} twice, "
        f"{paged['seconds']:.1f} s across {args.workers} workers"
    )
    problems = [f"1 worker: {p}" for p in check(one, args.sources, args.items)]
    problems += [f"{args.workers} workers: {p}" for p in check(many, args.sources, args.items)]
    print("correctness: " + ("PASS" if not problems else "FAIL: " + "; ".join(problems)))
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
