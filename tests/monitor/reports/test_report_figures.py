"""The weekly report's figures against a hand-built week: the week of Monday 19 October
2026 in Copenhagen, which ends an hour late (summer time ends on Sunday the 25th), against
the week before; posts on both edges, another brand's post, answered and open items."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from alerts.outbox import enqueue
from monitor.queue import service as queue
from monitor.reports.config import ReportSettings
from monitor.reports.schedule import week_before
from monitor.reports.weekly import as_mail, build_report, change, render_html, render_text
from monitor.stages.detect import save_incident
from monitor.storage.db import read_scope, session_scope
from tests.support.fixtures.pages import make_page
from tests.support.seeds.queue_seed import SeedPost, seed
from tests.support.worlds.web import seed_incident

CPH = ZoneInfo("Europe/Copenhagen")
REPORT = ReportSettings(
    name="weekly", recipients=["ceo@example.com"], channel="mail", timezone="Europe/Copenhagen"
)
SENT_AT = datetime(2026, 10, 26, 8, 0, tzinfo=CPH).astimezone(UTC)  # Monday 08:00 CET


def local(day: int, hour: int, minute: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=CPH).astimezone(UTC)


def post(pid: str, at: datetime, complaint: float, **kw: str) -> SeedPost:
    return SeedPost(pid, f"Nordtel {pid}", complaint=complaint, published_at=at, **kw)  # type: ignore[arg-type]


def build_week(engine: Engine) -> None:
    """Each seed call flags its complaints (>= 0.5) at the moment it is given."""
    for flagged_at, posts in [
        (local(13, 10, 5), [post("p1", local(13, 10), 0.9)]),
        (local(18, 23, 35), [post("x0", local(18, 23, 30), 0.9)]),  # Sunday, the week before
        (local(19, 1), [post("a1", local(19, 0, 30), 0.9)]),  # a UTC Sunday, a local Monday
        (local(21, 13, 5), [
            post("a3", local(21, 12), 0.1),  # neither complaint nor negative
            post("a4", local(21, 13), 0.9, source="forum", lang="sv"),
        ]),
        (local(25, 23, 31), [
            post("a2", local(25, 23, 30), 0.4, source="forum", lang="en"),  # negative only
            post("x1", local(26, 0, 30), 0.1),  # the next week
            SeedPost("f1", "Fjordkraft", brand="Fjordkraft", published_at=local(21, 9)),
        ]),
    ]:  # fmt: skip
        seed(engine, posts, flagged_at)
    with session_scope(engine) as session:
        for pid, at in [("p1", local(13, 15, 5)), ("a1", local(19, 3)), ("x0", local(27, 9))]:
            queue.act(session, pid, "Nordtel", "respond", "mia", at, note="Answered.")
        incident = dataclasses.replace(
            seed_incident("Nordtel:storm:20261022T0700Z"), opened_at=local(22, 9)
        )
        save_incident(session, incident, "Nordtel: a storm", local(22, 9))


def test_the_report_covers_the_local_week_before_the_moment_it_is_sent() -> None:
    week = week_before(SENT_AT, CPH)
    assert week.first_day == date(2026, 10, 19)
    assert week.start == datetime(2026, 10, 18, 22, 0, tzinfo=UTC)  # 00:00 CEST
    assert week.end == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)  # 00:00 CET
    assert week.end - week.start == timedelta(hours=169)
    before = week.before(CPH)
    assert (before.first_day, before.end) == (date(2026, 10, 12), week.start)


def test_the_figures_of_a_hand_built_week_against_the_week_before(any_engine: Engine) -> None:
    build_week(any_engine)  # on SQLite and PostgreSQL: the waits are computed in SQL
    with read_scope(any_engine) as session:
        report = build_report(session, REPORT, ["Nordtel"], week_before(SENT_AT, CPH))
    [nordtel] = report.brands
    this, before = nordtel.this, nordtel.before
    assert (this.total.mentions, this.total.complaints, this.total.negative) == (4, 2, 3)
    assert this.total.share_negative == pytest.approx(0.75)
    assert (before.total.mentions, before.total.complaints) == (2, 2)
    days = {d.isoformat(): (t.mentions, t.complaints) for d, t in this.days.items()}
    assert days == {
        "2026-10-19": (1, 1),
        "2026-10-20": (0, 0),
        "2026-10-21": (2, 1),
        "2026-10-22": (0, 0),
        "2026-10-23": (0, 0),
        "2026-10-24": (0, 0),
        "2026-10-25": (1, 0),  # 23:30 CET on the long Sunday is still the 25th
    }
    assert {k: (t.mentions, t.complaints) for k, t in this.by_source.items()} == {
        "blog": (2, 1),
        "forum": (2, 1),
    }
    assert {k: t.mentions for k, t in this.by_lang.items()} == {"da": 2, "sv": 1, "en": 1}
    assert [i.id for i in this.incidents] == ["Nordtel:storm:20261022T0700Z"]
    assert before.incidents == []

    s, ps = this.service, before.service
    assert s is not None
    assert ps is not None
    assert (s.flagged, s.answered, s.median_first_answer) == (2, 1, timedelta(hours=2))
    assert s.within_target == pytest.approx(0.5)  # a1 in 2 h; a4 never
    assert s.open_by_age == {"under 4 h": 0, "4-24 h": 0, "1-3 days": 0, "over 3 days": 2}
    assert (ps.flagged, ps.answered, ps.median_first_answer) == (2, 1, timedelta(hours=5))
    assert ps.within_target == 0  # p1 took 5 h; x0 was answered the week after
    assert ps.open_by_age == {"under 4 h": 1, "4-24 h": 0, "1-3 days": 0, "over 3 days": 0}


def test_the_e_mail_carries_the_same_figures(sqlite_engine: Engine) -> None:
    build_week(sqlite_engine)
    storm = "Nordtel:storm:20261022T0700Z"
    with session_scope(sqlite_engine) as session:  # its first page said nothing, its last what
        for step, themes in [("trigger", ""), ("followup:1", "9 about outage, 3 about billing")]:
            page = make_page(storm, step, themes=themes, created_at=local(22, 9))
            enqueue(session, page, local(22, 9), channels=["mail"], recipient="mette")
    with read_scope(sqlite_engine) as session:
        report = build_report(session, REPORT, ["Nordtel"], week_before(SENT_AT, CPH))
    text = render_text(report)
    assert "mentions 4 (was 2, +100 %)" in text
    assert "complaints 2 (was 2, +0 %)" in text
    assert "negative 75 % (was 100 %)" in text
    assert "Sun 25 Oct: 1 mentions, 0 complaints" in text
    assert "first answer (median) 2.0 h (was 5.0 h); answered within 4.0 h: 50 % (was 0 %)" in text
    assert "open at the week's end: under 4 h: 0, 4-24 h: 0, 1-3 days: 0, over 3 days: 2" in text
    html = render_html(report, SENT_AT)
    assert '<td align="right">4</td><td align="right">2</td>' in html  # mentions row
    assert html.count("height: 8px; width: ") == 14  # mention and complaint bars, 7 days
    assert "Thu 22 Oct 09:00 CEST: volume surge" in html  # the reader's wall clock, not UTC
    assert "Thu 09:00 CEST" in text
    assert "about: 9 about outage, 3 about billing" in text  # the last page's themes
    assert "About: 9 about outage, 3 about billing" in html
    mail = as_mail(report, SENT_AT)
    assert mail.key == "report:weekly:2026-10-19"
    assert mail.subject == "Stormwatch weekly: Nordtel, 19 Oct - 25 Oct 2026"


@pytest.mark.parametrize(
    ("now", "before", "said"),
    [(4, 2, "+100 %"), (1, 4, "-75 %"), (3, 0, "new"), (0, 0, "—"), (None, 2, "—")],
)
def test_change_against_the_week_before(now: float | None, before: float, said: str) -> None:
    assert change(now, before) == said
