"""``stormwatch incidents ...``: complaint storms from the shell — list, show (with the
themes of their posts), acknowledge, resolve.

The same operations as the web UI and the JSON API, through the same service layer
(monitor.queue.incidents). ``--by`` names who acts (default: $USER); ``--json`` prints JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from classifiers.e5.backend import encoder_from_settings
from monitor.cli.common import (
    ByOpt,
    ConfigOpt,
    JsonOpt,
    actor,
    in_session,
    settings_from,
    user_errors,
)
from monitor.cli.output import out, print_json, print_table, utc
from monitor.clock import utcnow
from monitor.queue import incidents as incident_service
from monitor.themes import Theme, incident_themes

incidents_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Complaint storms: list, show, ack, resolve."
)

IncidentArg = Annotated[str, typer.Argument(help="Incident id.")]


@incidents_app.command("list")
def incidents_list(
    config: ConfigOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Resolved ones too.")] = False,
    brand: Annotated[str | None, typer.Option(help="Only this brand.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Open incidents first (newest first); --all includes resolved and history ones."""
    status = "all" if all_ else "open"
    views = in_session(config, lambda s: incident_service.list_incidents(s, status, brand))
    if as_json:
        for v in views:
            print_json(v.to_dict())
        return
    columns = ("id", "brand", "kind", "severity", "status", "opened", "explanation")
    rows = [
        [v.id, v.brand, v.kind, v.severity, v.status, utc(v.opened_at), v.headline] for v in views
    ]
    print_table(columns, rows, clip={"explanation": 80})


ThemesOpt = Annotated[
    bool,
    typer.Option(
        "--themes",
        help="Also group the posts by what they are about (loads the classifier's encoder).",
    ),
]


@incidents_app.command("show")
def incidents_show(
    incident_id: IncidentArg,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    themes: ThemesOpt = False,
) -> None:
    """One incident: explanation, posts, pages sent and history (--themes: what it is about)."""
    detail = in_session(config, lambda s: incident_service.get_incident(s, incident_id, utcnow()))
    found, problem = _themes(config, detail) if themes else ([], "")
    if as_json:
        data = detail.to_dict()
        if themes:
            data["themes"] = None if problem else [t.to_dict() for t in found]
            data["themes_error"] = problem or None
        print_json(data, indent=2)
        return
    v = detail.view
    for key in ("id", "brand", "kind", "severity", "status"):
        out.print(f"{key:16} {getattr(v, key)}")
    for key in ("onset_at", "opened_at"):
        out.print(f"{key:16} {utc(getattr(v, key))}")
    out.print(f"\n{v.explanation}\n")
    for page in detail.pages:
        out.print(
            f"  page {page.step} -> {page.recipient}: {page.status}"
            f" {page.sent_via or ''} {page.last_reason}"
        )
    for event in detail.history:
        out.print(f"  {utc(event.at)} {event.actor}: {event.action} {event.detail}")
    if themes:
        _print_themes(found, problem)


def _themes(
    config: Path | None, detail: incident_service.IncidentDetail
) -> tuple[list[Theme], str]:
    with user_errors():
        settings = settings_from(config)
    return incident_themes(
        detail.posts, detail.view.brand, lambda: encoder_from_settings(settings.classifier)
    )


def _print_themes(found: list[Theme], problem: str) -> None:
    out.print("\nThemes")
    if problem:
        out.print(f"  {problem}")
    for t in found:
        langs = ", ".join(f"{lang} {n}" for lang, n in t.langs.items())
        new = "new: " if t.new else ""
        out.print(f"  {new}{t.summary()} ({t.share:.0%}; {langs}; since {utc(t.first_at)})")
        for lang, words in t.words.items():
            out.print(f"    {lang}: {', '.join(words)}")
        out.print(f"    e.g. {t.representative_id}: {t.representative_text[:160]}")


def _decide(
    config: Path | None, incident_id: str, action: str, by: str | None, as_json: bool
) -> None:
    view = in_session(
        config,
        lambda s: incident_service.act(s, incident_id, action, actor(by), utcnow()),
    )
    if as_json:
        print_json(view.to_dict())
    else:
        out.print(f"{view.id}: {view.status}")


@incidents_app.command("ack")
def incidents_ack(
    incident_id: IncidentArg, by: ByOpt = None, config: ConfigOpt = None, as_json: JsonOpt = False
) -> None:
    """Acknowledge: someone is on it (stops escalation)."""
    _decide(config, incident_id, "ack", by, as_json)


@incidents_app.command("resolve")
def incidents_resolve(
    incident_id: IncidentArg, by: ByOpt = None, config: ConfigOpt = None, as_json: JsonOpt = False
) -> None:
    """Resolve: the storm is over or handled."""
    _decide(config, incident_id, "resolve", by, as_json)
