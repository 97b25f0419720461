"""What the crawl hands the store: plain records, importable without the database stack.

The crawl's parse workers (:mod:`monitor.stages.read`) build these in another process; keeping
them out of :mod:`monitor.storage.repo` keeps SQLAlchemy and SQLModel out of the workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["PostRecord"]


@dataclass(frozen=True)
class PostRecord:
    """A matched post ready to store (built by the crawler from a RawPost)."""

    id: str
    canonical_url: str
    kind: str
    thread_id: str | None
    parent_id: str | None
    external_id: str | None
    author: str | None
    title: str | None
    text: str
    published_at: datetime | None
    lang: str | None
    brands: tuple[str, ...]
    brand_reason: str | None
    content_hash: str
    rating: int | None = None  # a review's stars (App Store, Trustpilot)
