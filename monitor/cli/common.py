"""What every command shares: the common options, the settings file, one readable line
per error, and a session on the configured database.

Command modules import from here and from :mod:`monitor.cli.output`; nothing here imports
a command module, so the package has no import circle.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor.cli.output import err
from monitor.errors import ConfigError, StormwatchError
from monitor.settings import DEFAULT_CONFIG, Settings, load_settings
from monitor.storage.db import make_engine, session_scope, upgrade

__all__ = [
    "ByOpt",
    "ConfigOpt",
    "JsonOpt",
    "actor",
    "config_path",
    "in_session",
    "migrated_engine",
    "settings_from",
    "settings_or_defaults",
    "user_errors",
    "with_session",
]

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Settings file (default ./stormwatch.toml or $STORMWATCH_CONFIG)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ByOpt = Annotated[str | None, typer.Option("--by", help="Who acts (default: $USER).")]
T = TypeVar("T")


def config_path(given: Path | None) -> Path:
    return given or Path(os.environ.get("STORMWATCH_CONFIG") or DEFAULT_CONFIG)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn Stormwatch errors into one readable line each and exit 1 — no tracebacks."""
    try:
        yield
    except ConfigError as exc:
        err.print(f"error: {exc}:")
        for problem in exc.problems:
            err.print(f"  {problem}")
        raise typer.Exit(1) from None
    except StormwatchError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(1) from None


def settings_from(config: Path | None) -> Settings:
    return load_settings(config_path(config))


def settings_or_defaults(config: Path | None) -> Settings:
    """Ad-hoc classification works without a config file (embedded defaults)."""
    path = config_path(config)
    if config is None and not path.exists():
        return load_settings(None)
    return load_settings(path)


def migrated_engine(settings: Settings) -> Engine:
    engine = make_engine(settings.database)
    upgrade(engine)
    return engine


def with_session(config: Path | None, fn: Callable[[Session], T]) -> T:
    """``fn(session)`` in one transaction on the configured database, migrated first."""
    engine = migrated_engine(settings_from(config))
    with session_scope(engine) as session:
        return fn(session)


def in_session(config: Path | None, fn: Callable[[Session], T]) -> T:
    """:func:`with_session`, its errors printed as one line each (exit status 1)."""
    with user_errors():
        return with_session(config, fn)


def actor(by: str | None) -> str:
    """Who acts on the queue or an incident: ``--by``, else the login name."""
    return by or os.environ.get("USER") or "cli"
