"""The ``stormwatch`` command line (Typer). Every command accepts ``--config PATH``.

Errors reach the user as one sentence on stderr and exit status 1 (configuration problems
as one line each, key path first); ``--json`` gives machine-readable output.

One module per command group; :mod:`monitor.cli.common` (options, settings, errors, a
database session) and :mod:`monitor.cli.output` (printing) are what they share. This module
only assembles them into :data:`app`: it imports the command modules, and none of them
imports it (docs/ARCHITECTURE.md, "The command line").
"""

from __future__ import annotations

import inspect
import sys

import typer

from monitor.cli.alerts import alerts_app
from monitor.cli.backtest import commands as backtest_commands
from monitor.cli.classifier import classifier_app
from monitor.cli.classify import commands as classify_commands
from monitor.cli.config import commands as config_commands
from monitor.cli.db import db_app
from monitor.cli.demo import commands as demo_commands
from monitor.cli.incidents import incidents_app
from monitor.cli.oncall import oncall_app
from monitor.cli.posts import posts_app
from monitor.cli.queue import queue_app
from monitor.cli.report import commands as report_commands
from monitor.cli.run import commands as run_commands
from monitor.cli.sources import sources_app
from monitor.cli.users import user_app

__all__ = ["app", "main"]

HELP = """Stormwatch watches blogs, forums and feeds for complaint storms about your brands,
pages the manager on call, and keeps a queue of flagged posts to answer.

Every command takes --config PATH (default ./stormwatch.toml, or $STORMWATCH_CONFIG).
Errors are one line on stderr and exit status 1; --json prints JSON."""

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, add_completion=False, help=HELP)

# `stormwatch --help` lists the commands in this order: a nameless group adds its commands
# to the top level, a named one is a sub-command.
app.add_typer(config_commands)
app.add_typer(run_commands)
app.add_typer(demo_commands)
app.add_typer(classify_commands)
app.add_typer(backtest_commands)
app.add_typer(db_app, name="db")
app.add_typer(posts_app, name="posts")
app.add_typer(sources_app, name="sources")
app.add_typer(classifier_app, name="classifier")
app.add_typer(alerts_app, name="alerts")
app.add_typer(oncall_app, name="oncall")
app.add_typer(queue_app, name="queue")
app.add_typer(user_app, name="user")
app.add_typer(incidents_app, name="incidents")
app.add_typer(report_commands)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


def _first_sentence(doc: str) -> str:
    """The first sentence of a docstring's first paragraph, on one line."""
    paragraph = " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())
    cut = paragraph.find(". ")
    return paragraph if cut < 0 else paragraph[: cut + 1]


def _short_helps(group: typer.Typer) -> None:
    """Command lists show each command's whole first sentence (left alone, they are cut
    mid-sentence at the terminal's width)."""
    for command in group.registered_commands:
        if command.short_help is None and command.callback and command.callback.__doc__:
            command.short_help = _first_sentence(command.callback.__doc__)
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _short_helps(sub.typer_instance)


_short_helps(app)
