"""The pipeline's stages, one module each, in the order a post meets them::

    crawl -> read -> classify -> detect -> page

``read`` (parsing, brand matching, language) runs inside ``crawl``'s passes, on the parse
workers, so the runners see four stages. The stages meet only in the database: each reads
what the previous one stored and records what it did, so any of them can be restarted on
its own (docs/ARCHITECTURE.md, "The pipeline").
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, TypeVar

ReportT_co = TypeVar("ReportT_co", covariant=True)


class Stage(Protocol[ReportT_co]):
    """What a runner needs of a stage: a name for logs, metrics and ``/readyz``, and one run
    at ``now`` that returns a typed report of what it did. Database and model work happen in
    worker threads inside ``run``, never on the event loop the web UI shares."""

    name: str

    async def run(self, now: datetime) -> ReportT_co: ...
