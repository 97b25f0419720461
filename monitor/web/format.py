"""How pages show things: times, durations, numbers, post headings and the highlighted
passage. Pure functions of their arguments (``now`` and the zone passed in), used by the
templates' filters and by the routes; nothing here knows about requests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from monitor.clock import ZoneError, parse_zone

__all__ = [
    "HEADING_WORDS",
    "Passage",
    "ViewerZone",
    "ago",
    "chance",
    "display_zone",
    "duration",
    "heading",
    "iso",
    "language",
    "num",
    "passage",
    "pct",
    "times_usual",
    "viewer_zone",
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


@dataclass(frozen=True)
class ViewerZone:
    """The zone one viewer's pages show times in, and where it came from: ``chosen`` (the
    user's setting), ``schedule`` (the first on-call schedule's), ``browser`` (the zone
    the browser reported) or ``utc`` (none known)."""

    zone: tzinfo
    origin: str

    @property
    def name(self) -> str:
        return str(getattr(self.zone, "key", "UTC"))


def viewer_zone(
    chosen: str | None, schedule_zones: Sequence[str], browser: str | None
) -> ViewerZone:
    """The user's own zone, else the on-call schedule's, else the browser's, else UTC. A
    name that is no known zone (a stale setting, a forged cookie) is passed over."""
    candidates = (
        ("chosen", chosen),
        ("schedule", schedule_zones[0] if schedule_zones else None),
        ("browser", browser),
    )
    for origin, name in candidates:
        if not name:
            continue
        try:
            return ViewerZone(parse_zone(name), origin)
        except ZoneError:
            continue
    return ViewerZone(UTC, "utc")


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


LANGUAGES = {
    "da": "Danish", "sv": "Swedish", "nb": "Norwegian", "nn": "Norwegian (Nynorsk)",
    "fi": "Finnish", "is": "Icelandic", "en": "English", "de": "German", "nl": "Dutch",
    "fr": "French", "es": "Spanish", "it": "Italian", "pl": "Polish", "pt": "Portuguese",
}  # fmt: skip


def language(code: str | None) -> str:
    """``Danish`` for ``da``; a code without a name here stays a code; ``?`` is unknown."""
    if not code or code == "?":
        return "unknown language"
    return LANGUAGES.get(code, code)


def _round2(value: float) -> float:
    """Two significant figures: 422.06 -> 420, 1234 -> 1200."""
    digits = len(str(int(value))) - 2
    return float(round(value, -digits)) if digits > 0 else round(value)


def times_usual(ratio: float | None, expected: float | None = None) -> str:
    """How far above normal, in words: ``about 420 times the usual`` for 422.06x, ``about
    2.5 times the usual``, ``40% more than usual``; ``far above the usual (normally
    none)`` when nothing was expected."""
    if ratio is None:
        return "—"
    if (expected is not None and expected <= 0) or ratio == float("inf"):
        return "far above the usual (normally none)"
    if ratio < 0.95:
        return "less than usual"
    if ratio < 1.05:
        return "about the usual"
    if ratio < 2:
        return f"{(ratio - 1) * 100:.0f}% more than usual"
    if ratio < 10:
        return f"about {ratio:.1f}".removesuffix(".0") + " times the usual"
    return f"about {_round2(ratio):,.0f} times the usual"


def chance(p_value: float | None, score: float | None = None) -> str:
    """How unlikely on an ordinary day, in words: ``less than a one-in-a-billion chance``
    for p = 1.5e-156, ``about a 1-in-4,200,000 chance on an ordinary day`` for 2.4e-07; a
    slow rise (no p-value) by its CUSUM score."""
    if p_value is None:
        shown = "—" if score is None else f"{score:g}"
        return f"a steady rise, not a spike (CUSUM score {shown})"
    if p_value < 1e-9:
        return "less than a one-in-a-billion chance on an ordinary day"
    if p_value >= 0.05:
        return "could be chance on an ordinary day"
    return f"about a 1-in-{_round2(1 / p_value):,.0f} chance on an ordinary day"
