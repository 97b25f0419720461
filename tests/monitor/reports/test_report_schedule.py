"""When the weekly report is due, across both daylight-saving changes in Copenhagen (the
last Sundays of March and October), and ``[[reports]]`` checked at load with every problem
listed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.errors import ConfigError
from monitor.reports.config import ReportSettings
from monitor.reports.schedule import CATCH_UP, due_week, last_moment
from monitor.settings import parse_settings

CPH = ZoneInfo("Europe/Copenhagen")


def report(weekday: str = "mon", hour: int = 8) -> ReportSettings:
    return ReportSettings(
        name="weekly",
        recipients=["ceo@example.com"],
        channel="mail",
        weekday=weekday,  # type: ignore[arg-type]
        hour=hour,
        timezone="Europe/Copenhagen",
    )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("monday", "moment"),
    [
        (date(2026, 10, 19), utc(2026, 10, 19, 6)),  # 08:00 CEST
        (date(2026, 10, 26), utc(2026, 10, 26, 7)),  # 08:00 CET, the day after the change
        (date(2026, 3, 23), utc(2026, 3, 23, 7)),  # 08:00 CET
        (date(2026, 3, 30), utc(2026, 3, 30, 6)),  # 08:00 CEST, the day after the change
    ],
)
def test_the_hour_stays_on_the_wall_across_a_change(monday: date, moment: datetime) -> None:
    r = report()
    assert last_moment(r, moment) == moment
    assert moment.astimezone(CPH).hour == 8
    earlier = last_moment(r, moment - timedelta(seconds=1)).astimezone(CPH)
    assert (earlier.date(), earlier.hour) == (monday - timedelta(days=7), 8)
    week = due_week(r, moment)
    assert week is not None
    assert week.first_day == monday - timedelta(days=7)
    assert week.end == moment - timedelta(hours=8)  # the local midnight that Monday


def test_the_week_with_the_autumn_change_has_169_hours_and_the_spring_one_167() -> None:
    autumn = due_week(report(), utc(2026, 10, 26, 7))
    spring = due_week(report(), utc(2026, 3, 30, 6))
    assert autumn is not None
    assert spring is not None
    assert autumn.end - autumn.start == timedelta(hours=169)
    assert spring.end - spring.start == timedelta(hours=167)


def test_an_hour_in_the_spring_gap_runs_after_it_and_a_doubled_hour_runs_once() -> None:
    # 02:00 on Sunday 29 March 2026 does not exist in Copenhagen: it runs at 03:00 CEST
    gap = last_moment(report("sun", 2), utc(2026, 3, 29, 12))
    assert gap == utc(2026, 3, 29, 1)
    assert gap.astimezone(CPH).hour == 3
    # 02:00 on Sunday 25 October 2026 happens twice: the first one (CEST, 00:00 UTC)
    doubled = last_moment(report("sun", 2), utc(2026, 10, 25, 12))
    assert doubled == utc(2026, 10, 25, 0)
    moments = {last_moment(report("sun", 2), utc(2026, 10, 25, 0) + timedelta(minutes=m))
                for m in range(0, 180, 10)}  # fmt: skip
    assert moments == {doubled}  # through both 02:xx hours: one moment, so one send


def test_a_daemon_down_at_the_hour_catches_up_within_a_day_then_skips() -> None:
    moment = utc(2026, 10, 26, 7)
    assert due_week(report(), moment + CATCH_UP - timedelta(seconds=1)) is not None
    assert due_week(report(), moment + CATCH_UP) is None


BASE = {
    "brands": [{"name": "Nordtel"}],
    "channels": [
        {"name": "mail", "url": "mailto://u:p@example.com?smtp=127.0.0.1&to=a@example.com"},
        {"name": "hook", "url": "json://127.0.0.1:9/x"},
    ],
}


def test_reports_are_checked_at_load_with_every_problem_listed() -> None:
    bad = [
        {"name": "a", "recipients": ["not-an-address"], "channel": "hook", "weekday": "mon",
         "hour": 25, "timezone": "Europe/Atlantis", "brands": ["Nobody"]},
        {"name": "a", "recipients": ["x@example.com"], "channel": "missing"},
    ]  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        parse_settings({**BASE, "reports": bad})
    problems = caught.value.problems
    expected = [
        "reports.0.brands: unknown brand 'Nobody'",
        "reports.0.channel: 'hook' is not a mailto:// channel",
        "reports.1.name: duplicate name 'a'",
        "reports.1.channel: unknown channel 'missing'",
        "reports.0.hour",
        "reports.0.timezone",
        "reports.0.recipients",
    ]
    for part in expected:
        assert any(part in p for p in problems), (part, problems)
    good = parse_settings({**BASE, "reports": [{"name": "w", "recipients": ["x@example.com"],
                                                "channel": "mail"}]})  # fmt: skip
    assert good.reports[0].weekday == "mon"
    assert good.reports[0].hour == 8
