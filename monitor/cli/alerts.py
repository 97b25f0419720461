"""``stormwatch alerts``: send a test page through the configured channels."""

from __future__ import annotations

from typing import Annotated

import typer

from alerts.channels import build_channels
from alerts.page import Page, dedup_key_for
from monitor.cli.common import ConfigOpt, settings_from, user_errors
from monitor.cli.output import err
from monitor.clock import utcnow
from monitor.errors import StormwatchError

alerts_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Try the alert channels."
)


@alerts_app.command("test")
def alerts_test(
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Send a test page through every channel (or one) and print each delivery result."""
    with user_errors():
        settings = settings_from(config)
        channels = build_channels(settings.alerts().channel_pairs())
        if channel is not None and channel not in channels:
            raise StormwatchError(f"no channel named {channel!r} (see [[channels]])")
    now = utcnow()
    page = Page(
        incident_id="test",
        dedup_key=dedup_key_for(f"test-{now:%Y%m%dT%H%M%S}"),
        step="test",
        brand="(test)",
        kind="test",
        severity="info",
        title="Stormwatch test page",
        explanation="This is a test page from `stormwatch alerts test`. Nothing is wrong.",
        created_at=now,
    )
    failed = 0
    for name, target in channels.items():
        if channel is not None and name != channel:
            continue
        delivery = target.send(page, now)
        failed += not delivery.ok
        status = "ok" if delivery.ok else ("retryable" if delivery.retryable else "failed")
        err.print(f"{name} ({target.masked_url}): {status} — {delivery.reason}")
    if failed:
        raise typer.Exit(1)
