"""The source-adapter seam: what to fetch, and how to turn fetched bytes into posts.

An adapter is small and pure: ``start(source)`` names the first requests; ``parse(request,
body, headers)`` turns one response into posts, further requests to make (a blog post's
comment feed, a forum topic) and warnings. Parsers never raise on a malformed document:
they return what they could read and say what was wrong. The crawler does the fetching,
matching, storing and bookkeeping, identically for every kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:  # only annotations: keep pydantic and httpx out of the parse workers
    from monitor.fetch import Fetcher
    from monitor.settings import SourceSettings


@dataclass(frozen=True)
class Request:
    """One URL to fetch for a source. ``role`` tells the adapter how to read the answer;
    ``thread_url`` carries the thread a comment feed or topic belongs to."""

    url: str
    role: str = "index"
    thread_url: str | None = None
    thread_title: str | None = None
    # API kinds: the adapter's own state along one walk of pages (the mark it started
    # from, the newest item seen so far); opaque to the crawler, never a secret.
    cursor: str | None = None


@dataclass(frozen=True)
class RawPost:
    """A post as a parser read it, before matching and storage."""

    url: str
    text: str
    title: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    external_id: str | None = None
    thread_url: str | None = None  # the root post's URL, for comments
    parent_url: str | None = None  # the post or comment this one answers
    lang_hint: str | None = None
    rating: int | None = None  # stars of a review (App Store, Trustpilot), 1-5

    @property
    def is_comment(self) -> bool:
        return self.thread_url is not None and self.thread_url != self.url


@dataclass
class Parsed:
    posts: list[RawPost] = field(default_factory=list)
    follow: list[Request] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failed: bool = False  # nothing usable came out: the fetch counts as an error
    # API kinds: high-water marks to persist with this pass's posts (stream -> mark),
    # set only once a walk has reached the previous mark, so nothing is skipped.
    marks: dict[str, str] = field(default_factory=dict)


class SourceAdapter(Protocol):
    kind: ClassVar[str]

    def start(self, source: SourceSettings) -> list[Request]: ...

    def parse(self, request: Request, body: bytes, headers: Mapping[str, str]) -> Parsed: ...


@runtime_checkable
class ApiAdapter(SourceAdapter, Protocol):
    """A platform API (HN search, App Store reviews, Mastodon, Bluesky, Trustpilot): it
    resumes from persisted marks instead of starting afresh, and signs its requests.

    ``resume(source, marks, now)`` names the first requests from the marks of the last
    completed walk (stream -> mark; empty on the first run). ``sign`` returns the request
    headers carrying the source's credentials (it may log in through ``fetcher``; the
    headers never leave the fetch module). ``renew(source, status)`` is asked when the
    platform refused a signed request: True if there was a session worth replacing (the
    crawler then signs again and retries once), False if the credentials themselves are
    wrong."""

    def resume(
        self, source: SourceSettings, marks: Mapping[str, str], now: datetime
    ) -> list[Request]: ...

    async def sign(
        self, source: SourceSettings, fetcher: Fetcher, now: datetime
    ) -> dict[str, str]: ...

    def renew(self, source: SourceSettings, status: int | None) -> bool: ...

    keyless: ClassVar[bool]  # sends no credentials: a 401/403 refuses the client itself
    refused: ClassVar[str | None]  # what a 401/403 means for this kind, if not credentials
    refused_on: ClassVar[tuple[int, ...]]  # the statuses ``refused`` explains

    def cost(self, request: Request) -> int: ...
