"""The durable outbox on real SQLite and PostgreSQL, with real local receivers.

Time is injected: "later" is a later ``now`` passed to ``drain``; nothing sleeps.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from alerts.channels import Channel, build_channel
from alerts.config import OutboxConfig
from alerts.oncall import IncidentState, due_steps
from alerts.outbox import cancel_pending, drain, enqueue, enqueue_step, history, outbox_status
from alerts.store import OutboxRow, alert_tables
from monitor.settings import DatabaseSettings
from monitor.storage.db import make_engine
from tests.support.fixtures.clock import T0
from tests.support.fixtures.databases import PG_SKIP, PG_URL
from tests.support.fixtures.oncall import OPENED, oncall_config, policy
from tests.support.fixtures.pages import make_page
from tests.support.paths import REPO
from tests.support.servers.receivers import http_receiver

SETTINGS = OutboxConfig(failures_before_fallback=3, base_backoff_seconds=10, lease_seconds=60)


def no_jitter() -> float:
    return 1.0  # the full exponential delay


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/alerts.db"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, callable]]:  # type: ignore[valid-type]
    """An engine with the outbox tables, and a factory for a second 'process' on the same DB."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path)

        def new_engine() -> Engine:
            return make_engine(DatabaseSettings(url=url))

        engine = new_engine()
        SQLModel.metadata.create_all(engine, tables=alert_tables())
        yield engine, new_engine
        engine.dispose()
        return
    if PG_SKIP:
        pytest.skip(PG_SKIP)
    schema = f"alerts_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))

    def new_pg() -> Engine:
        return sa.create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})

    engine = new_pg()
    SQLModel.metadata.create_all(engine, tables=alert_tables())
    try:
        yield engine, new_pg
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def webhook(port: int, name: str = "hook") -> dict[str, Channel]:
    return {name: build_channel(name, f"json://127.0.0.1:{port}/hook")}


def write(engine: Engine, *pages: object, channels: tuple[str, ...] = ("hook",)) -> None:
    """The incident's transaction: pages written and committed together."""
    with Session(engine) as session, session.begin():
        for page in pages:
            enqueue(session, page, T0, channels=channels)  # type: ignore[arg-type]


def rows(engine: Engine) -> list[OutboxRow]:
    with Session(engine) as session:
        return list(session.scalars(sa.select(OutboxRow).order_by(OutboxRow.id)))  # type: ignore[arg-type]


def test_first_page_arrives_on_the_first_drain(db: tuple[Engine, object]) -> None:
    engine, _ = db
    with http_receiver() as receiver:
        write(engine, make_page())
        report = drain(engine, webhook(receiver.port), T0, settings=SETTINGS)
    assert (report.claimed, report.sent) == (1, 1)
    assert len(receiver.hits) == 1
    [row] = rows(engine)
    assert (row.status, row.sent_via, row.sent_at) == ("sent", "hook", T0)


def test_enqueue_never_commits_and_a_rollback_leaves_nothing(db: tuple[Engine, object]) -> None:
    engine, _ = db
    with Session(engine) as session:
        assert enqueue(session, make_page(), T0, channels=["hook"]).reason == "enqueued"
        assert enqueue(session, make_page(), T0, channels=["hook"]).reason == "already_enqueued"
        session.rollback()
    assert rows(engine) == []
    write(engine, make_page())
    write(engine, make_page())  # the escalation tick running twice
    assert len(rows(engine)) == 1


def test_a_receiver_failing_first_n_requests_gets_exactly_one_page(
    db: tuple[Engine, object],
) -> None:
    engine, _ = db
    with http_receiver(fail_first=2) as receiver:
        write(engine, make_page())
        channels = webhook(receiver.port)
        outcomes = [drain(engine, channels, T0, settings=SETTINGS, rand=no_jitter)]
        assert rows(engine)[0].due_at == T0 + timedelta(seconds=10)
        for seconds in (5, 10, 15, 30, 60, 600):  # later injected times, some too early
            outcomes.append(
                drain(
                    engine,
                    channels,
                    T0 + timedelta(seconds=seconds),
                    settings=SETTINGS,
                    rand=no_jitter,
                )
            )
    assert [o.claimed for o in outcomes] == [1, 0, 1, 0, 1, 0, 0]
    assert len(receiver.accepted()) == 1
    assert len(receiver.hits) == 3
    [(row, deliveries)] = history(engine, "stormwatch-inc-1")
    assert row.status == "sent"
    assert [d.ok for d in deliveries] == [False, False, True]
    assert "503" in deliveries[0].reason


