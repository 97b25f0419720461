"""Retry delays after failed fetches: pure functions, the clock and the dice passed in.

- Exponential: ``base * 2**(failures - 1)``, so a source that fails once is retried after
  ``base`` and one that keeps failing slows down to ``cap`` (6 h by default): a broken
  site is not hammered, a flaky one comes back quickly.
- Jitter of +/- ``jitter`` (a fraction) so sources that failed together (one host down)
  do not retry in lock-step. ``cap`` stays a hard ceiling after jitter, because operators
  read it as "at least every six hours".
- A server's ``Retry-After`` is a floor: we never come back earlier than asked, even above
  ``cap``. It is itself capped at ``RETRY_AFTER_CAP`` (24 h) so a hostile or broken header
  ("Retry-After: 99999999") cannot silence a source for years.
- ``parse_retry_after`` reads both forms of RFC 9110 §10.2.3 (delta-seconds, HTTP-date)
  relative to a ``now`` given by the caller, and returns None for anything else rather
  than raising: the header is untrusted input.
- ``rate_limit_wait`` adds the platforms' own rate-limit headers for when Retry-After is
  missing: ``X-RateLimit-Reset`` (Mastodon: an ISO 8601 time), ``RateLimit-Reset``
  (Bluesky: Unix seconds; the IETF draft: seconds from now), ``X-Rate-Limit-Reset`` (X).
  ``quota_spent`` reads the same headers on a *successful* answer: remaining 0 means the
  next request would be refused, so the walk stops and the host waits until the reset.
- ``throttled_for`` reads Facebook's Graph API usage headers (``X-Business-Use-Case-Usage``,
  ``X-App-Usage``, ``X-Page-Usage``: JSON percentages of the allowance, and for business
  use cases ``estimated_time_to_regain_access`` in minutes). Graph refuses a throttled call
  with a 400/403, not a 429, so the fetcher asks this for every refusal; a 2xx answer at
  100 % of any allowance ends the walk like ``quota_spent``.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = [
    "RETRY_AFTER_CAP",
    "next_delay",
    "parse_retry_after",
    "quota_spent",
    "rate_limit_wait",
    "throttled_for",
]

RETRY_AFTER_CAP = 24 * 3600.0
_DELTA_SECONDS = re.compile(r"[+-]?[0-9]{1,30}", re.ASCII)
_RESET_HEADERS = ("x-ratelimit-reset", "ratelimit-reset", "x-rate-limit-reset")
_REMAINING_HEADERS = ("x-ratelimit-remaining", "ratelimit-remaining", "x-rate-limit-remaining")
_EPOCH_AFTER = 1_000_000_000  # a reset this large is a Unix time, smaller is seconds from now
_MAX_EXPONENT = 62  # 2**62 * any sane base is far above any cap; avoids float overflow


def next_delay(
    failures: int,
    *,
    base: float = 60.0,
    cap: float = 6 * 3600.0,
    jitter: float = 0.2,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after ``failures`` consecutive failures (0 failures -> no wait)."""
    delay = 0.0
    if failures > 0:
        raw = min(cap, base * 2.0 ** min(failures - 1, _MAX_EXPONENT))
        spread = min(max(jitter, 0.0), 1.0) * (2.0 * rand() - 1.0)
        delay = max(0.0, min(cap, raw * (1.0 + spread)))
    if retry_after is not None:
        delay = max(delay, min(max(retry_after, 0.0), RETRY_AFTER_CAP))
    return delay


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from ``now`` that a ``Retry-After`` header asks for; None if absent/garbage."""
    if value is None:
        return None
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        return float(min(max(int(text), 0), 10 * int(RETRY_AFTER_CAP)))
    return _seconds_until(text, now)


def _seconds_until(http_date: str, now: datetime) -> float | None:
    """Seconds from ``now`` until an HTTP-date (negative -> 0); None if not a date."""
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    return max(0.0, (_aware(when) - _aware(now)).total_seconds())


def _aware(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC (HTTP dates are always GMT)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def rate_limit_wait(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds a refused request (429/503) should wait: Retry-After, else the platform's
    rate-limit reset header; None if neither says. ``headers`` have lower-case names."""
    wait = parse_retry_after(headers.get("retry-after"), now)
    if wait is not None:
        return wait
    for name in _RESET_HEADERS:
        wait = _reset_seconds(headers.get(name), now)
        if wait is not None:
            return wait
    return None


def quota_spent(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds until the quota resets when a successful answer says none is left (remaining
    0 and a readable reset, or a Graph allowance used up); None while requests remain or
    the headers are absent."""
    for name in _REMAINING_HEADERS:
        if headers.get(name, "").strip() == "0":
            return rate_limit_wait({k: v for k, v in headers.items() if k != "retry-after"}, now)
    return throttled_for(headers)


_USAGE_HEADERS = ("x-business-use-case-usage", "x-app-usage", "x-page-usage")
_GRAPH_WINDOW = 3600.0  # Graph's allowances are rolling one-hour windows


def throttled_for(headers: Mapping[str, str]) -> float | None:
    """Seconds Graph asks us to wait: its estimated time to regain access, or an hour when
    an allowance is at 100 % without one; None when nothing is used up (or unreadable)."""
    waits = [w for name in _USAGE_HEADERS for w in _usage_waits(headers.get(name))]
    return max(waits) if waits else None


def _usage_waits(value: str | None) -> list[float]:
    try:
        doc = json.loads(value) if value else None
    except (ValueError, RecursionError):
        return []
    entries = (
        [e for v in doc.values() if isinstance(v, list) for e in v] if isinstance(doc, dict) else []
    )
    if isinstance(doc, dict) and not entries:
        entries = [doc]  # X-App-Usage / X-Page-Usage: one flat object
    return [w for w in (_entry_wait(e) for e in entries if isinstance(e, dict)) if w is not None]


def _entry_wait(entry: dict[str, object]) -> float | None:
    regain = entry.get("estimated_time_to_regain_access")
    if isinstance(regain, int | float) and not isinstance(regain, bool) and regain > 0:
        return min(float(regain) * 60, RETRY_AFTER_CAP)
    used = [v for k, v in entry.items() if k in ("call_count", "total_cputime", "total_time")]
    if any(isinstance(v, int | float) and not isinstance(v, bool) and v >= 100 for v in used):
        return _GRAPH_WINDOW
    return None


def _reset_seconds(value: str | None, now: datetime) -> float | None:
    if value is None:
        return None
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        number = int(text)
        if number >= _EPOCH_AFTER:
            return max(0.0, number - now.timestamp())
        return float(max(number, 0))
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0.0, (_aware(when) - _aware(now)).total_seconds())
