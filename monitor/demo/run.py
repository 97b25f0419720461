"""``stormwatch demo``: a simulated day in which an ordinary day turns into a complaint storm.

A local simulated web (monitor.demo.sampleweb: blogs with comment threads, Nordtel's Discourse
forum, news feeds, Reddit, a Google Alerts feed, a Bluesky PDS searched through
``app.bsky.feed.searchPosts`` and Trustpilot's review API; Danish, Swedish, Norwegian and
English)
publishes the day of :mod:`monitor.demo.scenario.story` on a simulated clock, while the real
daemon runs on the same clock with the embedded defaults: SQLite, the default model, the
real detectors and the real alert path. Pages go to the terminal (``stdout://``) and, by
e-mail through Apprise, to a local mailbox (``mailbox.mbox``). Then the queue UI is served
with a demo login, until Ctrl-C; with ``--no-serve`` the demo exits after a summary, and
exits 1 when the storm never paged.

Files, in ``./stormwatch-demo`` unless ``--workdir`` says otherwise (replaced on every
run): ``stormwatch-demo.db``, ``mailbox.mbox`` and ``stormwatch.toml`` (the demo's
settings: ``stormwatch incidents list --config stormwatch-demo/stormwatch.toml``).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from monitor.demo.sampleweb import SampleWeb
from monitor.demo.scenario import config
from monitor.demo.scenario.mailbox import LocalMailbox, unpaced_email
from monitor.demo.scenario.play import SimClock, play_day
from monitor.demo.scenario.publisher import Publisher
from monitor.demo.scenario.report import Summary, print_summary, summarize
from monitor.demo.scenario.story import Story, build_story
from monitor.errors import StormwatchError
from monitor.pipeline import build_pipeline
from monitor.runner.embedded import EmbeddedRunner
from monitor.storage.db import upgrade

DEFAULT_FOLDER = Path("stormwatch-demo")
DATABASE = "stormwatch-demo.db"
MAILBOX = "mailbox.mbox"
SETTINGS = "stormwatch.toml"
OWN_FILES = (DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm", MAILBOX, SETTINGS)
PACE_SECONDS = 0.4  # with the UI to follow, a tick takes at least this: a day in ~a minute


class DemoFailed(StormwatchError):
    """The simulated day ended and no page went out: the demo did not show what it should."""


def run_demo(console: Console, workdir: Path | None = None, serve: bool = False) -> Summary:
    """Play the day; print a summary; then serve the UI (``serve``) until Ctrl-C."""
    folder = (workdir or DEFAULT_FOLDER).resolve()
    prepare(folder)
    try:
        with unpaced_email():
            return asyncio.run(_run(console, folder, serve))
    except KeyboardInterrupt:  # Ctrl-C during the day (while serving, it stops cleanly)
        console.print(f"\nDemo interrupted. Its files are in {folder}.", highlight=False)
        raise SystemExit(130) from None


def prepare(folder: Path) -> None:
    """Create the folder; remove the files an earlier demo left there (only those)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in OWN_FILES:
        (folder / name).unlink(missing_ok=True)


async def _run(console: Console, folder: Path, serve: bool) -> Summary:
    started = time.monotonic()
    story = build_story()
    with _ui_socket(serve) as sock, SampleWeb() as web, LocalMailbox(folder / MAILBOX) as mail:
        publisher = Publisher(web)
        publisher.publish(story.due(None, story.start))  # the days before: history
        web_port = sock.getsockname()[1] if sock else config.WEB_PORT
        raw = config.raw_settings(
            folder, config.source_table(web.feeds(), web.base_url, web.platforms()), mail.port,
            web_port,
            secrets.token_urlsafe(32),
        )  # fmt: skip
        config.write_toml(raw, folder / SETTINGS)
        app = build_pipeline(config.demo_settings(raw))
        try:
            await asyncio.to_thread(upgrade, app.engine)
            clock = SimClock(story.start)
            daemon = EmbeddedRunner(app, clock=clock)
            _intro(console, web, story, folder)
            await asyncio.to_thread(daemon.warm_up)
            pace = PACE_SECONDS if serve else 0.0
            await play_day(daemon, publisher, story, clock, console, pace=pace)
            summary = summarize(app.engine, folder, folder / DATABASE, folder / MAILBOX)
            began = {"storm": story.onset, "thread": story.thread_takeoff}
            print_summary(console, summary, began, time.monotonic() - started)
            if not summary.paged:
                raise DemoFailed(
                    f"the simulated day ended without a page; see {folder / DATABASE} "
                    f"(stormwatch incidents list --all --config {folder / SETTINGS})"
                )
            if sock is None:
                _next_steps(console, folder)
                return summary
            from monitor.demo.scenario.serve import serve_ui

            await serve_ui(daemon, clock, sock, console, [i.id for i in summary.live])
            console.print(f"Demo stopped. Its files stay in {folder}.", highlight=False)
            return summary
        finally:
            await app.aclose()


@contextlib.contextmanager
def _ui_socket(serve: bool) -> Iterator[socket.socket | None]:
    """The UI's socket, bound before the day starts: the pages' acknowledge links must
    name its port (8080, or a free one when 8080 is taken)."""
    if not serve:
        yield None
        return
    from monitor.demo.scenario.serve import listen_free

    sock = listen_free()
    try:
        yield sock
    finally:
        sock.close()


def _next_steps(console: Console, folder: Path) -> None:
    """Nothing serves the pages' links after --no-serve: say how to serve them."""
    settings = folder / SETTINGS
    console.print(
        "Next: `stormwatch demo` (without --no-serve) goes on to serve the queue UI; or look "
        f"around with `stormwatch incidents list --config {settings}` (or `queue list`).\n"
        f"The links in the pages point at http://127.0.0.1:{config.WEB_PORT}, where nothing "
        "is served now. To open them, add a login and serve this demo's UI:\n"
        f"  stormwatch user add demo --role manager --config {settings}\n"
        f"  stormwatch web --config {settings}",
        highlight=False,
        markup=False,
    )


def _intro(console: Console, web: SampleWeb, story: Story, folder: Path) -> None:
    day = story.start.strftime("%A %-d %B %Y")
    console.rule("[bold]Stormwatch demo")
    console.print(
        f"A simulated web on {web.base_url} (blogs, forum, news, Reddit, alerts, Bluesky, "
        "Trustpilot) and the real "
        f"daemon on a simulated clock: {day}, five simulated minutes per tick.\n"
        f"Files in {folder}. Loading the language models and the classifier (the first run "
        "also converts the model, a few seconds)...",
        highlight=False,
    )
