"""``stormwatch queue ...`` and ``stormwatch incidents ...``: the triage service from the shell.

The same operations as the web UI and the JSON API, through the same service layer
(monitor.queue). ``--by`` names who acts (default: $USER); ``--json`` prints JSON.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from monitor.cli import ConfigOpt, JsonOpt, parse_since, settings_from, user_errors
from monitor.cli import _with_session as with_session
from monitor.cli.output import out, print_json, print_table, utc
from monitor.queue import incidents as incident_service
from monitor.queue import service
from monitor.themes import Theme, incident_themes

queue_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="The flagged-post queue: list, show, triage."
)
incidents_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Complaint storms: list, show, ack, resolve."
)
T = TypeVar("T")

ByOpt = Annotated[str | None, typer.Option("--by", help="Who acts (default: $USER).")]
NoteOpt = Annotated[str | None, typer.Option("--note", help="A note kept in the post's history.")]
PostArg = Annotated[str, typer.Argument(help="Post id.")]
BrandOpt = Annotated[
    str | None,
    typer.Option("--brand", help="The brand (needed when a post is queued for several)."),
]


def _actor(by: str | None) -> str:
    return by or os.environ.get("USER") or "cli"


def _run(config: Path | None, fn: Callable[[Any], T]) -> T:
    with user_errors():
        return with_session(config, fn)


# --- queue -----------------------------------------------------------------------------------


@queue_app.command("list")
def queue_list(
    config: ConfigOpt = None,
    brand: Annotated[str | None, typer.Option(help="Only this brand.")] = None,
    status: Annotated[
        str, typer.Option(help="open | all | new | acknowledged | responded | resolved | dismissed")
    ] = "open",
    lang: Annotated[str | None, typer.Option(help="Only this language (da, sv, nb, ...).")] = None,
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    assignee: Annotated[
        str | None, typer.Option(help="Only posts assigned to this person.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Published since: 2h, 3d or an ISO time.")
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", "-q", help="Words in the title or text.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
    offset: Annotated[int, typer.Option(help="Skip this many (paging).")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Flagged posts, most urgent first."""
    with user_errors():
        flt = service.QueueFilter(
            brand=brand, status=status, lang=lang, source=source, assignee=assignee,
            since=parse_since(since, datetime.now(UTC)), q=search, limit=limit, offset=offset,
        )  # fmt: skip
    page = _run(config, lambda s: service.list_queue(s, flt))
    if as_json:
        for row in page.rows:
            print_json(row.to_dict())
        return
    columns = (
        "post", "brand", "status", "complaint", "lang", "source", "assignee", "title / passage"
    )  # fmt: skip
    rows = [
        [
            r.post_id,
            r.brand,
            r.status,
            f"{r.complaint:.2f}",
            r.lang or "",
            r.source,
            r.assignee or "",
            r.title or r.passage,
        ]
        for r in page.rows
    ]
    print_table(columns, rows, clip={"title / passage": 70})
    out.print(f"{len(page.rows)} of {page.total}")


def _brand_of(config: Path | None, post_id: str, brand: str | None) -> str:
    if brand:
        return brand
    from sqlmodel import col, select

    from monitor.errors import QueueError
    from monitor.storage.models import QueueItem

    def brands(session: Any) -> list[str]:
        return list(session.exec(select(QueueItem.brand).where(col(QueueItem.post_id) == post_id)))

    found = _run(config, brands)
    with user_errors():
        if not found:
            raise QueueError("not_found", f"post {post_id!r} is not in the queue")
        if len(found) > 1:
            raise QueueError(
                "invalid_input", f"post {post_id!r} is queued for {', '.join(found)}: add --brand"
            )
    return found[0]


@queue_app.command("show")
def queue_show(
    post_id: PostArg, brand: BrandOpt = None, config: ConfigOpt = None, as_json: JsonOpt = False
) -> None:
    """One flagged post: text, the passage that flagged it, scores, thread and history."""
    brand = _brand_of(config, post_id, brand)
    detail = _run(config, lambda s: service.get_item(s, post_id, brand))
    if as_json:
        print_json(detail.to_dict(), indent=2)
        return
    row = detail.row
    for key, value in (
        ("post", row.post_id), ("brand", row.brand), ("status", row.status),
        ("assignee", row.assignee or ""), ("source", row.source), ("url", row.url),
        ("complaint", f"{row.complaint:.2f}"), ("relabel", detail.relabel or ""),
    ):  # fmt: skip
        out.print(f"{key:10} {value}")
    out.print(f"\n{row.title or ''}\n{detail.text}\n")
    out.print(f"passage ({detail.passage_source}): {row.passage}")
    for event in detail.history:
        out.print(f"  {utc(event.at)} {event.actor}: {event.action} {event.detail}")


