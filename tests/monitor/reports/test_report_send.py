"""The weekly report goes out once per week through a real SMTP server (aiosmtpd): as an
HTML e-mail with a text part, to each recipient; due again it sends nothing, also after a
restart; an SMTP server that is down records nothing, so the next run sends it."""

from __future__ import annotations

import email
import logging
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from alerts.channels import build_channels
from monitor.cli import app
from monitor.clock import utcnow
from monitor.reports.schedule import week_before
from monitor.settings import Settings, parse_settings
from monitor.stages.report import ReportStage
from monitor.storage.db import session_scope
from monitor.storage.models import ReportSend
from tests.support.seeds.queue_seed import SeedPost, seed
from tests.support.servers.ports import closed_port
from tests.support.servers.receivers import SMTP_PASSWORD, SMTP_USER, Mailbox, smtp_server

MONDAY_8 = datetime(2026, 10, 26, 7, 0, tzinfo=UTC)  # 08:00 CET, the day after the change
RECIPIENTS = ["ceo@example.com", "cfo@example.com"]


def settings(engine: Engine | str, port: int) -> Settings:
    url = (
        f"mailto://{SMTP_USER}:{SMTP_PASSWORD}@example.com?smtp=127.0.0.1&port={port}"
        "&mode=insecure&from=stormwatch@example.com&to=duty@example.com"
    )
    return parse_settings(
        {
            "database": {"url": engine if isinstance(engine, str) else str(engine.url)},
            "brands": [{"name": "Nordtel"}, {"name": "Fjordkraft"}],
            "channels": [{"name": "mail", "url": url}],
            "reports": [
                {
                    "name": "weekly",
                    "brands": ["Nordtel"],
                    "recipients": RECIPIENTS,
                    "channel": "mail",
                    "weekday": "mon",
                    "hour": 8,
                    "timezone": "Europe/Copenhagen",
                }
            ],
        }
    )


def stage(engine: Engine, port: int) -> ReportStage:
    conf = settings(engine, port)
    return ReportStage(conf, engine, build_channels(conf.alerts().channel_pairs()))


def messages(mailbox: Mailbox) -> list[Message]:
    return [email.message_from_bytes(m.original_content or b"") for m in mailbox.messages]


def part(message: Message, kind: str) -> str:
    found = next(p for p in message.walk() if p.get_content_type() == kind)
    return str(found.get_payload(decode=True).decode())  # type: ignore[union-attr]


def test_a_report_due_twice_is_sent_once(
    sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    saturday = MONDAY_8 - timedelta(days=2)
    seed(sqlite_engine, [SeedPost("a", "Nordtel er nede", published_at=saturday)], saturday)
    caplog.set_level(logging.DEBUG)
    with smtp_server() as mailbox:
        assert stage(sqlite_engine, mailbox.port).step(MONDAY_8 - timedelta(minutes=1)) == []
        [first] = stage(sqlite_engine, mailbox.port).step(MONDAY_8)
        again = stage(sqlite_engine, mailbox.port)  # a restarted daemon
        later = [again.step(MONDAY_8 + timedelta(minutes=m)) for m in (1, 60, 600)]
    assert first.reason == "sent"
    assert first.week.first_day.isoformat() == "2026-10-19"
    assert [r.reason for rs in later for r in rs] == ["already_sent"] * 3
    got = messages(mailbox)
    assert sorted(m["To"] for m in got) == RECIPIENTS
    assert len({m["Message-ID"] for m in got}) == 2  # one per recipient, stable per week
    for message in got:
        assert message["Subject"] == "Stormwatch weekly: Nordtel, 19 Oct - 25 Oct 2026"
        assert message.get_content_type() == "multipart/alternative"
        assert "mentions 1 (was 0, new)" in part(message, "text/plain")
        html = part(message, "text/html")
        assert "<h2" in html
        assert "Nordtel" in html
    with session_scope(sqlite_engine) as session:
        rows = session.exec(select(ReportSend)).all()
    assert [(r.report, r.week_start, r.recipients) for r in rows] == [
        ("weekly", datetime(2026, 10, 18, 22, 0, tzinfo=UTC), ", ".join(RECIPIENTS))
    ]
    assert SMTP_PASSWORD not in caplog.text


def test_an_smtp_server_that_is_down_records_nothing_and_the_next_run_sends(
    sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    down = stage(sqlite_engine, closed_port())
    [failed] = down.step(MONDAY_8)
    assert failed.reason == "failed"
    assert "smtp" in failed.detail
    assert SMTP_PASSWORD not in failed.detail
    assert SMTP_PASSWORD not in caplog.text
    assert down.step(MONDAY_8 + timedelta(minutes=4)) == []  # not every tick: 5 min later
    assert [r.reason for r in down.step(MONDAY_8 + timedelta(minutes=5))] == ["failed"]
    with smtp_server() as mailbox:
        [sent] = stage(sqlite_engine, mailbox.port).step(MONDAY_8 + timedelta(minutes=6))
    assert sent.reason == "sent"
    assert len(mailbox.messages) == 2


runner = CliRunner()


def test_stormwatch_report_week_prints_writes_html_and_sends_once(
    tmp_path: Path, sqlite_engine: Engine
) -> None:
    week = week_before(utcnow(), settings(sqlite_engine, 1).reports[0].zone)
    at = week.start + timedelta(days=1, hours=12)
    seed(sqlite_engine, [SeedPost("a", "Nordtel er nede", published_at=at)], at)
    with smtp_server() as mailbox:
        config = tmp_path / "sw.toml"
        config.write_text(_toml(str(sqlite_engine.url), mailbox.port))
        shown = runner.invoke(
            app, ["report", "--week", "-c", str(config), "--html", str(tmp_path / "r.html")]
        )
        assert shown.exit_code == 0, shown.output
        assert "mentions 1 (was 0, new)" in shown.stdout
        html = (tmp_path / "r.html").read_text()
        assert html.startswith("<!DOCTYPE html>")  # the template's own comment is not sent
        assert "<h2" in html
        assert mailbox.messages == []  # shown, not sent
        sends = [
            runner.invoke(app, ["report", "--week", "--send", "-c", str(config)]) for _ in "ab"
        ]
    assert [s.stdout.split(":")[0] for s in sends] == ["sent", "already_sent"]
    assert len(mailbox.messages) == 2
    refused = runner.invoke(app, ["report", "-c", str(config)])
    assert refused.exit_code == 1
    assert "--week" in refused.output


def _toml(database: str, port: int) -> str:
    conf = settings(database, port)
    url = conf.channels[0].url.reveal()
    return (
        f'[database]\nurl = "{database}"\n\n'
        '[[brands]]\nname = "Nordtel"\n\n'
        f'[[channels]]\nname = "mail"\nurl = "{url}"\n\n'
        '[[reports]]\nname = "weekly"\nrecipients = ["ceo@example.com", "cfo@example.com"]\n'
        'channel = "mail"\ntimezone = "Europe/Copenhagen"\n'
    )
