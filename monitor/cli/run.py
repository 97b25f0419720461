"""``stormwatch crawl --once``, ``stormwatch run`` (the daemon) and ``stormwatch web``
(the web UI alone): the commands that run the pipeline rather than look at what it stored."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from monitor import logs
from monitor.cli.common import ConfigOpt, JsonOpt, config_path, settings_from, user_errors
from monitor.cli.output import err, print_json, print_table
from monitor.clock import utcnow
from monitor.settings import Settings
from monitor.storage.db import upgrade

# The pipeline (the app, the daemon) is imported inside the commands that run it, so that
# `stormwatch --help` and every other command start without loading it.

commands = typer.Typer()


@commands.command(short_help="One crawl pass over every source (or --source NAME).")
def crawl(
    config: ConfigOpt = None,
    once: Annotated[
        bool, typer.Option("--once", help="One pass over the sources, then exit.")
    ] = False,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", metavar="NAME", help="Only this source (repeat for more)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """One crawl pass over every source (or --source NAME), then exit."""
    if not once:
        err.print("error: use `stormwatch crawl --once` (the daemon is `stormwatch run`)")
        raise typer.Exit(2)
    with user_errors():
        settings = settings_from(config)
        logs.configure(settings.log, stream=sys.stderr)
        names = source or [s.name for s in settings.sources if s.enabled]
        for name in names:
            settings.source(name)
        reports = asyncio.run(_crawl_once(settings, names))
    print_reports(reports, as_json)
    if any(r.error for r in reports):
        raise typer.Exit(1)


async def _crawl_once(settings: Settings, names: list[str]) -> list[Any]:
    from monitor.pipeline import build_pipeline

    with _quiet("stormwatch.paging"):  # a crawl pages nobody: its set-up warnings are noise
        application = build_pipeline(settings)
    try:
        await asyncio.to_thread(upgrade, application.engine)
        return await application.crawler.crawl(names, utcnow())
    finally:
        await application.aclose()


@contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Only errors from logger ``name`` while the block runs."""
    logger = logging.getLogger(name)
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


def print_reports(reports: list[Any], as_json: bool) -> None:
    if as_json:
        for r in reports:
            row = {**vars(r), "new": len(r.new), "updated": len(r.updated)}
            print_json(row)
        return
    columns = ("source", "requests", "304", "new", "updated", "unchanged", "no brand", "result")
    print_table(columns, [_report_row(r) for r in reports])


def _report_row(r: Any) -> list[Any]:
    result = r.skipped or (f"{r.error_kind}: {r.error}" if r.error else "ok")
    if r.warnings and not r.error:
        result = f"ok, {len(r.warnings)} warning(s)"
    return [
        r.source, r.requests, r.not_modified, len(r.new), len(r.updated), r.unchanged,
        r.unmatched, result,
    ]  # fmt: skip


@commands.command(short_help="The daemon: crawl, classify, detect, page, serve the UI.")
def run(
    config: ConfigOpt = None,
    tick: Annotated[float, typer.Option(help="Seconds between scheduling ticks.")] = 5.0,
    classify: Annotated[
        bool, typer.Option(help="Classify new posts (off: crawl only, posts stay pending).")
    ] = True,
    web: Annotated[bool, typer.Option(help="Serve the web UI on [web] bind.")] = True,
) -> None:
    """The daemon: crawl, classify, detect and page on every tick, and serve the web UI,
    until SIGTERM or Ctrl-C. SIGHUP reloads the settings file."""
    from monitor import daemon

    with user_errors():
        path = config_path(config)
        settings = settings_from(config)
        logs.configure(settings.log)
        asyncio.run(daemon.run(settings, path, tick=tick, classify=classify, web=web))


@commands.command("web", short_help="Serve only the web UI and the JSON API.")
def web_command(config: ConfigOpt = None) -> None:
    """Serve the web UI and JSON API only (the pipeline runs in 'stormwatch run')."""
    from monitor import daemon

    async def main(settings: Settings) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await daemon.run_web(settings, stop)

    with user_errors():
        settings = settings_from(config)
        logs.configure(settings.log)
        asyncio.run(main(settings))
