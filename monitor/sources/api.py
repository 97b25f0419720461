"""What the platform-API source kinds share: marks, walks, health reasons, untrusted JSON.

**Marks.** An API source remembers, per *stream* (a search term, a hashtag, a country),
the newest item of its last completed walk: ``sources.cursor`` holds them as JSON and the
crawler writes them in the same transaction as the posts, so a restart resumes exactly
there. Most platforms page newest first, so a walk starts at the newest page and goes
back until it reaches the mark; the new mark (the newest item seen) is committed only by
the page that ends the walk (``Parsed.marks``). A walk cut short (an error, a spent
quota) commits nothing, and the next pass starts again from the old mark: posts already
stored are recognised by their URL, so nothing is missed and nothing stored twice.

**Walk state** travels in ``Request.cursor`` from one page to the next (the stream, the
mark it started from, the newest and oldest items seen), as plain JSON: the parse workers
get it with the request and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from monitor.errors import FetchError
from monitor.sources.base import Request

if TYPE_CHECKING:  # only annotations: keep pydantic and httpx out of the parse workers
    from monitor.fetch import Fetcher
    from monitor.settings import SourceSettings

__all__ = [
    "ApiBase",
    "Walk",
    "as_dict",
    "as_int",
    "as_text",
    "health_reason",
    "load_json",
    "load_marks",
    "quota_used",
    "save_marks",
    "spend",
]

MAX_PAGES = 10  # per stream and pass; a platform with more new posts than this is behind
JSON_HEADERS = {"Accept": "application/json"}


# ---------------------------------------------------------------- marks


def load_marks(cursor: str | None) -> dict[str, str]:
    """The persisted marks (stream -> mark); a broken value reads as none (start afresh)."""
    try:
        marks = json.loads(cursor) if cursor else {}
    except ValueError:
        return {}
    if not isinstance(marks, dict):
        return {}
    return {str(k): str(v) for k, v in marks.items() if isinstance(v, str | int)}


def save_marks(marks: dict[str, str]) -> str:
    return json.dumps(marks, sort_keys=True, separators=(",", ":"))


QUOTA_DAY = ZoneInfo("America/Los_Angeles")  # YouTube's daily quota resets at midnight PT


def spend(marks: dict[str, str], units: int, now: datetime) -> dict[str, str]:
    """``marks`` with ``units`` added to today's quota count (``quota:<date>`` in Pacific
    time); the counts of earlier days dropped."""
    key = _quota_key(now)
    kept = {k: v for k, v in marks.items() if not k.startswith("quota:") or k == key}
    return {**kept, key: str(int(kept.get(key, "0") or 0) + units)}


def quota_used(cursor: str | None, now: datetime) -> int | None:
    """Quota units spent today (Pacific time) by the source whose marks are ``cursor``."""
    used = load_marks(cursor).get(_quota_key(now))
    return int(used) if used is not None and used.isdigit() else None


def _quota_key(now: datetime) -> str:
    return "quota:" + now.astimezone(QUOTA_DAY).date().isoformat()


@dataclass(frozen=True)
class Walk:
    """One stream's walk over pages: ``mark`` it started from (None: the first run),
    ``newest`` item seen (committed as the new mark when the walk ends), ``oldest`` item
    seen so far (a page that repeats it is a loop), ``page`` number."""

    stream: str
    mark: str | None = None
    newest: str | None = None
    oldest: str | None = None
    page: int = 1

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def decode(cls, request: Request) -> Walk:
        try:
            data = json.loads(request.cursor or "")
            return cls(**data) if isinstance(data, dict) else cls("")
        except (ValueError, TypeError):
            return cls("")


# ---------------------------------------------------------------- health


def health_reason(
    error: FetchError,
    now: datetime,
    keyless: bool = False,
    refused: str | None = None,
    refused_on: tuple[int, ...] = (401, 403),
) -> str:
    """The source health an operator reads: what happened, in words, then where.
    ``keyless``: the kind sends no credentials, so a 401/403 refuses the client itself;
    ``refused``: what a refusal (``refused_on`` statuses) means for this kind."""
    where = error.url or "the platform"
    status = f"HTTP {error.status}" if error.status else error.kind
    if error.kind == "rate_limited":
        if error.retry_after is None:
            return f"rate limited ({status}), backing off: {where}"
        return f"rate limited until {_clock(now, error.retry_after)} ({status}): {where}"
    if error.status in (401, 403) and keyless:
        return f"access refused ({status}): the platform refuses this client: {where}"
    if error.status in refused_on and refused:
        return f"access refused ({status}): {refused}: {where}"
    if error.status in (401, 403):
        return f"credentials rejected ({status}): check the source's credentials: {where}"
    if error.status == 400:
        return f"request refused ({status}): check the source's key and ids: {where}"
    if error.status in (404, 410):
        return f"page not found ({status}): check the source's url and ids: {where}"
    if error.status is not None and error.status >= 500:
        return f"platform error ({status}), retrying with backoff: {where}"
    if error.kind == "parse":
        return f"answer not understood: {error}"
    return str(error)


def _clock(now: datetime, seconds: float) -> str:
    until = (now + timedelta(seconds=seconds)).astimezone(UTC)
    same_day = until.date() == now.astimezone(UTC).date()
    return until.strftime("%H:%M UTC" if same_day else "%Y-%m-%d %H:%M UTC")


# ---------------------------------------------------------------- the adapters' base


class ApiBase:
    """Defaults for API adapters: no credentials, nothing to renew. ``start`` (the plain
    adapter seam, used by tools) resumes from no marks at the current time; the crawler
    calls ``resume`` with the persisted marks and its own clock. ``keyless``: the kind
    sends no credentials (the health reason of a 401/403 says so); ``refused``: what a
    401/403 means instead of "credentials rejected"; ``cost``: the platform's quota units
    per request (YouTube), added up per day in the marks under ``quota:<date>``."""

    keyless: ClassVar[bool] = False
    refused: ClassVar[str | None] = None  # what a 401/403 means, when the kind knows better
    refused_on: ClassVar[tuple[int, ...]] = (401, 403)  # Graph answers 400 for a bad token

    def cost(self, request: Request) -> int:
        """Quota units the platform charges for ``request`` (0: it counts none)."""
        return 0

    def resume(
        self, source: SourceSettings, marks: Mapping[str, str], now: datetime
    ) -> list[Request]:
        raise NotImplementedError

    def start(self, source: SourceSettings) -> list[Request]:
        return self.resume(source, {}, datetime.now(UTC))

    async def sign(self, source: SourceSettings, fetcher: Fetcher, now: datetime) -> dict[str, str]:
        return dict(JSON_HEADERS)

    def renew(self, source: SourceSettings, status: int | None) -> bool:
        return False


# ---------------------------------------------------------------- untrusted JSON


def load_json(body: bytes) -> Any:
    """The decoded document, or None if the body is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_text(value: object) -> str | None:
    """A string or integer field as text (NUL removed: never text, and PostgreSQL refuses
    it); None for anything else or empty."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).replace("\x00", "")
    return text or None


def as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
