"""The one exception tree of the ``monitor`` package.

::

    StormwatchError                 anything Stormwatch reports to a user as one sentence
     ├── ConfigError                the settings file or environment is wrong (all problems listed)
     ├── FetchError                 a fetch failed; ``kind`` names why (see FETCH_ERROR_KINDS)
     │    └── URLRefused            the URL gate refused the address: no request was made
     └── StorageError               the database could not be reached or migrated

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
