"""``stormwatch queue ...``: the flagged-post queue from the shell.

The same operations as the web UI and the JSON API, through the same service layer
(monitor.queue). ``--by`` names who acts (default: $USER); ``--json`` prints JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import Session, col, select

from monitor.cli.common import ByOpt, ConfigOpt, JsonOpt, actor, in_session, user_errors
from monitor.cli.output import out, print_json, print_table, utc
from monitor.clock import parse_since, utcnow
from monitor.errors import QueueError
from monitor.queue import service
from monitor.storage.models import QueueItem

queue_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="The flagged-post queue: list, show, triage."
)

NoteOpt = Annotated[str | None, typer.Option("--note", help="A note kept in the post's history.")]
PostArg = Annotated[str, typer.Argument(help="Post id.")]
BrandOpt = Annotated[
    str | None,
    typer.Option("--brand", help="The brand (needed when a post is queued for several)."),
]


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
        start = parse_since(since, utcnow(), name="--since")
        flt = service.QueueFilter(
            brand=brand, status=status, lang=lang, source=source, assignee=assignee,
            since=start, q=search, limit=limit, offset=offset,
        )  # fmt: skip
    page = in_session(config, lambda s: service.list_queue(s, flt))
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

    def brands(session: Session) -> list[str]:
        return list(session.exec(select(QueueItem.brand).where(col(QueueItem.post_id) == post_id)))

    found = in_session(config, brands)
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
    detail = in_session(config, lambda s: service.get_item(s, post_id, brand))
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
    row = in_session(
        config,
        lambda s: service.act(s, post_id, brand, action, actor(by), utcnow(), **kw),
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
        start = parse_since(since, utcnow(), name="--since")
        if what not in ("queue", "response-times"):
            raise typer.BadParameter("queue or response-times")
    if what == "queue":
        flt = service.QueueFilter(status=status, since=start, limit=service.EXPORT_LIMIT)
        text = in_session(config, lambda s: service.queue_csv(s, flt))
    else:
        text = in_session(config, lambda s: service.response_times_csv(s, since=start))
    typer.echo(text, nl=False)
