"""The daemon's tick sends the weekly report when it is due, once, through a real SMTP
server, and keeps the trends rollup current; a report that cannot be sent leaves the
daemon ready (paging does not depend on it)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from monitor.metrics import Metrics
from monitor.pipeline import build_pipeline
from monitor.runner.embedded import EmbeddedRunner
from monitor.settings import Settings, parse_settings
from monitor.storage.db import session_scope, upgrade
from monitor.storage.models import ReportSend, RollupState
from tests.support.servers.ports import closed_port
from tests.support.servers.receivers import SMTP_PASSWORD, SMTP_USER, smtp_server

DUE = datetime(2026, 3, 30, 6, 30, tzinfo=UTC)  # Monday 08:30 CEST, the day after the change


def settings_for(tmp: Path, port: int) -> Settings:
    url = (
        f"mailto://{SMTP_USER}:{SMTP_PASSWORD}@example.com?smtp=127.0.0.1&port={port}"
        "&mode=insecure&from=stormwatch@example.com&to=duty@example.com"
    )
    return parse_settings(
        {
            "database": {"url": f"sqlite:///{tmp}/sw.db"},
            "brands": [{"name": "Nordtel"}],
            "channels": [{"name": "mail", "url": url}],
            "reports": [
                {
                    "name": "weekly",
                    "recipients": ["ceo@example.com"],
                    "channel": "mail",
                    "weekday": "mon",
                    "hour": 8,
                    "timezone": "Europe/Copenhagen",
                }
            ],
        }
    )


def ticks(settings: Settings, moments: list[datetime]) -> EmbeddedRunner:
    app = build_pipeline(settings)
    upgrade(app.engine)
    clock = iter(moments)
    now = [moments[0]]

    def read() -> datetime:
        return now[0]

    metrics = Metrics(app.engine, read)
    daemon = EmbeddedRunner(app, tick=1.0, clock=read, metrics=metrics, classify=False)

    async def run() -> None:
        for moment in clock:
            now[0] = moment
            await daemon.tick()
        await daemon.pipeline.aclose_keeping_engine()

    asyncio.run(run())
    return daemon


def test_the_tick_sends_a_due_report_once(tmp_path: Path) -> None:
    with smtp_server() as mailbox:
        settings = settings_for(tmp_path, mailbox.port)
        daemon = ticks(settings, [DUE - timedelta(hours=1), DUE, DUE + timedelta(minutes=5)])
    assert len(mailbox.messages) == 1
    with session_scope(daemon.pipeline.engine) as session:
        sent = session.exec(select(ReportSend)).all()
        state = session.get(RollupState, "brand_hours")
    assert [(r.report, r.week_start) for r in sent] == [
        ("weekly", datetime(2026, 3, 22, 23, 0, tzinfo=UTC))  # Monday 23 March, 00:00 CET
    ]
    assert state is not None
    # built at the first tick, caught up at the second; the third found nothing and wrote nothing
    assert state.refreshed_at == DUE
    daemon.pipeline.engine.dispose()


def test_a_report_that_cannot_be_sent_leaves_the_daemon_ready(tmp_path: Path) -> None:
    daemon = ticks(settings_for(tmp_path, closed_port()), [DUE])
    daemon.health.started = True
    assert daemon.health.ready(DUE, 1.0) == (True, "ok")
    with session_scope(daemon.pipeline.engine) as session:
        assert session.exec(select(ReportSend)).all() == []
    daemon.pipeline.engine.dispose()
