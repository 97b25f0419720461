"""How pages show things: times, durations, numbers, post headings and the highlighted
passage. Pure functions of their arguments (``now`` and the zone passed in), used by the
templates' filters and by the routes; nothing here knows about requests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

__all__ = [
    "HEADING_WORDS",
    "Passage",
    "ago",
    "display_zone",
    "duration",
    "heading",
    "iso",
    "num",
    "passage",
    "pct",
    "when",
]

HEADING_WORDS = 10


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
