"""A paging process killed with SIGKILL still pages after a restart, exactly once.

The paging process is a real child (``python -m tests.monitor.stages.test_paging_restart
MODE ...``, the ``__main__`` block below) on a SQLite file, killed with SIGKILL at two moments:

1. after it committed the incident's pages to the outbox, before any send (it says
   ``planned`` on stdout and then waits on stdin forever);
2. in the middle of sending: the PagerDuty-shaped receiver holds the first request without
   answering, tells the test it arrived, and the test kills the child then. Its claim
   (lease) stays on the rows; a restart inside the lease sends nothing, one after it sends.

Every page then arrives exactly once (the killed, unanswered request was never accepted).
Time is injected (the child gets ``now`` on its command line); nothing sleeps: the test
waits on the child's output, on events and on process exit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from signal import SIGKILL
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import select

from alerts.store import DeliveryRow, OutboxRow
from monitor.settings import DatabaseSettings
from monitor.stages.page import PagingStage
from monitor.storage.db import make_engine, session_scope
from tests.support.fixtures.clock import T0
from tests.support.paths import REPO
from tests.support.servers.receivers import http_receiver
from tests.support.worlds.paging import Storms, paging_settings, signal

LEASE = timedelta(seconds=60)  # paging_settings' outbox.lease_seconds
WAIT = 120  # seconds: a bound on waiting for the child, never a pause


@dataclass
class Holding:
    """PagerDuty-shaped: 202 for every event, except the first when ``hold_first``."""

    hold_first: bool
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    held: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0


@contextmanager
def pagerduty(hold_first: bool) -> Iterator[Holding]:
    state = Holding(hold_first)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            with state.lock:
                holding = state.hold_first and not state.held
                (state.held if holding else state.accepted).append(body)
            if holding:  # never answered: the sender is killed while waiting for us
                state.arrived.set()
                state.release.wait(WAIT)
                self.close_connection = True
                return
            self.send_response(202)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


def child(mode: str, url: str, people: int, pd: int, now: datetime) -> subprocess.Popen[str]:
    argv = [
        sys.executable,
        "-m",
        "tests.monitor.stages.test_paging_restart",
        mode,
        url,
        str(people),
        str(pd),
    ]
    return subprocess.Popen(
        [*argv, now.isoformat()],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_to_end(mode: str, url: str, people: int, pd: int, now: datetime) -> dict[str, int]:
    proc = child(mode, url, people, pd, now)
    out, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 0, err
    report: dict[str, int] = json.loads(out.splitlines()[-1])
    return report


def kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, SIGKILL)
    proc.communicate(timeout=WAIT)
    assert proc.returncode == -SIGKILL


def outbox(engine: Engine) -> list[OutboxRow]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxRow).order_by(OutboxRow.id)))  # type: ignore[arg-type]


def deliveries(engine: Engine) -> list[DeliveryRow]:
    with session_scope(engine) as session:
        return list(session.exec(select(DeliveryRow)))


def open_storm(engine: Engine) -> str:
    return Storms(engine).signal(signal("Acme", 0, posts=30, observed=30)).id


def test_killed_after_writing_pages_before_sending_sends_once_after_restart(
    sqlite_engine: Engine,
) -> None:
    url = str(sqlite_engine.url)
    incident = open_storm(sqlite_engine)
    with http_receiver() as people, pagerduty(hold_first=False) as pd:
        proc = child("plan-then-hang", url, people.port, pd.port, T0)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "planned"  # committed; now it hangs
        written = outbox(sqlite_engine)
        kill(proc)
        first = run_to_end("step", url, people.port, pd.port, T0 + timedelta(minutes=1))
        again = run_to_end("step", url, people.port, pd.port, T0 + timedelta(minutes=2))
        mette = [h.path for h in people.accepted()]
    assert [(r.step, r.recipient, r.status) for r in written] == [
        ("trigger", "", "pending"),
        ("trigger", "mette", "pending"),
    ]
    assert (first["sent"], again["claimed"]) == (2, 0)
    assert mette == ["/mette"]
    assert [(e["event_action"], e["dedup_key"]) for e in pd.accepted] == [
        ("trigger", f"stormwatch-{incident}")
    ]
    assert all(r.status == "sent" for r in outbox(sqlite_engine))


def test_killed_while_sending_sends_once_after_the_lease(sqlite_engine: Engine) -> None:
    url = str(sqlite_engine.url)
    incident = open_storm(sqlite_engine)
    with http_receiver() as people, pagerduty(hold_first=True) as pd:
        proc = child("step", url, people.port, pd.port, T0)
        assert pd.arrived.wait(WAIT), "the child never reached PagerDuty"
        claimed = outbox(sqlite_engine)  # mid-send: the claim is committed, nothing recorded
        kill(proc)
        pd.release.set()
        inside = run_to_end("step", url, people.port, pd.port, T0 + LEASE - timedelta(seconds=1))
        after = run_to_end("step", url, people.port, pd.port, T0 + LEASE)
        later = run_to_end("step", url, people.port, pd.port, T0 + timedelta(minutes=5))
        mette = [h.path for h in people.accepted()]
    assert {(r.status, r.claimed_until) for r in claimed} == {("pending", T0 + LEASE)}
    assert len(pd.held) == 1, "the first attempt reached PagerDuty and was never answered"
    assert (inside["claimed"], after["sent"], later["claimed"]) == (0, 2, 0)
    assert mette == ["/mette"]
    assert [(e["event_action"], e["dedup_key"]) for e in pd.accepted] == [
        ("trigger", f"stormwatch-{incident}")
    ]
    rows = outbox(sqlite_engine)
    assert all(r.status == "sent" for r in rows)
    assert len(deliveries(sqlite_engine)) == 2, "the killed attempt left no delivery record"


def test_a_page_the_daemon_missed_while_down_is_not_sent_after_the_incident_was_acked(
    sqlite_engine: Engine,
) -> None:
    """Down from before the storm opened until after it was acknowledged: no stale trigger
    or escalation, and no "acknowledged" notice about pages nobody got."""
    storms = Storms(sqlite_engine)
    incident = storms.signal(signal("Acme", 0, posts=30, observed=30))
    storms.decide(incident, "ack", 20)
    with http_receiver() as people:
        stage = PagingStage(paging_settings(sqlite_engine, people.port), sqlite_engine)
        stage.step(T0 + timedelta(minutes=21))
        stage.step(T0 + timedelta(minutes=90))
    assert outbox(sqlite_engine) == []
    assert people.hits == []


def _main(mode: str, url: str, people: str, pd: str, now: str) -> None:
    """The child: a paging process on ``url`` at the injected ``now``."""
    engine = make_engine(DatabaseSettings(url=url))
    stage = PagingStage(paging_settings(url, int(people), int(pd)), engine)
    when = datetime.fromisoformat(now)
    if mode == "plan-then-hang":
        stage.plan(when)
        print("planned", flush=True)
        sys.stdin.read()  # hangs until killed
        return
    report = stage.step(when)
    print(json.dumps({"claimed": report.claimed, "sent": report.sent}), flush=True)


if __name__ == "__main__":
    _main(*sys.argv[1:6])
