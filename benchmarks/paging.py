"""Alert latency and outbox throughput against a local webhook receiver.

1. Latency: for each of 100 incidents, commit the page row in the incident's transaction,
   then run one drain pass (the daemon drains right after committing), and time until the
   receiver has the request. Prints median and p95 in milliseconds.
2. Drain rate: enqueue 500 pages in one transaction, drain them, print pages/second.

Both on SQLite (WAL, the embedded default) in a temp dir, channel = Apprise ``json://``.
Run: ``.venv/bin/python benchmarks/paging.py`` (not ``alerts.py``: a script of that name
would shadow the ``alerts`` package for anything it imports).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alerts.channels import build_channel
from alerts.outbox import drain, enqueue
from alerts.page import Page, PostRef, dedup_key_for
from alerts.store import alert_tables

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
arrivals: dict[str, float] = {}


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        arrivals[body.split(b"Incident: ", 1)[1].split(b" ", 1)[0].decode()] = time.perf_counter()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def page(incident_id: str) -> Page:
    return Page(
        incident_id=incident_id,
        dedup_key=dedup_key_for(incident_id),
        step="trigger",
        brand="Nordlys",
        kind="storm",
        severity="critical",
        title="Complaint storm",
        explanation="41 complaints in 2 hours; usually 3.",
        created_at=NOW,
        top_posts=(PostRef("Dobbelt regning", "https://forum.example/t/1", "..."),),
    )


def engine_in(folder: str) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{folder}/bench.db")
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    SQLModel.metadata.create_all(engine, tables=alert_tables())
    return engine


def latency(engine: sa.Engine, channels: dict[str, Any], count: int = 100) -> list[float]:
    samples = []
    for number in range(count):
        incident = f"lat-{number}"
        started = time.perf_counter()
        with Session(engine) as session, session.begin():  # the incident's transaction
            enqueue(session, page(incident), NOW, channels=["hook"])
        drain(engine, channels, NOW)
        samples.append((arrivals[incident] - started) * 1000)
    return samples


def drain_rate(engine: sa.Engine, channels: dict[str, Any], count: int = 500) -> float:
    with Session(engine) as session, session.begin():
        for number in range(count):
            enqueue(session, page(f"rate-{number}"), NOW, channels=["hook"])
    started = time.perf_counter()
    sent = 0
    while sent < count:
        sent += drain(engine, channels, NOW).sent
    return count / (time.perf_counter() - started)


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    channels = {"hook": build_channel("hook", f"json://127.0.0.1:{server.server_address[1]}/")}
    with tempfile.TemporaryDirectory() as folder:
        engine = engine_in(folder)
        samples = sorted(latency(engine, channels))
        p95 = samples[int(len(samples) * 0.95) - 1]
        print(
            f"enqueue->arrival over {len(samples)} incidents: "
            f"median {statistics.median(samples):.1f} ms, p95 {p95:.1f} ms"
        )
        print(f"outbox drain rate: {drain_rate(engine, channels):.0f} pages/s (500 pages)")
        engine.dispose()
    server.shutdown()


if __name__ == "__main__":
    main()
