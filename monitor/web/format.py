"""How pages show things: times, durations, numbers, post headings and the highlighted
passage. Pure functions of their arguments (``now``, the zone and the locale passed in),
used by the templates' filters and by the routes; nothing here knows about requests. The
words come from the gettext catalogues (``i18n.translations``), numbers and dates from
Babel for the locale."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.numbers import format_decimal, format_percent

from monitor.clock import ZoneError, parse_zone
from monitor.web.i18n import DEFAULT, translations

__all__ = [
    "HEADING_WORDS",
    "Passage",
    "ViewerZone",
    "ago",
    "chance",
    "display_zone",
    "duration",
    "heading",
    "incident_headline",
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


def when(value: datetime | str | None, zone: tzinfo = UTC, locale: str = DEFAULT) -> str:
    """``2026-11-02 10:00 CET`` in ``zone`` (or an em dash for no time); in another
    language the date as Babel writes it there (Danish ``2. nov. 2026 10.00 CET``)."""
    moment = _as_datetime(value)
    if moment is None:
        return "—"
    local = moment.astimezone(zone)
    if locale == DEFAULT:
        return local.strftime("%Y-%m-%d %H:%M %Z")
    shown = format_date(local, "medium", locale=locale)
    return f"{shown} {format_time(local, 'short', locale=locale)} {local.strftime('%Z')}"


def iso(value: datetime | str | None) -> str:
    """ISO 8601 with the offset, for ``<time datetime>``; '' for no time."""
    moment = _as_datetime(value)
    return moment.astimezone(UTC).isoformat() if moment else ""


def ago(value: datetime | str | None, now: datetime, locale: str = DEFAULT) -> str:
    """``5 min ago``, ``3 h ago``, ``2 d ago`` — what a phone at night needs first."""
    moment = _as_datetime(value)
    if moment is None:
        return ""
    tr = translations(locale)
    seconds = (now - moment).total_seconds()
    if seconds < 0:
        return tr.gettext("in %(span)s") % {"span": duration(-seconds, locale)}
    if seconds < 60:
        return tr.gettext("just now")
    return tr.gettext("%(span)s ago") % {"span": duration(seconds, locale)}


def duration(seconds: float | None, locale: str = DEFAULT) -> str:
    """``7 min``, ``4 h 36 min``, ``3 d 2 h``: two units at most, rounded down."""
    if seconds is None:
        return "—"
    tr = translations(locale)
    minutes = max(int(seconds // 60), 0)
    days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
    parts = {"days": days, "hours": hours, "minutes": minutes}
    if days:
        return (tr.gettext("%(days)s d %(hours)s h") if hours else tr.gettext("%(days)s d")) % parts
    if hours:
        shown = tr.gettext("%(hours)s h %(minutes)s min") if minutes else tr.gettext("%(hours)s h")
        return shown % parts
    return tr.gettext("%(minutes)s min") % parts


def pct(value: float | None, locale: str = DEFAULT) -> str:
    """``42%`` (Danish ``42 %``): a share as the language writes percentages."""
    return "—" if value is None else format_percent(value, locale=locale)


def num(value: float | None, digits: int = 2, locale: str = DEFAULT) -> str:
    """``digits`` decimals with the language's separators (``0.42``; Danish ``0,42``)."""
    if value is None:
        return "—"
    return format_decimal(value, "#,##0." + "0" * digits if digits else "#,##0", locale=locale)


def heading(
    title: str | None, thread_titles: list[str | None], text: str, locale: str = DEFAULT
) -> str:
    """A post's heading: its title; a comment's, its thread's ("Re: ..."); else its first
    words (comments were all headed "(no title)")."""
    if title and title.strip():
        return title.strip()
    thread_title = next((t.strip() for t in thread_titles if t and t.strip()), None)
    if thread_title:
        return f"Re: {thread_title}"
    words = text.split()
    if not words:
        return translations(locale).gettext("(empty post)")
    return " ".join(words[:HEADING_WORDS]) + (" …" if len(words) > HEADING_WORDS else "")


