"""After the demo day: the queue UI with a demo login, and the daemon going on behind it.

The UI (monitor.web) and the daemon share the event loop, as in ``stormwatch run``. The
simulated clock now runs at wall-clock speed from where the day ended, so what the UI
shows, the acknowledge links in the pages (signed with the paging key) and the daemon's
escalation all agree on the time. The daemon ticks every five seconds (crawl, classify,
detect, page): acknowledging in the UI stops the escalation, and the daemon sends the
acknowledge notices to the terminal and the mailbox. Ctrl-C stops both.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import socket
from urllib.parse import quote

from rich.console import Console

from monitor.accounts import add_user
from monitor.demo.scenario.config import WEB_PORT
from monitor.demo.scenario.play import SimClock
from monitor.errors import ConfigError
from monitor.runner.embedded import EmbeddedRunner
from monitor.storage.db import session_scope

DEMO_USER = "demo"
TICK_SECONDS = 5.0


def listen_free(port: int = WEB_PORT) -> socket.socket:
    """A listening socket on 127.0.0.1:``port``, or on any free port when that is taken."""
    from monitor.web.server import listen

    try:
        return listen(f"127.0.0.1:{port}")
    except ConfigError:
        return listen("127.0.0.1:0")


def demo_login(daemon: EmbeddedRunner, clock: SimClock) -> str:
    """Create the ``demo`` manager with a fresh password; return the password."""
    password = secrets.token_urlsafe(12)
    with session_scope(daemon.pipeline.engine) as session:
        add_user(session, DEMO_USER, "manager", password, clock())
    return password


async def serve_ui(
    daemon: EmbeddedRunner,
    clock: SimClock,
    sock: socket.socket,
    console: Console,
    incidents: list[str],
) -> None:
    """Serve until Ctrl-C (or SIGTERM); the daemon ticks every few seconds meanwhile."""
    from monitor.web import create_app, serve

    app = daemon.pipeline
    settings = app.settings
    password = demo_login(daemon, clock)
    clock.run_freely()
    ui = create_app(settings, app.engine, clock=clock, ack_key=app.page.key)
    base = settings.web.public_url or f"http://{settings.web.bind}"
    console.rule("[bold]The queue UI")
    console.print(
        f"Open [bold]{base}/[/]  and log in as [bold]{DEMO_USER}[/] / {password}", highlight=False
    )
    for incident in incidents:
        console.print(f"  incident: {base}/incidents/{quote(incident, safe='')}", highlight=False)
    console.print(f"  flagged posts: {base}/queue", highlight=False)
    console.print("The daemon keeps running on the simulated clock. Ctrl-C stops the demo.")
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, daemon.stop)
    try:
        await asyncio.gather(
            keep_ticking(daemon, TICK_SECONDS),
            serve(ui, settings.web.bind, daemon.stopping, sock=sock),
        )
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def keep_ticking(daemon: EmbeddedRunner, every: float) -> None:
    """One tick every ``every`` seconds until the daemon is stopped (no scheduler: its
    misfire bookkeeping runs on the wall clock, the demo's daemon on the simulated one)."""
    while not daemon.stopping.is_set():
        await daemon.tick()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(daemon.stopping.wait(), every)
