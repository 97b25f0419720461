"""``stormwatch sources``: every configured source with its health, and a trial fetch of
one source that stores nothing."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from sqlmodel import Session

from monitor.cli.common import ConfigOpt, JsonOpt, in_session, settings_from, user_errors
from monitor.cli.output import err, iso, print_json, print_table, utc
from monitor.clock import utcnow
from monitor.settings import Settings
from monitor.storage import repo

# The crawl and the health queries (they load every source kind) are imported inside the
# commands that use them, so that `stormwatch --help` and other commands start without them.

sources_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Configured sources and their health."
)


@sources_app.command("test")
def sources_test(
    name: Annotated[str, typer.Argument(help="The [[sources]] name to try.")],
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fetch one source once, as a first pass would, and print what it would store (or
    why not). Nothing is stored; exit 1 if the source failed."""
    with user_errors():
        settings = settings_from(config)
        settings.source(name)
        result = asyncio.run(_trial(settings, name))
    report = result.report
    rows = [_trial_row(c.record) for c in result.candidates]
    if as_json:
        for row in rows:
            print_json(row)
    else:
        columns = ["would store", "brands", "lang", "stars", "url", "text"]
        cells = [
            [
                row["kind"], ",".join(row["brands"]) or "(thread)", row["lang"] or "",
                str(row["rating"] or ""), row["url"], row["text"],
            ]
            for row in rows
        ]  # fmt: skip
        print_table(columns, cells, clip={"text": 60})
    for warning in report.warnings:
        err.print(f"warning: {warning}", markup=False)
    skipped = f"; {report.unmatched} skipped (no brand named)" if report.unmatched else ""
    err.print(
        f"{report.requests} request(s), {len(rows)} post(s) would be stored{skipped}", markup=False
    )
    if report.error:
        err.print(f"error: {report.error}", markup=False)
        raise typer.Exit(1)


async def _trial(settings: Settings, name: str) -> Any:
    from monitor.fetch import Fetcher
    from monitor.pipeline import fetch_policy
    from monitor.stages.crawl import Crawler
    from monitor.stages.read import ThreadReader, make_matchers, read_config

    config = read_config(settings)
    async with Fetcher(fetch_policy(settings.network)) as fetcher:
        reader = ThreadReader(config, make_matchers(config))
        crawler = Crawler(settings, engine=None, fetcher=fetcher, reader=reader)  # type: ignore[arg-type]
        return await crawler.trial(name, utcnow())


def _trial_row(record: Any) -> dict[str, Any]:
    return {
        "kind": record.kind,
        "url": record.canonical_url,
        "brands": list(record.brands),
        "lang": record.lang,
        "rating": record.rating,
        "author": record.author,
        "published_at": iso(record.published_at),
        "title": record.title,
        "text": record.text,
    }


@sources_app.command("list")
def sources_list(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Every source with its health: last success, last error, failures, next due."""
    from monitor.queue import health

    def query(session: Session) -> list[dict[str, Any]]:
        settings = settings_from(config)
        now = utcnow()
        repo.sync_sources(session, settings, now)
        return health.sources(session, settings, now)

    rows = in_session(config, query)
    if as_json:
        for row in rows:
            print_json(row)
        return
    columns = ("source", "kind", "health", "last success", "failures", "next due", "last error")
    print_table(columns, [_source_row(r) for r in rows], clip={"last error": 90})


def _source_row(r: dict[str, Any]) -> list[Any]:
    error = f"{r['last_error_kind']}: {r['last_error']}" if r["last_error"] else ""
    if r["health"] == "degraded":
        error = f"warning: {r['last_warning']}"
    if not error and r["quota_used_today"] is not None:
        error = f"quota: {r['quota_used_today']} units used today (Pacific time)"
    return [
        r["name"], r["kind"], r["health"], utc(r["last_success_at"], "never"),
        r["consecutive_failures"], utc(r["next_due_at"]), error,
    ]  # fmt: skip
