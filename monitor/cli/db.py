"""``stormwatch db``: migrations and an online SQLite backup."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.common import ConfigOpt, settings_from, user_errors
from monitor.cli.output import out
from monitor.storage.db import backup_sqlite, current_revision, make_engine, upgrade

db_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Database migrations.")


@db_app.command("upgrade")
def db_upgrade(config: ConfigOpt = None) -> None:
    """Apply migrations."""
    with user_errors():
        engine = make_engine(settings_from(config).database)
        upgrade(engine)
        out.print(f"database at revision {current_revision(engine)}")


@db_app.command("backup")
def db_backup(
    target: Annotated[Path, typer.Argument(help="File to write (must not exist).")],
    config: ConfigOpt = None,
) -> None:
    """Copy a SQLite database while the daemon runs (SQLite's online backup: a consistent
    snapshot, writers are not stopped). For PostgreSQL use pg_dump (docs/OPERATIONS.md)."""
    with user_errors():
        pages = backup_sqlite(settings_from(config).database, target)
    out.print(f"backed up to {target} ({pages} pages)")