def _act(
    config: Path | None,
    post_id: str,
    brand: str | None,
    action: str,
    by: str | None,
    as_json: bool,
    **kw: Any,
) -> None:
    brand = _brand_of(config, post_id, brand)
    row = _run(
        config,
        lambda s: service.act(s, post_id, brand, action, _actor(by), datetime.now(UTC), **kw),
    )
    if as_json:
        print_json(row.to_dict())
    else:
        out.print(
            f"{row.post_id} ({row.brand}): {row.status}"
            + (f", assigned to {row.assignee}" if row.assignee else "")
        )


@queue_app.command("ack")
def queue_ack(
    post_id: PostArg,
    brand: BrandOpt = None,
    by: ByOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Acknowledge: someone has seen it."""
    _act(config, post_id, brand, "ack", by, as_json)


@queue_app.command("assign")
def queue_assign(
    post_id: PostArg,
    to: Annotated[str, typer.Option("--to", help="Who answers it.")],
    brand: BrandOpt = None,
    by: ByOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Assign to someone (acknowledges a new post)."""
    _act(config, post_id, brand, "assign", by, as_json, assignee=to)


# Closing and reopening take the same arguments and differ only in the action: one
# definition, registered per action (the help text is each command's docstring).
NOTED_ACTIONS = (
    ("respond", "Record that the post was answered (starts nothing; stops the response clock)."),
    ("resolve", "Close: handled."),
    ("dismiss", "Close: nothing to do."),
    ("reopen", "Open a resolved or dismissed post again."),
)


def _register_noted_action(action: str, help_text: str) -> None:
    def command(
        post_id: PostArg,
        brand: BrandOpt = None,
        note: NoteOpt = None,
        by: ByOpt = None,
        config: ConfigOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        _act(config, post_id, brand, action, by, as_json, note=note)

    command.__doc__ = help_text
    command.__name__ = f"queue_{action}"
    queue_app.command(action)(command)


for _action, _help in NOTED_ACTIONS:
    _register_noted_action(_action, _help)


@queue_app.command("note")
def queue_note(
    post_id: PostArg,
    text: Annotated[str, typer.Argument(help="The note.")],
    brand: BrandOpt = None,
    by: ByOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a note to the post's history."""
    _act(config, post_id, brand, "note", by, as_json, note=text)


@queue_app.command("relabel")
def queue_relabel(
    post_id: PostArg,
    label: Annotated[str, typer.Argument(help="complaint | not_complaint")],
    brand: BrandOpt = None,
    by: ByOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Correct the label (used by 'stormwatch classifier train'); not_complaint dismisses."""
    _act(config, post_id, brand, "relabel", by, as_json, label=label)


@queue_app.command("export")
def queue_export(
    config: ConfigOpt = None,
    what: Annotated[str, typer.Argument(help="queue | response-times")] = "queue",
    status: Annotated[str, typer.Option(help="Which posts (queue export).")] = "all",
    since: Annotated[str | None, typer.Option(help="Since: 2h, 3d or an ISO time.")] = None,
) -> None:
    """CSV on stdout: the queue, or time to first response per post."""
    with user_errors():
        start = parse_since(since, datetime.now(UTC))
        if what not in ("queue", "response-times"):
            raise typer.BadParameter("queue or response-times")
    if what == "queue":
        flt = service.QueueFilter(status=status, since=start, limit=service.EXPORT_LIMIT)
        text = _run(config, lambda s: service.queue_csv(s, flt))
    else:
        text = _run(config, lambda s: service.response_times_csv(s, since=start))
    typer.echo(text, nl=False)


# --- incidents -------------------------------------------------------------------------------

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
    views = _run(config, lambda s: incident_service.list_incidents(s, status, brand))
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
    detail = _run(
        config, lambda s: incident_service.get_incident(s, incident_id, datetime.now(UTC))
    )
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
    from classifiers.e5.backend import encoder_from_settings

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
    view = _run(
        config,
        lambda s: incident_service.act(s, incident_id, action, _actor(by), datetime.now(UTC)),
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
