"""Alert latency and outbox throughput against a local webhook receiver.

1. Incident-to-page: for each of 100 storms, commit the incident row the way the detect
   stage does (``monitor.stages.detect.save_incident``), then run one paging tick
   (``PagingStage.step``: plan from the incidents table, write the outbox, drain), and time
   until the receiver has the request. 20 other open, acknowledged incidents are planned
   on every tick too (a busy day). Prints median and p95 in ms, and the median plan time.
2. Outbox only: commit a page row in the incident's transaction, one drain pass, time to
   arrival (what the outbox itself adds). Median and p95 in ms over 100 pages.
3. Drain rate: enqueue 500 pages in one transaction, drain them, print pages/second.

All on SQLite (WAL, the embedded default; migrated schema) in a temp dir, channel = Apprise
``json://`` to a local HTTP sink. Time is injected into the stage; wall time is measured.

Run: ``.venv/bin/python benchmarks/alerts.py``. This file is named like the ``alerts``
package: run as a script, its own folder would come first on ``sys.path`` and shadow the
package (and ``benchmarks/queue.py`` would shadow the standard library's ``queue``), so it
takes its folder off ``sys.path`` before importing anything else.
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
from datetime import UTC, datetime, timedelta  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from typing import Any  # noqa: E402

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from alerts.channels import Channel, build_channel  # noqa: E402
from alerts.outbox import drain, enqueue  # noqa: E402
from alerts.page import Page, PostRef, dedup_key_for  # noqa: E402
from monitor.detect.events import Signal  # noqa: E402
from monitor.detect.incidents import IncidentBook  # noqa: E402
from monitor.settings import DatabaseSettings, Settings, parse_settings  # noqa: E402
from monitor.stages.detect import save_incident  # noqa: E402
from monitor.stages.page import PagingStage  # noqa: E402
from monitor.storage.db import make_engine, session_scope, upgrade  # noqa: E402
from monitor.storage.models import IncidentRow  # noqa: E402

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
INCIDENTS, PAGES, BACKGROUND = 100, 500, 20
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


def settings_for(url: str, port: int) -> Settings:
    return parse_settings(
        {
            "database": {"url": url},
            "web": {"public_url": "http://127.0.0.1:8080", "secret_key": "b" * 32},
            "channels": [{"name": "hook", "url": f"json://127.0.0.1:{port}/"}],
            "oncall": {
                "people": [{"name": "duty", "channels": ["hook"]}],
                "policies": [{"name": "all", "levels": [{"people": ["duty"]}]}],
            },
        }
    )


def storm(brand: str, at: datetime) -> Signal:
    return Signal(
        kind="volume_surge",
        brand=brand,
        severity="critical",
        reason="volume_surge",
        at=at,
        window_start=at - timedelta(hours=1),
        window_end=at,
        observed=41.0,
        expected=3.0,
        ratio=13.7,
        post_ids=tuple(f"{brand}-{n}" for n in range(41)),
    )


def save(engine: sa.Engine, book: IncidentBook, signal: Signal) -> str:
    incident = book.apply(signal, signal.at).incident
    with session_scope(engine) as session:  # the detect stage's transaction
        save_incident(session, incident, f"{signal.brand}: 41 complaints in 1 h", signal.at)
    return incident.id


def resolve(engine: sa.Engine, incident_id: str, at: datetime) -> None:
    with session_scope(engine) as session:
        row = session.get(IncidentRow, incident_id)
        assert row is not None
        row.status, row.resolved_at = "resolved", at
        session.add(row)


def incident_to_page(engine: sa.Engine, stage: PagingStage) -> tuple[list[float], list[float]]:
    book = IncidentBook()
    for number in range(BACKGROUND):  # open, paged, acknowledged: planned on every tick
        incident_id = save(engine, book, storm(f"Busy{number}", NOW - timedelta(days=1)))
        with session_scope(engine) as session:
            row = session.get(IncidentRow, incident_id)
            assert row is not None
            row.status, row.acknowledged_at = "acknowledged", NOW - timedelta(days=1)
            session.add(row)
    stage.step(NOW)
    samples, plans = [], []
    for number in range(INCIDENTS):
        now = NOW + timedelta(days=2 * number, hours=1)  # the last one resolved over a day ago
        started = time.perf_counter()
        incident_id = save(engine, book, storm(f"Brand{number}", now))
        planned = time.perf_counter()
        stage.plan(now)
        plans.append((time.perf_counter() - planned) * 1000)
        stage.send(now)
        samples.append((arrivals[incident_id] - started) * 1000)
        resolve(engine, incident_id, now + timedelta(minutes=1))
        stage.step(now + timedelta(minutes=1))  # its resolve notice, outside the timing
    return samples, plans


def outbox_latency(engine: sa.Engine, channels: dict[str, Channel]) -> list[float]:
    samples = []
    for number in range(INCIDENTS):
        incident = f"lat-{number}"
        started = time.perf_counter()
        with Session(engine) as session, session.begin():  # the incident's transaction
            enqueue(session, page(incident), NOW, channels=["hook"])
        drain(engine, channels, NOW)
        samples.append((arrivals[incident] - started) * 1000)
    return samples


def drain_rate(engine: sa.Engine, channels: dict[str, Channel]) -> float:
    with Session(engine) as session, session.begin():
        for number in range(PAGES):
            enqueue(session, page(f"rate-{number}"), NOW, channels=["hook"])
    started = time.perf_counter()
    sent = 0
    while sent < PAGES:
        sent += drain(engine, channels, NOW).sent
    return PAGES / (time.perf_counter() - started)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    channels = {"hook": build_channel("hook", f"json://127.0.0.1:{port}/")}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        engine = make_engine(DatabaseSettings(url=url))
        upgrade(engine)
        stage = PagingStage(settings_for(url, port), engine)
        samples, plans = incident_to_page(engine, stage)
        print(
            f"incident->page over {len(samples)} storms ({BACKGROUND} other open incidents): "
            f"median {statistics.median(samples):.1f} ms, p95 {p95(samples):.1f} ms "
            f"(plan step median {statistics.median(plans):.1f} ms)"
        )
        samples = outbox_latency(engine, channels)
        print(
            f"outbox enqueue->arrival over {len(samples)} pages: "
            f"median {statistics.median(samples):.1f} ms, p95 {p95(samples):.1f} ms"
        )
        print(f"outbox drain rate: {drain_rate(engine, channels):.0f} pages/s ({PAGES} pages)")
        engine.dispose()
    server.shutdown()


if __name__ == "__main__":
    main()
