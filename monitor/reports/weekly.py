"""The weekly report: each brand's past week against the week before, as an HTML e-mail
with inline charts and a plain-text part.

Charts are bars drawn with table cells of a given width, not SVG or images: mail clients
(Gmail, Outlook) drop inline SVG and block remote images, while table widths render
everywhere. The HTML is a Jinja template with autoescape on (source names and brands come
from configuration and crawled pages).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import jinja2
from sqlmodel import Session

from alerts.channels.email import Mail
from monitor.reports.config import ReportSettings
from monitor.reports.figures import BrandFigures, Tally, brand_figures
from monitor.reports.schedule import Week

BAR_WIDTH = 240  # pixels for the largest value of a chart


@dataclass(frozen=True)
class BrandWeek:
    brand: str
    this: BrandFigures
    before: BrandFigures


@dataclass(frozen=True)
class WeeklyReport:
    name: str
    week: Week
    previous: Week
    timezone: str
    brands: list[BrandWeek]

    @property
    def key(self) -> str:
        """Names this report for this week for good (its sends, its Message-ID)."""
        return f"report:{self.name}:{self.week.first_day.isoformat()}"

    def subject(self) -> str:
        names = ", ".join(b.brand for b in self.brands) or "no brands"
        last = self.week.first_day + timedelta(days=6)
        return f"Stormwatch weekly: {names}, {self.week.first_day:%d %b} - {last:%d %b %Y}"


def build_report(
    session: Session, report: ReportSettings, brands: list[str], week: Week
) -> WeeklyReport:
    """The figures of ``brands`` for ``week`` and the week before."""
    zone, target = report.zone, timedelta(hours=report.answer_target_hours)
    previous = week.before(zone)
    found = [
        BrandWeek(
            brand,
            brand_figures(session, brand, week.start, week.end, zone, target),
            brand_figures(session, brand, previous.start, previous.end, zone, target),
        )
        for brand in brands
    ]
    return WeeklyReport(report.name, week, previous, report.timezone, found)


def change(now: float | None, before: float | None) -> str:
    """``+12 %``, ``-3 %``, ``new`` or ``—``: this week against the week before."""
    if now is None or before is None:
        return "—"
    if before == 0:
        return "—" if now == 0 else "new"
    return f"{(now - before) / before * 100:+.0f} %"


def bar(value: float, largest: float) -> int:
    """A bar's width in pixels (at least 1 for any non-zero value, so it shows)."""
    if largest <= 0 or value <= 0:
        return 0
    return max(1, round(BAR_WIDTH * value / largest))


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("monitor.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(change=change, bar=bar, pct=_pct, hours=_hours)
    return env


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def _hours(value: timedelta | None) -> str:
    if value is None:
        return "—"
    minutes = round(value.total_seconds() / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def local(report: WeeklyReport, at: datetime) -> datetime:
    """`at` on the report's wall clock: its reader lives in its zone, not in UTC."""
    return at.astimezone(ZoneInfo(report.timezone))


def render_html(report: WeeklyReport, now: datetime) -> str:
    return (
        _env()
        .get_template("email_weekly.html")
        .render(r=report, now=local(report, now), local=lambda at: local(report, at))
    )


def render_text(report: WeeklyReport) -> str:
    """The plain-text part: the same figures, one line each."""
    lines = [report.subject(), ""]
    for b in report.brands:
        t, p = b.this.total, b.before.total
        lines.append(f"{b.brand}")
        lines += [f"  {line}" for line in _tally_lines(t, p)]
        for day, tally in b.this.days.items():
            lines.append(
                f"  {day:%a %d %b}: {tally.mentions} mentions, {tally.complaints} complaints"
            )
        s, ps = b.this.service, b.before.service
        if s is not None and ps is not None:
            lines.append(
                f"  first answer (median) {_hours(s.median_first_answer)} "
                f"(was {_hours(ps.median_first_answer)}); answered within "
                f"{_hours(s.target)}: {_pct(s.within_target)} (was {_pct(ps.within_target)})"
            )
            ages = ", ".join(f"{k}: {v}" for k, v in s.open_by_age.items())
            lines.append(f"  open at the week's end: {ages}")
        lines.append(f"  incidents: {len(b.this.incidents)} (was {len(b.before.incidents)})")
        for i in b.this.incidents:
            lines.append(f"    {local(report, i.opened_at):%a %H:%M %Z} {i.kind} {i.severity}")
            if i.about:
                lines.append(f"      about: {i.about}")
        lines.append("")
    return "\n".join(lines)


def _tally_lines(t: Tally, p: Tally) -> list[str]:
    return [
        f"mentions {t.mentions} (was {p.mentions}, {change(t.mentions, p.mentions)})",
        f"complaints {t.complaints} (was {p.complaints}, {change(t.complaints, p.complaints)})",
        f"negative {_pct(t.share_negative)} (was {_pct(p.share_negative)})",
    ]


def as_mail(report: WeeklyReport, now: datetime) -> Mail:
    return Mail(report.subject(), render_text(report), render_html(report, now), report.key)
