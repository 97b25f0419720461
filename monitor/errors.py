"""The one exception tree of the ``monitor`` package.

::

    StormwatchError                 anything Stormwatch reports to a user as one sentence
     ├── ConfigError                the settings file or environment is wrong (all problems listed)
     ├── FetchError                 a fetch failed; ``kind`` names why (see FETCH_ERROR_KINDS)
     │    └── URLRefused            the URL gate refused the address: no request was made
     ├── StorageError               the database could not be reached or migrated
     ├── WorkerError                the parse worker processes cannot start
     ├── QueueError                 a triage operation was refused; ``kind`` names why
     └── AccountError               a user, login or session operation was refused
          └── LoginRefused          wrong name/password, or too many failures (``retry_after``)

Library exceptions (httpx, SQLAlchemy, tomllib, ...) are translated into these at the
boundary of the module that calls the library, so callers only ever see this tree.
"""

from __future__ import annotations

FETCH_ERROR_KINDS = (
    "refused",  # URL gate: non-global address or host outside the allow-list
    "robots",  # robots.txt disallows the path
    "timeout",  # overall deadline passed (slow drip, hung server)
    "connect",  # DNS / TCP / TLS failure
    "too_large",  # decoded body over the size cap
    "redirect",  # redirect loop, too many hops, or a bad Location
    "http_status",  # 4xx / 5xx other than the rate-limit statuses
    "rate_limited",  # 429 / 503 with or without Retry-After
    "parse",  # the body could not be read as the expected document
    "protocol",  # malformed HTTP, bad encoding headers
)


class StormwatchError(Exception):
    """Base of every error Stormwatch raises on purpose."""


class ConfigError(StormwatchError):
    """Configuration is invalid. ``problems`` holds one line per problem, key path first."""

    def __init__(self, problems: list[str], path: str | None = None) -> None:
        self.problems = list(problems)
        self.path = path
        where = f" in {path}" if path else ""
        super().__init__(f"{len(self.problems)} configuration problem(s){where}")


class FetchError(StormwatchError):
    """A fetch failed. ``kind`` is one of FETCH_ERROR_KINDS; ``retry_after`` is seconds or None."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        url: str = "",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        assert kind in FETCH_ERROR_KINDS, kind
        self.kind = kind
        self.url = url
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)


class URLRefused(FetchError):
    """The URL gate refused the target before any request was made."""

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__("refused", message, url=url)


class StorageError(StormwatchError):
    """The database could not be reached, migrated or written."""


QUEUE_ERROR_KINDS = (
    "not_found",  # no such queued post / incident
    "invalid_transition",  # e.g. responding to a dismissed post
    "invalid_input",  # a bad label, status or assignee
)


class WorkerError(StormwatchError):
    """The crawl's parse worker processes could not start (twice in a row)."""


class QueueError(StormwatchError):
    """A triage operation was refused. ``kind`` is one of QUEUE_ERROR_KINDS."""

    def __init__(self, kind: str, message: str) -> None:
        assert kind in QUEUE_ERROR_KINDS, kind
        self.kind = kind
        super().__init__(message)


class AccountError(StormwatchError):
    """A user, login or session operation was refused (duplicate name, weak password...)."""


class LoginRefused(AccountError):
    """Login refused. ``reason`` is ``bad_credentials`` or ``rate_limited``; the message
    never says which of name or password was wrong."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        self.reason = reason
        self.retry_after = retry_after
        text = {
            "bad_credentials": "wrong user name or password",
            "rate_limited": "too many failed logins; try again later",
        }[reason]
        super().__init__(text)


def first_line(exc: BaseException, limit: int = 300) -> str:
    """``Type: first line of the message`` (at most ``limit`` characters of it): how a
    library failure is logged, shown by /readyz and wrapped into this tree, never a
    traceback or a multi-line driver message."""
    lines = str(exc).strip().splitlines()
    name = type(exc).__name__
    return f"{name}: {lines[0][:limit]}" if lines else name
