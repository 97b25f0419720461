"""Playing the demo day: the simulated web and the real daemon on one simulated clock.

Each step (five simulated minutes) publishes what is due on the site, then runs one
:meth:`monitor.runner.embedded.EmbeddedRunner.tick` with the simulated clock: crawl the
sources that are
due, classify what is new, detect, page. After the tick the terminal gets what happened:
story beats, incidents opened, pages sent (the ``terminal`` channel prints each page
itself), and once per simulated hour a line with the counts.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from alerts.store import OutboxRow
from monitor.demo.scenario.config import PEOPLE
from monitor.demo.scenario.publisher import Publisher
from monitor.demo.scenario.story import TZ, Beat, Story
from monitor.runner.embedded import EmbeddedRunner
from monitor.storage.db import read_scope
from monitor.storage.models import IncidentRow, Post, QueueItem, Reading

STEP = timedelta(minutes=5)


class SimClock:
    """Simulated time: it moves when told to (:meth:`advance`); after :meth:`run_freely`
    it follows the wall clock from where it stood (while the UI is served)."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self._since: float | None = None

    def __call__(self) -> datetime:
        if self._since is None:
            return self.now
        return self.now + timedelta(seconds=time.monotonic() - self._since)

    def advance(self, step: timedelta) -> None:
        self.now += step

    def run_freely(self) -> None:
        self._since = time.monotonic()


def hhmm(at: datetime) -> str:
    return at.astimezone(TZ).strftime("%H:%M")


@dataclass
class Counts:
    posts: int
    complaints: int
    flagged: int
    open_incidents: int


def counts(session: Session) -> Counts:
    def n(query: SelectOfScalar[int]) -> int:
        return int(session.exec(query).one())

    return Counts(
        posts=n(select(sa.func.count()).select_from(Post)),
        complaints=n(select(sa.func.count()).where(col(Reading.label) == "complaint")),
        flagged=n(select(sa.func.count()).select_from(QueueItem)),
        open_incidents=n(
            select(sa.func.count())
            .where(col(IncidentRow.status) != "resolved")
            .where(col(IncidentRow.origin) == "live")
        ),
    )


@dataclass
class Watch:
    """What is new in the database since the last look: incidents, pages sent, pages held
    back (an open storm inhibits the brand's other incidents)."""

    engine: Engine
    incidents: set[str] = field(default_factory=set)
    pages: set[int] = field(default_factory=set)

    def report(self, console: Console, now: datetime) -> None:
        with read_scope(self.engine) as session:
            rows = session.exec(select(IncidentRow).order_by(col(IncidentRow.opened_at))).all()
            fresh = [_Opened.of(r) for r in rows if r.id not in self.incidents]
            outbox = session.exec(
                select(OutboxRow)
                .where(
                    sa.or_(
                        col(OutboxRow.sent_at).is_not(None), col(OutboxRow.status) == "inhibited"
                    )
                )
                .order_by(col(OutboxRow.id))
            ).all()
            pages = [_PageNews.of(p) for p in outbox if p.id not in self.pages]
        for opened in fresh:
            self.incidents.add(opened.id)
            _incident_line(console, opened)
        for page in pages:
            self.pages.add(page.id)
            console.print(f"[dim]{hhmm(now)}[/] {page.line()}", highlight=False, emoji=False)


@dataclass(frozen=True)
class _PageNews:
    id: int
    incident_id: str
    brand: str
    step: str
    recipient: str
    channel: str
    held: str | None  # why the page is held back, if it is

    @classmethod
    def of(cls, row: OutboxRow) -> _PageNews:
        held = row.last_reason if row.status == "inhibited" else None
        brand = str(json.loads(row.page).get("brand", ""))
        return cls(row.id or 0, row.incident_id, brand, row.step, row.recipient,
                   row.sent_via or "", held)  # fmt: skip

    def line(self) -> str:
        """Rich markup: every value from the data is escaped."""
        if self.held is not None:
            return f"[yellow]pages held back[/] for {escape(self.incident_id)}: {escape(self.held)}"
        who = PEOPLE.get(self.recipient, self.recipient)
        where = f"{who}'s mailbox ({self.channel})" if who else self.channel
        where = "the terminal" if self.channel == "terminal" else where
        return f"[magenta]page sent[/] {escape(self.brand)} {escape(self.step)} -> {escape(where)}"


@dataclass(frozen=True)
class _Opened:
    id: str
    kind: str
    severity: str
    origin: str
    onset_at: datetime
    opened_at: datetime
    explanation: str

    @classmethod
    def of(cls, row: IncidentRow) -> _Opened:
        return cls(row.id, row.kind, row.severity, row.origin, row.onset_at, row.opened_at,
                   row.explanation)  # fmt: skip


def _incident_line(console: Console, row: _Opened) -> None:
    if row.origin != "live":
        console.print(
            f"  [dim]history incident {row.id} (before the first crawl: no page)[/]", emoji=False
        )
        return
    console.print(
        f"\n[bold red]{hhmm(row.opened_at)} INCIDENT[/] {row.id}: {row.kind.replace('_', ' ')}, "
        f"{row.severity} (estimated onset {hhmm(row.onset_at)})",
        highlight=False,
        emoji=False,
    )
    first = row.explanation.strip().splitlines()[0] if row.explanation.strip() else ""
    if first:
        console.print(f"  {first}", markup=False, highlight=False, emoji=False)


async def play_day(
    daemon: EmbeddedRunner,
    publisher: Publisher,
    story: Story,
    clock: SimClock,
    console: Console,
    step: timedelta = STEP,
    pace: float = 0.0,
) -> int:
    """Run the day from ``clock.now`` to ``story.end`` (the daemon is warmed up and its
    clock is ``clock``); return the number of ticks. ``pace``: wall-clock seconds a tick
    takes at least (0: as fast as the machine goes)."""
    app = daemon.pipeline
    watch = Watch(app.engine)
    beats = list(story.beats)
    last, ticks, hour = clock.now, 0, -1
    while clock.now <= story.end:
        began = time.monotonic()
        publisher.publish(story.due(last, clock.now))
        beats = _tell(console, beats, clock.now)
        await daemon.tick()
        watch.report(console, clock.now)
        if clock.now.astimezone(TZ).hour != hour:
            hour = clock.now.astimezone(TZ).hour
            _live_line(console, app.engine, clock.now)
        last, ticks = clock.now, ticks + 1
        clock.advance(step)
        await asyncio.sleep(max(0.0, pace - (time.monotonic() - began)))
    return ticks


def _tell(console: Console, beats: Sequence[Beat], now: datetime) -> list[Beat]:
    for beat in beats:
        if beat.at <= now:
            console.print(f"\n[bold cyan]{hhmm(beat.at)}[/] [cyan]{beat.text}[/]", highlight=False)
    return [b for b in beats if b.at > now]


def _live_line(console: Console, engine: Engine, now: datetime) -> None:
    with read_scope(engine) as session:
        c = counts(session)
    console.print(
        f"[dim]{hhmm(now)}[/]  posts {c.posts:>4}   complaints {c.complaints:>4}   "
        f"flagged {c.flagged:>4}   open incidents {c.open_incidents}",
        highlight=False,
    )
