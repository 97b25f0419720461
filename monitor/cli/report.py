"""``stormwatch report --week``: the weekly report on demand — printed, written as the HTML
e-mail (``--html FILE``), or sent to the report's recipients (``--send``, once per week).

The same report the daemon sends on its schedule (``[[reports]]``, monitor/reports/): the
last complete week before now against the week before, in the report's time zone. Without
a ``[[reports]]`` entry the days are UTC days and every configured brand is reported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alerts.channels import build_channels
from monitor.cli.common import ConfigOpt, JsonOpt, migrated_engine, settings_from, user_errors
from monitor.cli.output import out, print_json
from monitor.clock import utcnow
from monitor.errors import ConfigError
from monitor.reports.config import ReportSettings
from monitor.reports.figures import Tally
from monitor.reports.schedule import week_before
from monitor.reports.send import Mailer, send_report
from monitor.reports.weekly import WeeklyReport, build_report, render_html, render_text
from monitor.settings import Settings
from monitor.storage.db import read_scope

commands = typer.Typer(rich_markup_mode=None)

WeekOpt = Annotated[bool, typer.Option("--week", help="The past week against the week before.")]
BrandOpt = Annotated[list[str], typer.Option("--brand", help="Only this brand (repeatable).")]
HtmlOpt = Annotated[Path | None, typer.Option("--html", help="Write the HTML e-mail here.")]
NameOpt = Annotated[str | None, typer.Option("--report", help="Which [[reports]] entry.")]
SendOpt = Annotated[bool, typer.Option("--send", help="E-mail it (once per report and week).")]


@commands.command("report")
def report(
    config: ConfigOpt = None,
    week: WeekOpt = False,
    brand: BrandOpt = [],  # noqa: B006 (typer reads the default; never mutated)
    html: HtmlOpt = None,
    name: NameOpt = None,
    send: SendOpt = False,
    json_: JsonOpt = False,
) -> None:
    """The weekly report: mentions, complaints, negative share, incidents and answering,
    the past week against the week before (--html FILE, --send)."""
    with user_errors():
        if not week:
            raise ConfigError(["report: say which span: --week (the only one so far)"])
        settings = settings_from(config)
        chosen = _chosen(settings, name)
        brands = brand or chosen.brands or [b.name for b in settings.brands]
        now = utcnow()
        span = week_before(now, chosen.zone)
        engine = migrated_engine(settings)
        try:
            if send:
                result = send_report(engine, _mailer(settings, chosen), chosen, brands, span, now)
                out.print(f"{result.reason}: {chosen.name} for the week of {span.first_day}")
                if result.reason == "failed":
                    raise typer.Exit(1)
                return
            with read_scope(engine) as session:
                built = build_report(session, chosen, brands, span)
        finally:
            engine.dispose()
        if html is not None:
            html.write_text(render_html(built, now), encoding="utf-8")
        if json_:
            print_json(_as_json(built))
        else:
            out.print(render_text(built))


def _chosen(settings: Settings, name: str | None) -> ReportSettings:
    if name is not None:
        found = [r for r in settings.reports if r.name == name]
        if not found:
            raise ConfigError([f"report: no [[reports]] entry named {name!r}"])
        return found[0]
    if settings.reports:
        return settings.reports[0]
    return ReportSettings(name="on-demand", recipients=["nobody@example.invalid"], channel="-")


def _mailer(settings: Settings, report: ReportSettings) -> Mailer:
    channels = build_channels(settings.alerts().channel_pairs())
    channel = channels.get(report.channel)
    if not isinstance(channel, Mailer):
        raise ConfigError([f"reports: {report.name!r} has no e-mail channel to send through"])
    return channel


def _as_json(built: WeeklyReport) -> dict[str, object]:
    return {
        "report": built.name,
        "week": built.week.first_day.isoformat(),
        "brands": {
            b.brand: {
                "this": _tally(b.this.total),
                "before": _tally(b.before.total),
                "incidents": len(b.this.incidents),
            }
            for b in built.brands
        },
    }


def _tally(t: Tally) -> dict[str, object]:
    return {
        "mentions": t.mentions,
        "complaints": t.complaints,
        "share_negative": t.share_negative,
    }
