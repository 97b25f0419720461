"""When a weekly report is due, and which week it covers. Pure: ``now`` is passed in.

A report is scheduled at ``hour`` on ``weekday`` in its zone, read as a wall-clock time: a
daylight-saving change moves it in UTC, never on the wall. An hour that does not exist that
day (the spring gap) runs at the same wall time before the change, i.e. an hour later on
the wall; an hour that happens twice (autumn) runs at its first occurrence (``fold=0``).
It covers the last complete local Monday-to-Monday week before that moment. A daemon that
was down at the moment still sends within ``CATCH_UP``; later, that week is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from monitor.reports.config import WEEKDAYS, ReportSettings

CATCH_UP = timedelta(days=1)


@dataclass(frozen=True)
class Week:
    """A local Monday-to-Monday week as UTC instants (167 to 169 hours around DST)."""

    start: datetime
    end: datetime
    first_day: date

    def before(self, zone: ZoneInfo) -> Week:
        return week_starting(self.first_day - timedelta(days=7), zone)

    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range(7)]


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def week_starting(monday: date, zone: ZoneInfo) -> Week:
    return Week(local_midnight(monday, zone), local_midnight(monday + timedelta(7), zone), monday)


def week_before(moment: datetime, zone: ZoneInfo) -> Week:
    """The last complete local week (Monday 00:00 to Monday 00:00) before ``moment``."""
    local = moment.astimezone(zone).date()
    this_monday = local - timedelta(days=local.weekday())
    return week_starting(this_monday - timedelta(days=7), zone)


def moment_on(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """``hour`` o'clock on ``day`` on the wall in ``zone``, as UTC (see the module docstring)."""
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)


def last_moment(report: ReportSettings, now: datetime) -> datetime:
    """The latest scheduled moment at or before ``now``."""
    zone, wanted = report.zone, WEEKDAYS.index(report.weekday)
    today = now.astimezone(zone).date()
    for back in range(8):
        day = today - timedelta(days=back)
        if day.weekday() == wanted and (at := moment_on(day, report.hour, zone)) <= now:
            return at
    raise AssertionError("a weekday recurs within eight days")  # pragma: no cover


def due_week(report: ReportSettings, now: datetime) -> Week | None:
    """The week to send now, or None: past the catch-up time of the last moment."""
    at = last_moment(report, now)
    return week_before(at, report.zone) if now - at < CATCH_UP else None
