"""The one clock helper, the one ``--since`` grammar and the one check of a time zone name,
shared by the CLI, the web UI and the runners. Everything else takes ``now`` as an argument
(docs/ARCHITECTURE.md, "Time is passed in"), so only entry points call :func:`utcnow`."""

from __future__ import annotations

import functools
import re
import zoneinfo
from datetime import UTC, datetime, timedelta

from monitor.errors import StormwatchError

_SPAN = re.compile(r"(\d{1,4})([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class SinceError(StormwatchError):
    """A ``since`` value is neither a span (``2h``) nor an ISO 8601 date or time."""


class ZoneError(StormwatchError):
    """A time zone name that is not an IANA zone of this machine's database."""


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def parse_since(value: str | None, now: datetime, name: str = "since") -> datetime | None:
    """``30m``, ``24h``, ``7d``, ``2w`` before ``now``, or an ISO 8601 date/time (naive
    means UTC); ``None`` or blank means no bound. Returned in UTC. Raises :class:`SinceError`
    naming ``name`` for anything else, including a time with no UTC form
    (``0001-01-01T00:00+14:00``)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    span = _SPAN.fullmatch(text.lower())
    if span:
        return now - timedelta(**{_UNITS[span.group(2)]: int(span.group(1))})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise SinceError(f"{name}: use e.g. 2h, 7d or 2026-11-02, not {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise SinceError(f"{name}: {value!r} is outside the years 1–9999 in UTC") from None


def is_span(value: str) -> bool:
    """Whether ``value`` is a span before now (``24h``) rather than a date, so a sentence
    can say "in the last 24h" or "since 2026-11-02"."""
    return _SPAN.fullmatch(value.strip().lower()) is not None


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())  # walks the zone database: once


def known_zones() -> list[str]:
    """The IANA zone names this machine knows, sorted."""
    return sorted(_zone_names())


def parse_zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone named ``name`` (``Europe/Copenhagen``). Only names in :func:`known_zones`:
    ``ZoneInfo`` alone would also open keys like ``posixrules`` that are no one's zone.
    Raises :class:`ZoneError` with the sentence a person sees."""
    text = name.strip()
    if text not in _zone_names():
        shown = text if len(text) <= 60 else text[:59] + "…"
        raise ZoneError(f"unknown time zone {shown!r}: use an IANA name like Europe/Copenhagen")
    return zoneinfo.ZoneInfo(text)
