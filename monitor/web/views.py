"""Small pure helpers shared by pages and API: time text, the highlighted passage, filters."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from monitor.queue.service import QueueFilter
from monitor.web.errors import WebError
from monitor.web.security import http_url

__all__ = [
    "PAGE_SIZE",
    "Passage",
    "QueueParams",
    "ago",
    "display_zone",
    "duration",
    "heading",
    "http_url",
    "iso",
    "num",
    "parse_since",
    "passage",
    "pct",
    "when",
]

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
_SPAN = re.compile(r"^(\d{1,4})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _as_datetime(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def display_zone(schedule_zones: list[str]) -> tzinfo:
    """The zone pages show times in: the first on-call schedule's (where the managers
    live), else UTC. Zones were checked when the config loaded."""
    return ZoneInfo(schedule_zones[0]) if schedule_zones else UTC


def when(value: datetime | str | None, zone: tzinfo = UTC) -> str:
    """``2026-11-02 10:00 CET`` in ``zone`` (or an em dash for no time)."""
    moment = _as_datetime(value)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if moment else "—"


def iso(value: datetime | str | None) -> str:
    """ISO 8601 with the offset, for ``<time datetime>``; '' for no time."""
    moment = _as_datetime(value)
    return moment.astimezone(UTC).isoformat() if moment else ""


def ago(value: datetime | str | None, now: datetime) -> str:
    """``5 min ago``, ``3 h ago``, ``2 d ago`` — what a phone at night needs first."""
    moment = _as_datetime(value)
    if moment is None:
        return ""
    seconds = (now - moment).total_seconds()
    if seconds < 0:
        return "in " + duration(-seconds)
    return "just now" if seconds < 60 else duration(seconds) + " ago"


def duration(seconds: float | None) -> str:
    """``7 min``, ``4 h 36 min``, ``3 d 2 h``: two units at most, rounded down."""
    if seconds is None:
        return "—"
    minutes = max(int(seconds // 60), 0)
    days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


HEADING_WORDS = 10


def heading(title: str | None, thread_titles: list[str | None], text: str) -> str:
    """A post's heading: its title; a comment's, its thread's ("Re: ..."); else its first
    words (comments were all headed "(no title)")."""
    if title and title.strip():
        return title.strip()
    thread_title = next((t.strip() for t in thread_titles if t and t.strip()), None)
    if thread_title:
        return f"Re: {thread_title}"
    words = text.split()
    if not words:
        return "(empty post)"
    return " ".join(words[:HEADING_WORDS]) + (" …" if len(words) > HEADING_WORDS else "")


@dataclass(frozen=True)
class Passage:
    """The post text cut in three at the triggering passage; the page marks ``middle``."""

    before: str
    middle: str
    after: str


def passage(text: str, start: int | None, end: int | None) -> Passage:
    """Split ``text`` at ``[start, end)``; out-of-range or empty spans mark nothing."""
    if start is None or end is None or not 0 <= start < end <= len(text):
        return Passage(text, "", "")
    return Passage(text[:start], text[start:end], text[end:])


def parse_since(value: str | None, now: datetime, name: str = "since") -> datetime | None:
    """``30m``, ``24h``, ``7d``, ``2w`` before ``now``, or an ISO date/time; '' means none.
    Returned in UTC; a time that has no UTC form (``0001-01-01T00:00+14:00``) is refused."""
    if value is None or not value.strip():
        return None
    text = value.strip().lower()
    span = _SPAN.match(text)
    if span:
        return now - timedelta(**{_UNITS[span.group(2)]: int(span.group(1))})
    moment = _as_datetime(value.strip())
    if moment is None:
        raise WebError(
            400, "invalid_input", f"{name}: use e.g. 24h, 7d or 2026-11-02, not {value!r}"
        )
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise WebError(
            400, "invalid_input", f"{name}: {value!r} is outside the years 1–9999 in UTC"
        ) from None


@dataclass(frozen=True)
class QueueParams:
    """The queue's filters as the query string carries them (the same on page and API)."""

    brand: str = ""
    status: str = "open"
    lang: str = ""
    source: str = ""
    assignee: str = ""
    since: str = ""
    q: str = ""
    page: int = 1
    limit: int = PAGE_SIZE
    incident: str = ""

    def to_filter(self, now: datetime) -> QueueFilter:
        if self.page < 1 or not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise WebError(400, "invalid_input", f"page must be ≥ 1, limit 1–{MAX_PAGE_SIZE}")
        return QueueFilter(
            brand=self.brand or None,
            status=self.status or "open",
            lang=self.lang or None,
            source=self.source or None,
            assignee=self.assignee or None,
            since=parse_since(self.since, now),
            q=self.q.strip() or None,
            limit=self.limit,
            offset=(self.page - 1) * self.limit,
            incident=self.incident or None,
        )

    def query(self, **changes: Any) -> str:
        """The query string of these filters with ``changes`` (defaults left out)."""
        values = {**self.__dict__, **changes}
        defaults = QueueParams().__dict__
        kept = {k: v for k, v in values.items() if v != defaults[k]}
        return urlencode(kept)

    def filters_set(self) -> int:
        """How many of the folded filters differ from their defaults (the phone's button
        says so, and opens when any is set)."""
        names = ("status", "brand", "lang", "source", "assignee", "since")
        return sum(getattr(self, n) != getattr(QueueParams(), n) for n in names)

    def back(self) -> str:
        """``?back=...`` for links to a post, so its "Back to the queue" keeps these filters."""
        query = self.query()
        return "?" + urlencode({"back": query}) if query else ""

    def pages(self, total: int) -> int:
        return max(1, -(-total // self.limit))

    def nothing_found(self) -> str:
        """The empty result in words, naming what was searched: ``No open posts match
        “kø” with brand Nordtel.`` (an empty search must not read as an empty queue)."""
        what = {"open": "open posts", "all": "posts"}.get(self.status, f"{self.status} posts")
        named = (
            ("brand", self.brand),
            ("language", self.lang),
            ("source", self.source),
            ("assignee", self.assignee),
        )
        filters = [f"{name} {value}" for name, value in named if value]
        if self.incident:
            filters.append("in this incident")
        if self.since:
            span = _SPAN.match(self.since.strip().lower())
            filters.append(f"in the last {self.since}" if span else f"since {self.since}")
        q = self.q.strip()
        if not q and not filters:
            return "The open queue is empty." if self.status == "open" else f"No {what}."
        matching = f" match “{q}”" if q else ""
        with_ = f" with {', '.join(filters)}" if filters else ""
        return f"No {what}{matching}{with_}."
