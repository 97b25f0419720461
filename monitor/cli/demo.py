"""``stormwatch demo``: a simulated day on a local web, through the real pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from monitor.cli.common import user_errors

commands = typer.Typer()


@commands.command(short_help="Offline demo: a simulated day with a complaint storm.")
def demo(
    no_serve: Annotated[
        bool,
        typer.Option(
            "--no-serve",
            help="Exit after the simulated day, with a summary (exit 1 if nothing paged).",
        ),
    ] = False,
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the demo's database, mailbox and settings "
            "(default ./stormwatch-demo; replaced on each run)."
        ),
    ] = None,
) -> None:
    """Offline demo: a simulated day on a local web turns into a complaint storm; the real
    pipeline detects it, pages the terminal and a local mailbox, then serves the queue UI."""
    # Imported here: the demo brings the whole pipeline and the sample web, which
    # `stormwatch --help` and the other commands do not need.
    from monitor.demo import run_demo

    # The demo's own lines use rich markup (and escape the data they carry).
    console = Console(highlight=False, soft_wrap=True, emoji=False)
    with user_errors():
        run_demo(console, workdir=workdir, serve=not no_serve)
