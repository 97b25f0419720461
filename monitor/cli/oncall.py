"""``stormwatch oncall``: who would be paged now, per escalation policy and level."""

from __future__ import annotations

import typer

from monitor.cli.common import ConfigOpt, JsonOpt, settings_from, user_errors
from monitor.cli.output import print_json, print_table, utc
from monitor.clock import utcnow

oncall_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Who is on call.")


@oncall_app.command("now")
def oncall_now(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Who would be paged now, for each policy and level, and who is next."""
    # Imported here: the health queries bring every source kind and its parsers, which
    # `stormwatch --help` and the other commands do not need.
    from monitor.queue import health

    with user_errors():
        rows = health.oncall(settings_from(config), utcnow())
    if as_json:
        for row in rows:
            print_json(row)
        return
    columns = ("policy", "brands", "level", "paged", "after", "until", "next")
    table = [
        [
            r["policy"],
            ", ".join(r["brands"]),
            r["level"],
            ", ".join(r["people"] + r["channels"]),
            f"{r['after_minutes']} min",
            utc(r["until"]),
            ", ".join(r["next"]),
        ]
        for r in rows
    ]
    print_table(columns, table)
