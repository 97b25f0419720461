"""The report stage: the weekly reports that are due, sent once each (``[[reports]]``), and
the trends rollup brought up to date (so the trends page's own catch-up is small).

Run by the daemon after each tick's paging; the schedule and the week are decided by
``monitor.reports.schedule`` from ``now``, the once-only by ``report_sends``, so running
it on every tick costs one small query per report while nothing is due.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from monitor.reports.rollup import refresh
from monitor.reports.schedule import due_week
from monitor.reports.send import Mailer, SendResult, send_report
from monitor.settings import Settings
from monitor.storage.db import session_scope

RETRY_AFTER = timedelta(minutes=5)  # a report whose mail server failed waits this long


class ReportStage:
    name = "reports"

    def __init__(self, settings: Settings, engine: Engine, channels: Mapping[str, object]) -> None:
        self.reports = settings.reports
        self.all_brands = [b.name for b in settings.brands]
        self.engine = engine
        # the paging channels that can send e-mail (settings checked the names at load)
        self.mailers: dict[str, Mailer] = {
            name: c for name, c in channels.items() if isinstance(c, Mailer)
        }
        self._failed: dict[str, datetime] = {}  # report -> when its last send failed

    async def run(self, now: datetime) -> list[SendResult]:
        return await asyncio.to_thread(self.step, now)

    def step(self, now: datetime) -> list[SendResult]:
        """The rollup caught up, then every report due at ``now`` and not yet sent."""
        with session_scope(self.engine) as session:
            refresh(session, now)
        results = []
        for report in self.reports:
            week = due_week(report, now)
            mailer = self.mailers.get(report.channel)
            failed = self._failed.get(report.name)
            if week is None or mailer is None or (failed and now - failed < RETRY_AFTER):
                continue
            brands = report.brands or self.all_brands
            result = send_report(self.engine, mailer, report, brands, week, now)
            if result.reason == "failed":
                self._failed[report.name] = now
            else:
                self._failed.pop(report.name, None)
            results.append(result)
        return results