def test_fallback_to_the_next_channel_after_k_failures(db: tuple[Engine, object]) -> None:
    engine, _ = db
    with http_receiver(fail_first=100) as dead, http_receiver() as backup:
        channels = webhook(dead.port, "primary") | webhook(backup.port, "backup")
        write(engine, make_page(), channels=("primary", "backup"))
        now = T0
        for _ in range(3):
            drain(engine, channels, now, settings=SETTINGS, rand=no_jitter)
            now += timedelta(minutes=10)
        stuck = outbox_status(engine, now)
        assert [(s.state, s.channel) for s in stuck] == [("retrying", "backup")]
        assert stuck[0].last_reason.startswith("fallback primary -> backup (3 failures)")
        report = drain(engine, channels, now, settings=SETTINGS)
    assert report.sent == 1
    assert len(backup.hits) == 1
    assert len(dead.hits) == 3
    assert outbox_status(engine, now) == []
    assert rows(engine)[0].sent_via == "backup"


def test_unknown_or_non_retryable_channel_goes_dead_and_is_visible(
    db: tuple[Engine, object],
) -> None:
    engine, _ = db
    write(engine, make_page(), channels=("nowhere",))
    report = drain(engine, {}, T0, settings=SETTINGS)
    assert report.dead == 1
    [stuck] = outbox_status(engine, T0)
    assert stuck.state == "dead"
    assert "unknown_channel" in stuck.last_reason


def test_killed_between_writing_and_sending_still_sends_once_after_restart(
    db: tuple[Engine, object],
) -> None:
    engine, new_engine = db
    write(engine, make_page())  # committed with the incident; the process dies here
    engine.dispose()
    restarted = new_engine()  # type: ignore[operator]
    with http_receiver() as receiver:
        channels = webhook(receiver.port)
        first = drain(restarted, channels, T0 + timedelta(minutes=1), settings=SETTINGS)
        again = drain(restarted, channels, T0 + timedelta(hours=1), settings=SETTINGS)
    assert (first.sent, again.claimed, len(receiver.hits)) == (1, 0, 1)
    restarted.dispose()


def test_a_sender_killed_while_holding_a_claim_is_retried_after_the_lease(
    db: tuple[Engine, object],
) -> None:
    engine, new_engine = db
    write(engine, make_page())
    with pytest.raises(_Killed):  # the process dies mid-send, holding its claim
        drain(engine, {"hook": _Crash()}, T0, settings=SETTINGS)  # type: ignore[dict-item]
    assert rows(engine)[0].claimed_until == T0 + timedelta(seconds=60)
    other = new_engine()  # type: ignore[operator]
    with http_receiver() as receiver:
        channels = webhook(receiver.port)
        during = drain(other, channels, T0 + timedelta(seconds=59), settings=SETTINGS)
        after = drain(other, channels, T0 + timedelta(seconds=60), settings=SETTINGS)
    assert (during.claimed, after.sent, len(receiver.hits)) == (0, 1, 1)
    other.dispose()


class _Crash:
    """A channel whose process 'dies' during send: the claim stays, nothing is recorded."""

    name = "hook"
    masked_url = "crash://"
    schemes = ("crash",)

    def send(self, page: object, now: object) -> object:
        raise _Killed


class _Killed(BaseException):
    pass


