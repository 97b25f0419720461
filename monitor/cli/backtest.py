"""``stormwatch backtest``: replay stored or exported posts on a simulated clock and print
the incidents the detectors would open."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.common import ConfigOpt, JsonOpt, settings_or_defaults, user_errors
from monitor.cli.output import err, out, print_json, print_table, utc
from monitor.detect.replay import events_from_jsonl, incident_summary, replay
from monitor.errors import StormwatchError

commands = typer.Typer()


@commands.command(short_help="Replay posts; print the incidents they would open.")
def backtest(
    posts: Annotated[Path, typer.Option("--posts", help="JSONL post records with published_at.")],
    warmup_days: Annotated[
        float, typer.Option(help="Days at the start of the file that only teach the baseline.")
    ] = 2.0,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Replay posts on a simulated clock; print the incidents it would open, with onset and
    detection times. Records without a complaint probability are classified first."""
    # Imported here: the classify stage loads the language detector, which
    # `stormwatch --help` and the other commands do not need.
    from monitor.stages.classify_offline import complaint_scorer

    with user_errors():
        settings = settings_or_defaults(config)
        try:
            lines = posts.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise StormwatchError(f"{posts}: cannot read: {exc.strerror}") from None
        loaded = events_from_jsonl(lines, complaint_scorer(settings))
        first = min((e.at for e in loaded.events), default=None)
        warm = first + timedelta(days=warmup_days) if first else None
        result = replay(loaded.events, evaluate_from=warm)
    for warning in loaded.warnings:
        err.print(f"warning: {warning}")
    rows = [incident_summary(i) for i in result.incidents]
    if as_json:
        for row in rows:
            print_json(row)
        return
    columns = (
        "brand", "kind", "severity", "onset", "detected", "delay min", "observed/expected", "posts"
    )  # fmt: skip
    table = [
        [
            r["brand"],
            r["kind"],
            r["severity"],
            utc(r["onset_at"]),
            utc(r["detected_at"]),
            r["delay_minutes"],
            f"{r['observed']:.1f}/{r['expected']:.1f}",
            r["posts"],
        ]
        for r in rows
    ]
    print_table(columns, table)
    out.print(
        f"{len(loaded.events)} posts replayed in {result.seconds:.2f}s "
        f"({result.ticks} ticks); {len(rows)} incident(s), {len(result.pages)} page(s)"
    )
