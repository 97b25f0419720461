"""``stormwatch classify``: read texts, JSONL records or the stored posts not yet read, and
print one JSON line per text (the reading itself is :mod:`monitor.stages.classify_offline`'s)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from monitor.cli.common import (
    ConfigOpt,
    config_path,
    migrated_engine,
    settings_or_defaults,
    user_errors,
)
from monitor.cli.output import out, print_json
from monitor.clock import utcnow
from monitor.errors import StormwatchError

if TYPE_CHECKING:
    from monitor.stages.classify import ClassifyStage

commands = typer.Typer()


@commands.command(short_help="Classify texts; print one JSON line per text.")
def classify(
    text: Annotated[str | None, typer.Argument(help="A text to classify.")] = None,
    jsonl: Annotated[
        Path | None, typer.Option("--jsonl", help="Post records, one per line.")
    ] = None,
    brand: Annotated[str | None, typer.Option(help="Read the text for this brand.")] = None,
    pending: Annotated[
        bool, typer.Option("--pending", help="Classify every stored post not yet read.")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """JSON lines: id, lang, sentiment, complaint, label (and the passage that decided)."""
    # Imported here: the classify stage loads the language detector, which
    # `stormwatch --help` and the other commands do not need.
    from monitor.stages.classify import ClassifyStage
    from monitor.stages.classify_offline import brand_matcher, classify_records

    with user_errors():
        if pending and config is None and not config_path(None).exists():
            # the stored posts live in a configured database; embedded defaults would
            # silently create an empty ./stormwatch.db and report nothing to do
            raise StormwatchError(
                f"classify --pending reads the posts of a configured database, and there is "
                f"no {config_path(None)} here; give --config FILE (or run it where the "
                "daemon's stormwatch.toml is)"
            )
        settings = settings_or_defaults(config)
        engine = migrated_engine(settings) if pending else None
        stage = ClassifyStage(settings.classifier, engine, brand_matcher(settings, brand))
        if pending:
            _classify_pending(stage)
            return
        records = _records(text, jsonl)
        for line in classify_records(stage, records, brand):
            print_json(line)


def _records(text: str | None, jsonl: Path | None) -> list[dict[str, Any]]:
    if text is not None:
        return [{"id": "1", "text": text}]
    if jsonl is None:
        raise StormwatchError("give a TEXT, or --jsonl FILE, or --pending")
    records = []
    try:
        lines = jsonl.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise StormwatchError(f"{jsonl}: cannot read: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise StormwatchError(f"{jsonl}:{number}: not JSON: {exc}") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise StormwatchError(f"{jsonl}:{number}: a record needs a string 'text'")
        records.append(record)
    return records


def _classify_pending(stage: ClassifyStage) -> None:
    report = stage.drain(utcnow())
    if report.unavailable:
        raise StormwatchError(f"classifier unavailable: {report.unavailable}")
    out.print(
        f"classified {report.classified} (post, brand) pair(s); {report.complaints} complaint(s)"
    )