# A headline as ``detect.explain`` writes it: "Nordtel: complaint surge (critical,
# triggered) since 2026-11-02 09:40 CET", maybe ", ended at ..." and " [history]".
_HEADLINE = re.compile(
    r"^(?P<brand>.+?): (?P<what>[a-z][a-z +-]*) \((?P<severity>\w+), (?P<status>\w+)\)"
    r" since (?P<since>[^,\[]+?)(?:, ended at (?P<ended>[^\[]+?))?(?P<history> \[history\])?$"
)


def incident_headline(text: str, locale: str = DEFAULT) -> str:
    """An incident's stored (English) headline in ``locale``'s words; one in another shape
    (an older or hand-written explanation) is shown as it is."""
    found = _HEADLINE.match(text)
    if locale == DEFAULT or found is None:
        return text
    tr = translations(locale)
    said = tr.gettext("%(brand)s: %(what)s (%(severity)s, %(status)s) since %(since)s") % {
        "brand": found["brand"],
        "what": " + ".join(tr.gettext(part) for part in found["what"].split(" + ")),
        "severity": tr.gettext(found["severity"]),
        "status": tr.gettext(found["status"]),
        "since": found["since"],
    }
    if found["ended"]:
        said += tr.gettext(", ended at %(at)s") % {"at": found["ended"]}
    return said + (" " + tr.gettext("[history]") if found["history"] else "")


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


def language(code: str | None, locale: str = DEFAULT) -> str:
    """``Danish`` for ``da`` (``dansk`` on a Danish page, Babel's name for it there); a
    code without a name stays a code; ``?`` is unknown."""
    if not code or code == "?":
        return translations(locale).gettext("unknown language")
    if locale == DEFAULT:
        return LANGUAGES.get(code, code)
    try:
        return Locale.parse(code).get_language_name(locale) or code
    except (ValueError, UnknownLocaleError):
        return code


def _round2(value: float) -> float:
    """Two significant figures: 422.06 -> 420, 1234 -> 1200."""
    digits = len(str(int(value))) - 2
    return float(round(value, -digits)) if digits > 0 else round(value)


def times_usual(ratio: float | None, expected: float | None = None, locale: str = DEFAULT) -> str:
    """How far above normal, in words: ``about 420 times the usual`` for 422.06x, ``about
    2.5 times the usual``, ``40% more than usual``; ``far above the usual (normally
    none)`` when nothing was expected."""
    tr = translations(locale)
    if ratio is None:
        return "—"
    if (expected is not None and expected <= 0) or ratio == float("inf"):
        return tr.gettext("far above the usual (normally none)")
    if ratio < 0.95:
        return tr.gettext("less than usual")
    if ratio < 1.05:
        return tr.gettext("about the usual")
    if ratio < 2:
        share = format_percent(ratio - 1, locale=locale)
        return tr.gettext("%(share)s more than usual") % {"share": share}
    if ratio < 10:
        times = format_decimal(round(ratio, 1), "#,##0.#", locale=locale)
    else:
        times = format_decimal(_round2(ratio), "#,##0", locale=locale)
    return tr.gettext("about %(times)s times the usual") % {"times": times}


def chance(p_value: float | None, score: float | None = None, locale: str = DEFAULT) -> str:
    """How unlikely on an ordinary day, in words: ``less than a one-in-a-billion chance``
    for p = 1.5e-156, ``about a 1-in-4,200,000 chance on an ordinary day`` for 2.4e-07; a
    slow rise (no p-value) by its CUSUM score."""
    tr = translations(locale)
    if p_value is None:
        shown = "—" if score is None else f"{score:g}"
        return tr.gettext("a steady rise, not a spike (CUSUM score %(score)s)") % {"score": shown}
    if p_value < 1e-9:
        return tr.gettext("less than a one-in-a-billion chance on an ordinary day")
    if p_value >= 0.05:
        return tr.gettext("could be chance on an ordinary day")
    odds = format_decimal(_round2(1 / p_value), "#,##0", locale=locale)
    return tr.gettext("about a 1-in-%(odds)s chance on an ordinary day") % {"odds": odds}
