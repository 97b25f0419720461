"""A kill -9 soak: the real daemon, killed at random moments while a storm is paged.

The real daemon (``python -m monitor run -c CFG --no-web``: the default model, SQLite, the
default detectors) reads three Reddit listings of the local sample web, polled every 15 s,
with seven days of history for three brands (set up as in benchmarks/e2e.py). Two people
are paged through Apprise ``json://`` to a receiver in this process that counts every
request by its ``Idempotency-Key`` header: the duty person at once, the second after one
minute unacknowledged, so escalations fall due while the daemon is being killed.

Once the backlog is classified and the first whole 5-minute bucket after the first crawl
has begun (so the storms fall after the detectors' cut-over on older code too), bursts
about each brand are published (one post every 8 s) while a killer sends SIGKILL to the
daemon after a random 5-40 s of life and starts it again within 0.2-1.5 s, ``--kills``
times (default 12). Then the daemon runs unkilled until every brand has paged (or 5
minutes pass), 90 s more for escalations, and is stopped with SIGTERM.

Printed: kills, posts published and stored (and stored twice), readings, incidents, page
requests, distinct idempotency keys, duplicates by key (requests beyond the first of a
key), outbox rows and rows delivered more than once, seconds from each brand's first
burst post to its first page, and the daemon's exit status.

Run: ``.venv/bin/python benchmarks/kill_soak.py [--kills N] [--seed S]`` (~10 minutes,
~1.1 GB while the model is loaded).
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import collections  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from typing import IO, Any  # noqa: E402

import sqlalchemy as sa  # noqa: E402

from monitor.demo.sampleweb import SampleWeb  # noqa: E402
from monitor.demo.scenario.config import write_toml  # noqa: E402
from monitor.settings import DatabaseSettings  # noqa: E402
from monitor.storage.db import make_engine  # noqa: E402

_spec = importlib.util.spec_from_file_location("e2e", _HERE / "e2e.py")
assert _spec is not None
assert _spec.loader is not None
e2e = importlib.util.module_from_spec(_spec)
sys.modules["e2e"] = e2e  # its dataclasses look their module up
_spec.loader.exec_module(e2e)

BRANDS = ("Valtel", "Brovia", "Kystnet")
BURST_POSTS, BURST_SPACING = 8, 8.0


class KeyedReceiver:
    """Counts page requests by their Idempotency-Key header."""

    def __init__(self) -> None:
        self.keys: collections.Counter[str] = collections.Counter()
        self.bodies: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.keys[self.headers.get("Idempotency-Key", "none")] += 1
                    receiver.bodies.append((time.time(), body.decode("utf-8", "replace")))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def paged(self, brand: str) -> float | None:
        """When the first page naming ``brand`` arrived (None: none yet)."""
        with self.lock:
            return min((at for at, body in self.bodies if brand in body), default=None)


def settings(folder: Path, web: SampleWeb, port: int) -> dict[str, Any]:
    raw: dict[str, Any] = e2e.raw_settings(folder, web, BRANDS, port)
    for source in raw["sources"]:
        source["interval"] = 15
    raw["channels"] = [
        {"name": p, "url": f"json://127.0.0.1:{port}/{p}"} for p in ("mette", "jonas")
    ]
    raw["oncall"] = {
        "people": [{"name": p, "channels": [p]} for p in ("mette", "jonas")],
        "policies": [
            {
                "name": "storms",
                "repeat_limit": 0,
                "levels": [{"people": ["mette"], "wait_minutes": 1}, {"people": ["jonas"]}],
            }
        ],
    }
    raw["outbox"] = {"lease_seconds": 20}
    return raw


class Daemon:
    """The daemon process, restarted after each kill; its log lines kept."""

    def __init__(self, config: Path) -> None:
        self.cmd = [sys.executable, "-m", "monitor", "run", "-c", str(config), "--no-web"]
        self.log = e2e.DaemonLog()
        self.proc: subprocess.Popen[str] | None = None
        self.starts = 0

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.cmd, cwd=e2e.ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.starts += 1
        stream: IO[str] | None = self.proc.stdout
        threading.Thread(target=self.log.follow, args=(stream,), daemon=True).start()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def publish_storms(writer: Any, rng: random.Random, began: dict[str, float]) -> int:
    published = 0
    for brand in BRANDS:
        began[brand] = time.time()
        for _ in range(BURST_POSTS):
            writer.post(brand, rng.choice(("da", "sv", "nb")), "complaint", datetime.now(UTC))
            published += 1
            time.sleep(BURST_SPACING)
    return published


def database_figures(url: str) -> dict[str, int]:
    engine = make_engine(DatabaseSettings(url=url))
    queries = {
        "posts stored": "SELECT count(*) FROM posts",
        "posts stored twice (same URL)": "SELECT count(*) - count(DISTINCT canonical_url) "
        "FROM posts",
        "readings": "SELECT count(*) FROM readings",
        "incidents": "SELECT count(*) FROM incidents",
        "outbox rows": "SELECT count(*) FROM outbox WHERE status != 'inhibited'",
        "outbox rows sent": "SELECT count(*) FROM outbox WHERE status = 'sent'",
        "rows delivered more than once": "SELECT count(*) FROM (SELECT outbox_id FROM "
        "deliveries WHERE ok GROUP BY outbox_id HAVING count(*) > 1)",
    }
    with engine.connect() as conn:
        found = {k: int(conn.execute(sa.text(q)).scalar_one()) for k, q in queries.items()}
    engine.dispose()
    return found


def soak(kills: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    receiver = KeyedReceiver()
    with tempfile.TemporaryDirectory(prefix="stormwatch-soak-") as tmp, SampleWeb() as web:
        folder = Path(tmp)
        writer = e2e.Writer(web, seed)
        history = e2e.seed_history(writer, BRANDS, datetime.now(UTC), rng)
        raw = settings(folder, web, receiver.port)
        config = folder / "stormwatch.toml"
        write_toml(raw, config)
        daemon = Daemon(config)
        daemon.start()
        first = daemon.log.wait(lambda r: r.get("msg") == "tick", 600)
        if first is None:
            raise RuntimeError("daemon did not start:\n" + "\n".join(daemon.log.raw_tail))
        cutover = math.ceil(first / e2e.BUCKET) * e2e.BUCKET + 1  # as before the look-back
        while time.time() - (daemon.log.last("classified") or 0) < 15 or time.time() < cutover:
            time.sleep(1)  # the backlog classified, and the first whole bucket begun
        published: list[int] = []
        began: dict[str, float] = {}
        storms = threading.Thread(
            target=lambda: published.append(publish_storms(writer, rng, began)), daemon=True
        )
        storms.start()
        lives, killed_at = [], []
        for _ in range(kills):
            life = rng.uniform(5.0, 40.0)
            lives.append(life)
            time.sleep(life)
            daemon.kill()
            killed_at.append(time.time())
            time.sleep(rng.uniform(0.2, 1.5))
            daemon.start()
        storms.join()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and None in [receiver.paged(b) for b in BRANDS]:
            time.sleep(2)
        time.sleep(90)  # escalations (1 minute) and the outbox settle
        status = daemon.stop()
        receiver.server.shutdown()
        figures = database_figures(raw["database"]["url"])
    requests = sum(receiver.keys.values())
    return {
        "kills": kills,
        "daemon starts": daemon.starts,
        "lives (s)": f"{min(lives):.1f}-{max(lives):.1f}",
        "pages while kills went on": sum(
            1 for b in BRANDS if (receiver.paged(b) or 1e18) < max(killed_at, default=0)
        ),
        "history posts": history,
        "storm posts published": sum(published),
        **figures,
        "brands paged": sum(receiver.paged(b) is not None for b in BRANDS),
        "first post to page (s)": [_since(began.get(b), receiver.paged(b)) for b in BRANDS],
        "page requests": requests,
        "distinct idempotency keys": len(receiver.keys),
        "duplicates by key": requests - len(receiver.keys),
        "requests without a key": receiver.keys.get("none", 0),
        "SIGTERM exit status": status,
    }


def _since(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else round(end - start, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(soak(args.kills, args.seed), indent=1))


if __name__ == "__main__":
    main()
