"""End to end: a complaint storm appears on the local web -> the page reaches a receiver.

The real daemon (``python -m monitor run -c CFG --no-web``: APScheduler, 5 s ticks, the
default e5 model, SQLite in a temp dir, the default detectors) reads three Reddit listings
of the local sample web (monitor.demo.sampleweb), each polled every 60 s (+-10 % jitter, the
default). Its one channel is Apprise ``json://`` to an HTTP receiver in this process that
timestamps every arrival. The daemon's clock is the wall clock.

Setup: one brand per trial (so trials are independent: no incident of an earlier trial is
open for the brand), each with seven days of history published before the daemon starts
(two complaints and two ordinary posts a day in da/sv/nb: the detector's baseline; posts
from before the first crawl are history and never page). The daemon starts, crawls and
classifies that backlog; the trials begin once the first whole 5-minute bucket after the
first crawl (the detectors' cut-over) has started.

A trial: wait a random 0-60 s (so the burst falls at a random phase of the crawl cycle),
then publish 6 complaint posts about the trial's brand, one every 10 s, spread over the
three listings in Danish, Swedish and Norwegian (texts from monitor.demo.scenario).

Start of the clock: the publication of the post that makes the surge detectable, i.e. the
burst post at which the brand's probability-weighted complaint count (the sum of the
daemon's own complaint probabilities for the burst's posts, in publication order) first
reaches the volume detector's ``min_count`` (4): no default detector can fire before that
post exists, so everything after it is Stormwatch's latency (waiting for the next poll of
the source, the tick, classification, detection, the outbox). The clock stops when the
first page naming the brand arrives at the receiver. Also printed: the same from the
first post of the burst (what a manager would call "since it started").

Push mode (``--push``, docs/push.md): the three listings are feeds with ``push = true``
behind a WebSub hub in this process (it serves each listing with a ``Link: rel="hub"``
header, verifies the daemon's subscriptions, and POSTs the signed listing to the daemon's
callback as soon as a post is published); the daemon runs with its web server (the push
endpoint). Polling stays underneath, stretched to ``[push] poll_interval``. The clock
starts and stops as above: what push changes is the wait for the next poll.

Peak RSS is the daemon's VmHWM (/proc/PID/status) with the model loaded, read just before
SIGTERM. Run: ``.venv/bin/python benchmarks/e2e.py [--trials N] [--push] [--json FILE]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/alerts.py would shadow the ``alerts`` package (see benchmarks/alerts.py).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import hashlib  # noqa: E402
import hmac  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from typing import IO, Any  # noqa: E402
from urllib.parse import parse_qs, urlencode  # noqa: E402
from urllib.request import Request as UrlRequest  # noqa: E402
from urllib.request import urlopen  # noqa: E402

from sqlmodel import col, select  # noqa: E402

from monitor.demo.sampleweb import SampleWeb  # noqa: E402
from monitor.demo.sampleweb import urls as web_urls  # noqa: E402
from monitor.demo.scenario import texts_ordinary as ordinary  # noqa: E402
from monitor.demo.scenario.compose import Composer  # noqa: E402
from monitor.demo.scenario.config import write_toml  # noqa: E402
from monitor.demo.scenario.story import slugify  # noqa: E402
from monitor.detect.volume import VolumeConfig  # noqa: E402
from monitor.settings import DatabaseSettings  # noqa: E402
from monitor.storage.db import make_engine, read_scope  # noqa: E402
from monitor.storage.models import Post, Reading  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BRANDS = ("Valtel", "Brovia", "Kystnet", "Telvik", "Sundcom", "Mobira", "Havtel", "Fjeldlink",
          "Norrcom", "Ystelia", "Bjergnet", "Skagtel")  # fmt: skip
SUBREDDITS = {"da": "Denmark", "sv": "sweden", "nb": "norge"}
BURST_LANGS = ("da", "sv", "nb", "da", "sv", "nb")  # one burst: one post per 10 s
BURST_SPACING = 10.0
PHASE_GAP = 60.0  # random wait before a burst: 0..this many seconds
INTERVAL = 60  # seconds between two polls of a source
HISTORY_DAYS = 7
TRIAL_TIMEOUT = 300.0  # seconds from a burst's first post to giving the trial up
BUCKET = 300  # the detectors' 5-minute buckets
MIN_COUNT = VolumeConfig().min_count


# --- the receiver ------------------------------------------------------------------------


class Receiver:
    """Apprise ``json://`` posts: (arrival wall time, body) each."""

    def __init__(self) -> None:
        self.hits: list[tuple[float, str]] = []
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                arrived = time.time()
                with receiver.cond:
                    receiver.hits.append((arrived, body.decode("utf-8", "replace")))
                    receiver.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, brand: str, timeout: float) -> float | None:
        """Arrival time of the first page naming ``brand``, waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [at for at, body in self.hits if brand in body]
                if found:
                    return min(found)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the hub (push mode) ---------------------------------------------------------------------


class Hub:
    """A WebSub hub for the sample web's listings: ``/feed/<sub>`` is the listing with a
    hub Link header, ``/hub`` takes subscriptions (verified at once), ``notify`` POSTs a
    listing, signed, to its subscribers."""

    def __init__(self, web: SampleWeb) -> None:
        self.web = web
        self.subs: dict[str, tuple[str, str]] = {}  # callback -> (topic, secret)
        self.lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                sub = self.path.removeprefix("/feed/")
                if sub not in SUBREDDITS.values():  # robots.txt and the like: nothing here
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = hub.listing(sub)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Link", f'<{hub.url("/hub")}>; rel="hub"')
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                threading.Thread(target=hub.verify, args=(form,), daemon=True).start()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def listing(self, sub: str) -> bytes:
        with urlopen(self.web.base_url + web_urls.reddit_listing(sub, "rss"), timeout=10) as r:
            return bytes(r.read())

    def verify(self, form: dict[str, str]) -> None:
        query = {"hub.mode": "subscribe", "hub.topic": form["hub.topic"],
                 "hub.challenge": secrets.token_hex(8), "hub.lease_seconds": "86400"}  # fmt: skip
        with urlopen(form["hub.callback"] + "?" + urlencode(query), timeout=10) as answer:
            if answer.read().decode() == query["hub.challenge"]:
                with self.lock:
                    self.subs[form["hub.callback"]] = (form["hub.topic"], form["hub.secret"])

    def notify(self, sub: str) -> None:
        topic, body = self.url(f"/feed/{sub}"), self.listing(sub)
        with self.lock:
            targets = [(cb, secret) for cb, (t, secret) in self.subs.items() if t == topic]
        for callback, secret in targets:
            signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            headers = {"Content-Type": "application/rss+xml",
                       "X-Hub-Signature": f"sha256={signature}"}  # fmt: skip
            with urlopen(UrlRequest(callback, data=body, headers=headers), timeout=30) as r:
                r.read()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the daemon's log ----------------------------------------------------------------------


@dataclass
class DaemonLog:
    """The daemon's JSON log lines (stderr and stdout), with the wall time they were read."""

    lines: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    raw_tail: list[str] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def follow(self, stream: IO[str]) -> None:
        for line in stream:
            now = time.time()
            try:
                record = json.loads(line)
            except ValueError:
                record = {"msg": line.rstrip()}
            if not isinstance(record, dict):
                record = {"msg": str(record)}
            with self.cond:
                self.lines.append((now, record))
                self.raw_tail = [*self.raw_tail[-40:], line.rstrip()]
                self.cond.notify_all()

    def wait(self, match: Any, timeout: float, after: float = 0.0) -> float | None:
        """Wall time of the first line (read after ``after``) ``match`` accepts."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for at, record in self.lines:
                    if at >= after and match(record):
                        return at
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def last(self, message: str) -> float | None:
        with self.cond:
            times = [at for at, r in self.lines if r.get("msg") == message]
        return times[-1] if times else None

    def count(self, message: str) -> int:
        with self.cond:
            return sum(1 for _, r in self.lines if r.get("msg") == message)


# --- content ------------------------------------------------------------------------------


@dataclass
class Published:
    key: str
    brand: str
    at: float  # wall time it appeared on the web


class Writer:
    """Posts about a brand on the local Reddit listings (demo texts, brand swapped in)."""

    def __init__(self, web: SampleWeb, seed: int) -> None:
        self.web = web
        self.c = Composer(seed)
        self.counter = 0
        self.lock = threading.Lock()

    hub: Hub | None = None  # push mode: told of every post published during a trial

    def post(self, brand: str, lang: str, mood: str, when: datetime) -> str:
        c = self.c
        with self.lock:
            self.counter += 1
            key = f"e2e{self.counter:05d}"
            if mood == "complaint":
                title, text = c.title(lang), c.complaint(lang)
            elif mood == "praise":
                title, text = c.entry(ordinary.PRAISE, lang)
            else:
                title, text = c.entry(ordinary.QUESTIONS, lang)
            title, text = title.replace("Nordtel", brand), text.replace("Nordtel", brand)
            if brand not in title + text:
                text = f"{brand}: {text}"
            self.web.publish_article(
                f"reddit-{SUBREDDITS[lang].lower()}", key, title, text, published=when,
                author=c.author(lang), lang=lang, slug=slugify(title, "_"),
            )  # fmt: skip
        return key


def seed_history(writer: Writer, brands: Sequence[str], now: datetime, rng: random.Random) -> int:
    """Seven days before ``now``: per brand and day two complaints and two ordinary posts
    at daytime hours (Copenhagen ~ UTC+1)."""
    count = 0
    for brand in brands:
        for days_back in range(HISTORY_DAYS, 0, -1):
            day = (now - timedelta(days=days_back)).replace(hour=0, minute=0, second=0)
            for mood in ("complaint", "complaint", "praise", "question"):
                at = day + timedelta(hours=rng.uniform(6.5, 21.0))
                writer.post(brand, rng.choice(("da", "sv", "nb")), mood, at)
                count += 1
    return count


# --- settings --------------------------------------------------------------------------------


def raw_settings(
    folder: Path, web: SampleWeb, brands: Sequence[str], port: int, hub: Hub | None = None
) -> dict[str, Any]:
    raw = poll_settings(folder, web, brands, port)
    if hub is None:
        return raw
    web_port = free_port()
    raw["sources"] = [
        {"name": f"push-{sub.lower()}", "kind": "feed", "url": hub.url(f"/feed/{sub}"),
         "interval": INTERVAL, "push": True}
        for sub in SUBREDDITS.values()
    ]  # fmt: skip
    raw["web"] |= {"bind": f"127.0.0.1:{web_port}", "public_url": f"http://127.0.0.1:{web_port}"}
    raw["push"] = {"secret": secrets.token_hex(32)}
    return raw


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def poll_settings(folder: Path, web: SampleWeb, brands: Sequence[str], port: int) -> dict[str, Any]:
    sources = [
        {"name": f"reddit-{sub.lower()}", "kind": "reddit",
         "url": web.base_url + web_urls.reddit_listing(sub, "rss"), "interval": INTERVAL}
        for sub in SUBREDDITS.values()
    ]  # fmt: skip
    return {
        "database": {"url": f"sqlite:///{folder / 'e2e.db'}"},
        "network": {"allowed_hosts": ["127.0.0.1"], "min_host_interval": 0.0, "deadline": 10},
        "log": {"format": "json", "level": "info"},
        "web": {"public_url": "http://127.0.0.1:8080", "secret_key": secrets.token_hex(32)},
        "brands": [{"name": b} for b in brands],
        "sources": sources,
        "channels": [{"name": "receiver", "url": f"json://127.0.0.1:{port}/page"}],
        "oncall": {
            "people": [{"name": "duty", "channels": ["receiver"]}],
            "policies": [{"name": "storms", "levels": [{"people": ["duty"]}]}],
        },
    }


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Trial:
    brand: str
    posts: list[Published] = field(default_factory=list)
    arrived: float | None = None
    start: Published | None = None  # the post that made the surge detectable
    weighted: float = 0.0  # the burst's probability-weighted complaints (all posts)


def publish_burst(writer: Writer, trial: Trial) -> None:
    began = time.time()
    for i, lang in enumerate(BURST_LANGS):
        time.sleep(max(0.0, began + i * BURST_SPACING - time.time()))
        now = time.time()
        key = writer.post(trial.brand, lang, "complaint", datetime.fromtimestamp(now, UTC))
        trial.posts.append(Published(key, trial.brand, now))
        if writer.hub is not None:
            writer.hub.notify(SUBREDDITS[lang])


def vm_hwm_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def find_starts(db_url: str, trials: list[Trial]) -> None:
    """From the daemon's own readings: the burst post at which the brand's weighted
    complaint count first reaches MIN_COUNT."""
    engine = make_engine(DatabaseSettings(url=db_url))
    try:
        with read_scope(engine) as session:
            for trial in trials:
                keys = {p.key: p for p in trial.posts}
                rows = session.exec(
                    select(Post.canonical_url, Reading.complaint)
                    .join(Reading, col(Reading.post_id) == col(Post.id))
                    .where(col(Reading.brand) == trial.brand)
                ).all()
                probs: dict[str, float] = {}
                for url, prob in rows:
                    for key in keys:
                        if f"/{key}/" in url:
                            probs[key] = float(prob)
                total = 0.0
                for post in trial.posts:
                    total += probs.get(post.key, 0.0)
                    if trial.start is None and total >= MIN_COUNT:
                        trial.start = post
                trial.weighted = total
    finally:
        engine.dispose()


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def run(trials_n: int, seed: int, push: bool = False) -> dict[str, Any]:
    began = time.perf_counter()
    rng = random.Random(seed)
    brands = [*BRANDS, *(f"Brand{i}tel" for i in range(len(BRANDS), trials_n))][:trials_n]
    receiver = Receiver()
    log = DaemonLog()
    trials = [Trial(b) for b in brands]
    with tempfile.TemporaryDirectory(prefix="stormwatch-e2e-") as tmp, SampleWeb() as web:
        folder = Path(tmp)
        writer = Writer(web, seed)
        seeded = seed_history(writer, brands, datetime.now(UTC), rng)
        hub = Hub(web) if push else None
        raw = raw_settings(folder, web, brands, receiver.port, hub)
        config = folder / "stormwatch.toml"
        write_toml(raw, config)
        cmd = [sys.executable, "-m", "monitor", "run", "-c", str(config)]
        cmd += [] if push else ["--no-web"]
        started = time.time()
        daemon = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert daemon.stdout is not None
        threading.Thread(target=log.follow, args=(daemon.stdout,), daemon=True).start()
        peak_kib: int | None = None
        try:
            ready = log.wait(lambda r: r.get("msg") == "daemon started", 600)
            first = log.wait(lambda r: r.get("msg") == "tick", 300)
            if ready is None or first is None or daemon.poll() is not None:
                raise RuntimeError("daemon did not start:\n" + "\n".join(log.raw_tail))
            print(
                f"daemon up in {ready - started:.0f} s (model loaded), first crawl done "
                f"{first - started:.0f} s after launch; {seeded} history posts",
                file=sys.stderr,
                flush=True,
            )
            # The backlog classified (no 'classified' line for 15 s), and the cut-over:
            # the first whole 5-minute bucket after the first crawl has started.
            cutover = math.ceil(first / BUCKET) * BUCKET + 1
            while True:
                last = log.last("classified") or first
                if time.time() - last >= 15 and time.time() >= cutover:
                    break
                time.sleep(1)
            if hub is not None:
                while len(hub.subs) < len(SUBREDDITS):
                    time.sleep(1)
                writer.hub = hub
            print(
                f"backlog classified; trials start {time.time() - started:.0f} s after launch",
                file=sys.stderr,
                flush=True,
            )
            for i, trial in enumerate(trials):
                if i:
                    time.sleep(rng.uniform(0.0, PHASE_GAP))
                burst = threading.Thread(target=publish_burst, args=(writer, trial))
                burst.start()
                trial.arrived = receiver.wait_for(trial.brand, TRIAL_TIMEOUT)
                burst.join()
                took = (trial.arrived - trial.posts[0].at) if trial.arrived else None
                print(
                    f"trial {i + 1}/{len(trials)} {trial.brand}: "
                    + (f"paged {took:.0f} s after the first post" if took else "no page"),
                    file=sys.stderr,
                    flush=True,
                )
            time.sleep(6)  # the tick after the last page classifies the burst's last posts
            peak_kib = vm_hwm_kib(daemon.pid)
        finally:
            if daemon.poll() is None:
                daemon.send_signal(signal.SIGTERM)
                try:
                    daemon.wait(60)
                except subprocess.TimeoutExpired:
                    daemon.kill()
                    daemon.wait()
            receiver.stop()
            if hub is not None:
                hub.stop()
        find_starts(str(raw["database"]["url"]), trials)
        errors = log.count("stage failed")
    wall = time.perf_counter() - began
    summary = summarize(trials, peak_kib, wall, errors, daemon.returncode)
    return {**summary, "mode": "push (WebSub)" if push else "poll"}


def summarize(
    trials: list[Trial], peak_kib: int | None, wall: float, errors: int, exit_code: int | None
) -> dict[str, Any]:
    paged = [t for t in trials if t.arrived is not None and t.start is not None]
    detect = [t.arrived - t.start.at for t in paged if t.arrived and t.start]
    first = [t.arrived - t.posts[0].at for t in paged if t.arrived]
    ranks = [t.posts.index(t.start) + 1 for t in paged if t.start]
    return {
        "trials": len(trials),
        "paged": len(paged),
        "missed": [t.brand for t in trials if t.arrived is None],
        "latency_s": {
            "median": statistics.median(detect) if detect else None,
            "p95": pct(detect, 0.95) if detect else None,
            "max": max(detect) if detect else None,
            "values": [round(x, 1) for x in detect],
        },
        "from_first_post_s": {
            "median": statistics.median(first) if first else None,
            "p95": pct(first, 0.95) if first else None,
        },
        "start_post_rank": ranks,
        "weighted_complaints": [round(t.weighted, 2) for t in trials],
        "peak_rss_mib": round(peak_kib / 1024, 1) if peak_kib else None,
        "stage_errors": errors,
        "daemon_exit": exit_code,
        "wall_s": round(wall),
        "interval_s": INTERVAL,
        "burst": f"{len(BURST_LANGS)} posts, one per {BURST_SPACING:g} s",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared with other work)",
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6, help="storms, one brand each (>= 5)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--push", action="store_true", help="the listings push (WebSub)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    s = run(max(1, args.trials), args.seed, args.push)
    lat, first = s["latency_s"], s["from_first_post_s"]

    def secs(x: float | None) -> str:
        return "-" if x is None else f"{x:.0f}"

    print("## End to end: complaint storm on the local web -> page at a receiver\n")
    print(f"Mode: {s['mode']}; sources polled every {s['interval_s']} s (push mode: while")
    print(f"not subscribed); burst: {s['burst']}; {s['machine']}.\n")
    print("| measure | median (s) | p95 (s) | N |")
    print("|---|---|---|---|")
    print(
        f"| detectable post -> page | {secs(lat['median'])} | {secs(lat['p95'])} | {s['paged']} |"
    )
    print(
        f"| first post of the burst -> page | {secs(first['median'])} | {secs(first['p95'])} "
        f"| {s['paged']} |"
    )
    print(f"\nPer trial (s): {lat['values']}; detectable at burst post {s['start_post_rank']}")
    if s["missed"]:
        print(f"No page within {TRIAL_TIMEOUT:.0f} s: {', '.join(s['missed'])}")
    print(f"Daemon peak RSS (VmHWM, model loaded): {s['peak_rss_mib']} MiB")
    print(f"Stage errors logged: {s['stage_errors']}; daemon exit code {s['daemon_exit']}")
    print(f"Benchmark wall time: {s['wall_s']} s")
    if args.json:
        Path(args.json).write_text(json.dumps(s, indent=2) + "\n")


if __name__ == "__main__":
    main()
