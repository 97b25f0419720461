"""``stormwatch init`` and ``stormwatch check-config``: write a starter settings file, and
list every problem of one (key path first) before the daemon reads it."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.common import ConfigOpt, config_path, settings_from, user_errors
from monitor.cli.output import err, out
from monitor.settings import DEFAULT_CONFIG, warnings_of

commands = typer.Typer()


def example_config() -> str:
    return (resources.files("monitor") / "data" / "stormwatch.example.toml").read_text("utf-8")


@commands.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to write stormwatch.toml.")] = Path("."),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="The file to write (instead of DIRECTORY)."),
    ] = None,
) -> None:
    """Write a commented starter config."""
    target = config or directory / DEFAULT_CONFIG
    directory = target.parent
    if target.exists() and not force:
        err.print(f"error: {target} exists (use --force to overwrite)")
        raise typer.Exit(1)
    directory.mkdir(parents=True, exist_ok=True)
    target.write_text(example_config(), encoding="utf-8")
    out.print(f"wrote {target}; check it with: stormwatch check-config -c {target}")


@commands.command("check-config", short_help="List every problem in the config; exit 1 if any.")
def check_config(config: ConfigOpt = None) -> None:
    """List every problem with its key path; exit 1 if any."""
    with user_errors():
        settings = settings_from(config)
    out.print(
        f"{config_path(config)}: OK — {len(settings.brands)} brand(s), "
        f"{len(settings.sources)} source(s), database {settings.database.url}"
    )
    for warning in warnings_of(settings):
        err.print(f"warning: {warning}")
