"""The at-least-once window: from a receiver's 2xx to the outbox row marked sent.

A page is sent again only if the sender dies inside this window (the receiver accepted it,
the row does not say so yet). For each of 300 pages (Apprise ``json://`` to a local HTTP
receiver, one drain pass at a time, SQLite WAL as the embedded daemon runs it), the receiver
notes the moment it has written its 200 and the drain notes the moment the row's sent
state is committed; the difference is the window. Measured twice: on a quiet database, and
while another thread writes to the same database the way the crawler does (batches of 500
rows in ``BEGIN IMMEDIATE`` transactions), where the record waits for the write lock.

Run: ``.venv/bin/python benchmarks/outbox_window.py`` (prints median, p95, p99, max in ms).
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import replace  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from typing import Any  # noqa: E402

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import alerts.outbox as outbox  # noqa: E402
from alerts.channels import build_channel  # noqa: E402
from alerts.page import Page, dedup_key_for  # noqa: E402
from monitor.settings import DatabaseSettings  # noqa: E402
from monitor.storage.db import make_engine, upgrade  # noqa: E402

NOW = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
PAGES = 300
answered: dict[str, float] = {}  # idempotency key -> when the receiver had written its 200
recorded: dict[int, float] = {}  # outbox id -> when the drain had committed its outcome


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.wfile.flush()
        answered[self.headers["Idempotency-Key"]] = time.perf_counter()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def timed_record(real: Any) -> Any:
    def record(engine: sa.Engine, claim: Any, *args: Any, **kwargs: Any) -> str:
        outcome = real(engine, claim, *args, **kwargs)
        recorded[claim.id] = time.perf_counter()
        return str(outcome)

    return record


def page(number: int) -> Page:
    return Page(
        incident_id=f"inc-{number}",
        dedup_key=dedup_key_for(f"inc-{number}"),
        step="trigger",
        brand="Nordlys",
        kind="storm",
        severity="critical",
        title="Complaint storm",
        explanation="41 complaints in 2 hours; usually 3.",
        created_at=NOW,
    )


@contextmanager
def crawler_like_writer(engine: sa.Engine) -> Iterator[None]:
    """Another writer on the database: 500-row transactions, back to back."""
    stop = threading.Event()
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS load (id INTEGER PRIMARY KEY, t TEXT)")

    def write() -> None:
        while not stop.is_set():
            with engine.begin() as conn:
                conn.exec_driver_sql(
                    "INSERT INTO load (t) VALUES (?)", [("x" * 400,) for _ in range(500)]
                )

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def run(engine: sa.Engine, url: str, offset: int) -> list[float]:
    channel = build_channel("hook", url)
    with Session(engine) as session, session.begin():
        for n in range(offset, offset + PAGES):
            outbox.enqueue(session, page(n), NOW, channels=["hook"], recipient="mette")
    keys = {}
    with Session(engine) as session:
        for row_id, key in session.execute(sa.select(outbox._OUT.id, outbox._OUT.page)):
            keys[int(row_id)] = replace(Page.from_json(key), recipient="mette")
    answered.clear()
    recorded.clear()
    at = NOW
    while True:
        at += timedelta(seconds=1)
        report = outbox.drain(engine, {"hook": channel}, at)
        if report.claimed == 0:
            break
    windows = []
    for row_id, when in recorded.items():
        key = keys[row_id].idempotency_key
        if key in answered:
            windows.append((when - answered[key]) * 1000)
    return windows


def summary(name: str, samples: list[float]) -> None:
    ordered = sorted(samples)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    print(
        f"{name}: n={len(ordered)} median {statistics.median(ordered):.2f} ms, "
        f"p95 {pct(0.95):.2f}, p99 {pct(0.99):.2f}, max {ordered[-1]:.2f}"
    )


def main() -> None:
    outbox._record = timed_record(outbox._record)  # type: ignore[assignment]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"json://127.0.0.1:{server.server_address[1]}/hook"
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(DatabaseSettings(url=f"sqlite:///{folder}/w.db"))
        upgrade(engine)
        summary("quiet database", run(engine, url, 0))
        with crawler_like_writer(engine):
            summary("with a crawler-like writer", run(engine, url, PAGES))
        engine.dispose()
    server.shutdown()


if __name__ == "__main__":
    main()
