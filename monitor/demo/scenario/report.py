"""What the demo day produced, read back from the database and the mailbox, and printed.

:func:`summarize` is plain data (the tests assert on it); :func:`print_summary` renders it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.text import Text
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from alerts.store import OutboxRow
from monitor.demo.scenario.mailbox import read_mbox
from monitor.demo.scenario.play import counts, hhmm
from monitor.detect import codec
from monitor.storage.db import read_scope
from monitor.storage.models import IncidentRow, Post


@dataclass(frozen=True)
class IncidentFact:
    id: str
    family: str
    kind: str
    severity: str
    status: str
    origin: str
    onset_at: datetime
    opened_at: datetime
    thread_ids: tuple[str, ...]

    @property
    def delay_minutes(self) -> int:
        return int((self.opened_at - self.onset_at).total_seconds() // 60)


@dataclass(frozen=True)
class PageFact:
    incident_id: str
    step: str
    recipient: str
    channel: str
    sent_at: datetime


@dataclass(frozen=True)
class Summary:
    posts: int
    languages: dict[str, int]
    complaints: int
    flagged: int
    incidents: tuple[IncidentFact, ...]
    pages: tuple[PageFact, ...]
    held: dict[str, str]  # incident id -> why its pages are held back (an open storm)
    mails: int
    folder: Path
    database: Path
    mailbox: Path
    config: Path

    @property
    def live(self) -> list[IncidentFact]:
        return [i for i in self.incidents if i.origin == "live"]

    @property
    def paged(self) -> bool:
        live = {i.id for i in self.live}
        return any(p.incident_id in live for p in self.pages)


def summarize(engine: Engine, folder: Path, database: Path, mailbox: Path) -> Summary:
    with read_scope(engine) as session:
        c = counts(session)
        langs = Counter(p or "?" for p in session.exec(select(Post.lang)).all())
        incidents = session.exec(select(IncidentRow).order_by(col(IncidentRow.opened_at))).all()
        sent = session.exec(
            select(OutboxRow).where(col(OutboxRow.sent_at).is_not(None)).order_by(col(OutboxRow.id))
        ).all()
        facts = tuple(_incident(row) for row in incidents)
        pages = tuple(
            PageFact(r.incident_id, r.step, r.recipient, r.sent_via or "", r.sent_at)
            for r in sent
            if r.sent_at is not None
        )
        holds = session.exec(select(OutboxRow).where(col(OutboxRow.status) == "inhibited")).all()
        held = {r.incident_id: r.last_reason or "held" for r in holds}
    return Summary(
        posts=c.posts,
        languages=dict(langs.most_common()),
        complaints=c.complaints,
        flagged=c.flagged,
        incidents=facts,
        pages=pages,
        held=held,
        mails=len(read_mbox(mailbox)),
        folder=folder,
        database=database,
        mailbox=mailbox,
        config=folder / "stormwatch.toml",
    )


def _incident(row: IncidentRow) -> IncidentFact:
    threads = tuple(codec.loads(row.state).thread_ids) if row.state else ()
    return IncidentFact(
        row.id, row.family, row.kind, row.severity, row.status, row.origin,
        row.onset_at, row.opened_at, threads,
    )  # fmt: skip


def print_summary(
    console: Console, s: Summary, began: dict[str, datetime], wall_seconds: float
) -> None:
    """``began``: when the story's storm and thread really started, per incident family."""
    console.rule("[bold]Summary")
    langs = ", ".join(f"{k} {v}" for k, v in s.languages.items())
    console.print(
        f"Stored {s.posts} posts ({langs}); {s.complaints} read as complaints; "
        f"{s.flagged} flagged in the queue.",
        highlight=False,
    )
    for incident in s.live:
        _print_incident(console, s, incident, began.get(incident.family, incident.onset_at))
    history = len(s.incidents) - len(s.live)
    if history:
        console.print(f"({history} history incident(s) from before the first crawl: never paged)")
    per: Counter[str] = Counter(p.channel for p in s.pages)
    sent = ", ".join(f"{n} via {channel}" for channel, n in sorted(per.items()))
    console.print(f"Pages sent: {len(s.pages)} ({sent})." if s.pages else "No page was sent.")
    console.print(
        f"Wall time {wall_seconds:.0f} s. Files in {s.folder}: {s.database.name} (database), "
        f"{s.mailbox.name} ({s.mails} e-mails), {s.config.name} (settings).",
        highlight=False,
    )


def _print_incident(console: Console, s: Summary, i: IncidentFact, began: datetime) -> None:
    after = int((i.opened_at - began).total_seconds() // 60)
    line = Text.assemble(
        ("Incident ", "bold"), (i.id, "bold"),
        f": {i.kind.replace('_', ' ')}, {i.severity}, {i.status}. Began {hhmm(began)}, "
        f"opened {hhmm(i.opened_at)}: detected after {after} min.",
    )  # fmt: skip
    console.print(line)
    channels: dict[str, list[str]] = {}
    for page in (p for p in s.pages if p.incident_id == i.id):
        channels.setdefault(page.step, []).append(page.channel)
    for step, names in channels.items():
        console.print(f"  page {step} -> {', '.join(names)}", highlight=False, emoji=False)
    if i.id in s.held:
        console.print(f"  pages held back: {s.held[i.id]}", highlight=False, emoji=False)