def test_concurrent_drains_never_double_send(db: tuple[Engine, object]) -> None:
    engine, new_engine = db
    write(engine, *(make_page(f"inc-{i}") for i in range(20)))
    engines = [new_engine() for _ in range(3)]  # type: ignore[operator]
    with http_receiver() as receiver:
        channels = webhook(receiver.port)
        start = threading.Barrier(len(engines))

        def run(e: Engine) -> None:
            start.wait()
            drain(e, channels, T0, settings=SETTINGS)

        threads = [threading.Thread(target=run, args=(e,)) for e in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        drain(engine, channels, T0, settings=SETTINGS)  # whatever a contended pass skipped
    bodies = [hit.json()["title"] for hit in receiver.hits]
    assert len(bodies) == 20
    assert all(r.status == "sent" for r in rows(engine))
    for e in engines:
        e.dispose()


def test_escalation_end_to_end_and_acknowledgement_cancels_what_is_pending(
    db: tuple[Engine, object],
) -> None:
    engine, _ = db
    oncall, pol = oncall_config(), policy()
    with http_receiver() as receiver:
        channels = {
            name: build_channel(name, f"json://127.0.0.1:{receiver.port}/{name}")
            for name in ("anna-mail", "bo-mail", "dir-mail", "pd", "console")
        }

        def tick(now: object, inc: IncidentState) -> None:
            with Session(engine) as session, session.begin():
                for step in due_steps(pol, inc, now, oncall):  # type: ignore[arg-type]
                    page = make_page("inc-7", step=step.step)
                    enqueue_step(session, step, page, now)  # type: ignore[arg-type]
            drain(engine, channels, now, settings=SETTINGS)  # type: ignore[arg-type]

        inc = IncidentState("inc-7", "Nordlys", "storm", "critical", OPENED)
        tick(OPENED, inc)
        tick(OPENED + timedelta(minutes=14, seconds=59), inc)
        assert [hit.path for hit in receiver.hits] == ["/bo-mail"]
        tick(OPENED + timedelta(minutes=15), inc)
        assert sorted(hit.path for hit in receiver.hits) == ["/bo-mail", "/dir-mail", "/pd"]
        acked = IncidentState(
            "inc-7",
            "Nordlys",
            "storm",
            "critical",
            OPENED,
            acknowledged_at=OPENED + timedelta(minutes=20),
        )
        with Session(engine) as session, session.begin():
            cancel_pending(session, "stormwatch-inc-7", OPENED, "acknowledged")
        tick(OPENED + timedelta(hours=2), acked)
    paths = [hit.path for hit in receiver.hits]
    assert len(paths) == 6
    assert paths.count("/dir-mail") == 2
    steps = {(r.step, r.recipient) for r in rows(engine)}
    assert not any(step.startswith("repeat") for step, _ in steps)
    assert ("acknowledge", "director") in steps


_KILLED_AFTER_THE_200 = """
import os, signal, sys
from datetime import datetime
import alerts.outbox as outbox
from alerts.channels import build_channels
from alerts.config import OutboxConfig
from monitor.settings import DatabaseSettings
from monitor.storage.db import make_engine

url, hook, now = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3])
outbox._record = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
engine = make_engine(DatabaseSettings(url=url))
outbox.drain(engine, build_channels([("hook", hook)]), now, settings=OutboxConfig(lease_seconds=60))
"""


def test_killed_between_the_receivers_200_and_marking_it_sent_the_receiver_sees_one_key(
    db: tuple[Engine, object],
) -> None:
    """kill -9 of a real sender process after the receiver answered 200 and before the
    outbox row says sent: after the lease the page is sent again (at-least-once), with the
    same idempotency key in the header, the JSON body and the text, so a receiver that
    deduplicates by it acts once."""
    engine, _ = db
    with Session(engine) as session, session.begin():
        enqueue(session, make_page(), T0, channels=["hook"], recipient="mette")
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "postgresql":  # the child needs this test's schema too
        with engine.connect() as conn:
            schema = conn.execute(sa.text("SHOW search_path")).scalar_one()
        url += f"?options=-csearch_path%3D{schema}"
    with http_receiver() as receiver:
        hook = f"json://127.0.0.1:{receiver.port}/hook"
        sender = subprocess.run(
            [sys.executable, "-c", _KILLED_AFTER_THE_200, url, hook, T0.isoformat()],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert sender.returncode == -signal.SIGKILL, sender.stderr
        assert len(receiver.hits) == 1
        assert rows(engine)[0].status == "pending"
        channels = webhook(receiver.port)
        again = drain(engine, channels, T0 + timedelta(seconds=60), settings=SETTINGS)
        later = drain(engine, channels, T0 + timedelta(hours=1), settings=SETTINGS)
    assert (again.sent, later.claimed) == (1, 0)
    keys = [hit.headers["idempotency-key"] for hit in receiver.hits]
    assert len(keys) == 2, "sent twice, one key: the receiver acts once"
    assert len(set(keys)) == 1, "sent twice, one key: the receiver acts once"
    for hit in receiver.hits:
        assert hit.json()["idempotency_key"] == keys[0]
        assert f"Delivery key: {keys[0]}" in hit.json()["message"]
    assert keys[0] == replace(make_page(), recipient="mette").idempotency_key
    assert keys[0] != replace(make_page(), recipient="jonas").idempotency_key
    assert keys[0] != replace(make_page(), step="escalate:2", recipient="mette").idempotency_key
