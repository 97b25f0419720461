"""Sending a weekly report once per report and week.

The send is recorded in ``report_sends`` after the SMTP server accepted it; a run that
finds the row sends nothing (``already_sent``). A crash between the server's acceptance
and the row would send the report again on the next run; its Message-ID is the same
(report, week, recipient), so a mail system that deduplicates keeps one. Recording first
and sending after would lose the report instead: a week's report is worth a rare copy.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from alerts.channels.base import Delivery
from alerts.channels.email import Mail
from monitor.reports.config import ReportSettings
from monitor.reports.schedule import Week
from monitor.reports.weekly import as_mail, build_report
from monitor.storage.db import read_scope, session_scope
from monitor.storage.models import ReportSend

log = logging.getLogger("stormwatch.reports")

SendReason = Literal["sent", "already_sent", "failed"]


@runtime_checkable
class Mailer(Protocol):
    """An e-mail channel (``alerts.channels.apprise_channel.AppriseChannel``)."""

    def send_mail(self, mail: Mail, recipients: Sequence[str], now: datetime) -> Delivery: ...


@dataclass(frozen=True)
class SendResult:
    report: str
    week: Week
    reason: SendReason
    detail: str = ""


def was_sent(engine: Engine, name: str, week: Week) -> bool:
    with read_scope(engine) as session:
        query = sa.select(col(ReportSend.id)).where(
            col(ReportSend.report) == name, col(ReportSend.week_start) == week.start
        )
        return session.execute(query).first() is not None


def send_report(
    engine: Engine,
    mailer: Mailer,
    report: ReportSettings,
    brands: list[str],
    week: Week,
    now: datetime,
) -> SendResult:
    """Build and send ``report`` for ``week`` unless it was sent; record a send."""
    if was_sent(engine, report.name, week):
        return _logged(SendResult(report.name, week, "already_sent"))
    with read_scope(engine) as session:
        mail = as_mail(build_report(session, report, brands, week), now)
    delivery = mailer.send_mail(mail, report.recipients, now)
    if not delivery.ok:
        return _logged(SendResult(report.name, week, "failed", delivery.reason))
    try:
        with session_scope(engine) as session:
            recipients = ", ".join(report.recipients)
            session.add(ReportSend(report=report.name, week_start=week.start, sent_at=now,
                                   recipients=recipients))  # fmt: skip
    except sa.exc.IntegrityError:  # another process recorded it meanwhile
        return _logged(SendResult(report.name, week, "already_sent"))
    return _logged(SendResult(report.name, week, "sent"))


def _logged(result: SendResult) -> SendResult:
    extra = {"report": result.report, "week": result.week.first_day.isoformat()}
    if result.reason == "failed":
        log.warning("report not sent", extra={**extra, "reason": result.detail})
    else:
        log.info("report", extra={**extra, "reason": result.reason})
    return result
