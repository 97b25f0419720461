"""The classify stage: read every stored post once for each brand it is about.

Posts wait in the database, not in memory: a post is *pending* for a brand while it has no
reading, or its reading was made for other text (the post was edited) or by another model.
So a killed process loses nothing (the next run picks the pending posts up), an unchanged
post is never classified twice (the reading is the cache, keyed by content hash and model),
and the crawl never waits for the model.

Target-aware reading (classifiers.passages): for brand A only the sentences around A's
mentions (and the title) are classified, so a complaint about brand B that mentions A in
passing does not count against A. A post that names no brand (a comment inheriting its
thread's brand, a post on a brand's own forum) is read from its beginning.

If the classifier cannot load (model folder missing or corrupt), the stage reports that
with a named reason and the daemon goes on crawling: posts stay pending, nothing is dropped.

Progress under restarts: the model is loaded once per process (before the first crawl, by
the daemon's warm-up); readings are committed every ``commit_every`` pairs (32), so a
process killed mid-batch keeps what it read; and the storm comes first: pending posts of
*rising* brands (an open incident, live or watched, or at least ``RISING_MIN`` posts
published in the last hour and ``RISING_RATIO`` times the brand's hourly mean of the week
before) are read
before the rest, and within each group the newest first, so a crash-looping daemon or a
first crawl's backlog never keeps a storm's posts waiting behind days-old posts.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from classifiers.base import Classifier, Encoder
from classifiers.config import ClassifierSettings
from classifiers.errors import ClassifierError
from classifiers.passages import PostReading, read_posts
from classifiers.registry import load_classifier
from monitor.match.brands import BrandMatcher
from monitor.queue import service as queue
from monitor.storage import repo
from monitor.storage.db import session_scope
from monitor.storage.models import IncidentRow, Post, PostBrand, Reading

log = logging.getLogger("stormwatch.classify")

Loader = Callable[[ClassifierSettings], Classifier]


RISING_WINDOW = timedelta(hours=1)
RISING_HISTORY = timedelta(days=7)
RISING_MIN = 5  # posts in the last hour before a brand counts as rising
RISING_RATIO = 3.0  # times the brand's hourly mean over the week before


def rising_brands(session: Session, now: datetime) -> list[str]:
    """Brands whose pending posts are read first: an open incident (live, or watched: its
    posts decide whether it lasts), or a burst of posts in the last hour (``RISING_MIN`` and
    ``RISING_RATIO`` x the week's hourly mean)."""
    incidents = sa.select(col(IncidentRow.brand)).where(
        col(IncidentRow.status) != "resolved", col(IncidentRow.origin) != "history"
    )
    found = set(session.execute(incidents).scalars())
    recent = now - RISING_WINDOW
    published = col(Post.published_at)
    query = (
        sa.select(
            col(PostBrand.brand),
            sa.func.sum(sa.case((published >= recent, 1), else_=0)),
            sa.func.sum(sa.case((published < recent, 1), else_=0)),
        )
        .join(Post, col(Post.id) == col(PostBrand.post_id))
        .where(published >= now - RISING_HISTORY, published <= now)
        .group_by(col(PostBrand.brand))
    )
    hours = (RISING_HISTORY - RISING_WINDOW) / timedelta(hours=1)
    for brand, last_hour, before in session.execute(query):
        if last_hour >= RISING_MIN and last_hour >= RISING_RATIO * (before or 0) / hours:
            found.add(brand)
    return sorted(found)


def model_tag(settings: ClassifierSettings) -> str:
    """Names the model that made a reading: backend, encoder and a digest of the head."""
    if settings.backend == "pipeline":
        return f"pipeline:{settings.pipeline.model}"[:200]
    head = settings.head_path()
    digest = hashlib.sha256(head.read_bytes()).hexdigest()[:12] if head.is_file() else "no-head"
    return f"e5:{settings.model_dir or 'e5-small'}:{digest}"[-200:]


@dataclass
class ClassifyReport:
    classified: int = 0
    complaints: int = 0
    flagged: int = 0  # posts that entered the queue
    unavailable: str | None = None  # why the classifier could not run (posts stay pending)


class ClassifyStage:
    """The classify stage: read pending (post, brand) pairs with the model."""

    name = "classify"

    def __init__(
        self,
        settings: ClassifierSettings,
        engine: Engine | None,
        brands: BrandMatcher,
        *,
        loader: Loader = load_classifier,
        flag_threshold: float = 0.5,
        commit_every: int = 32,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.brands = brands
        self.loader = loader
        self.flag_threshold = flag_threshold
        self.commit_every = commit_every
        self._classifier: Classifier | None = None
        self._lock = threading.Lock()

    @functools.cached_property
    def model_id(self) -> str:
        """Readings made by another model are stale (a retrained head re-reads posts)."""
        return model_tag(self.settings)

    def classifier(self) -> Classifier:
        """Load once (thread-safe); a failure is raised again on the next call, so a model
        folder repaired while the daemon runs is picked up without a restart."""
        with self._lock:
            if self._classifier is None:
                classifier = self.loader(self.settings)
                load = getattr(classifier, "load", None)
                if callable(load):  # backends load lazily; fail here, not mid-batch
                    load()
                self._classifier = classifier
            return self._classifier

    def loaded_encoder(self) -> Encoder | None:
        """The loaded classifier's encoder (its embedding cache holds the passages just
        read), or None when no model is loaded in this process or the backend has none;
        never loads one (storm themes on pages: monitor/stages/page_themes.py)."""
        with self._lock:
            classifier = self._classifier
        load = getattr(classifier, "load", None)
        ready = load() if classifier is not None and callable(load) else None
        encoder = ready[0] if isinstance(ready, tuple) and ready else None
        return encoder if isinstance(encoder, Encoder) else None

    async def run(self, now: datetime) -> ClassifyReport:
        """:class:`monitor.stages.Stage`: one batch, the model in a worker thread."""
        return await asyncio.to_thread(self.run_once, now)

    def run_once(self, now: datetime, limit: int = 256) -> ClassifyReport:
        """Classify up to ``limit`` pending (post, brand) pairs, rising brands' and the
        newest first, committing every ``commit_every``."""
        try:
            classifier = self.classifier()
        except ClassifierError as exc:
            log.warning("classifier unavailable", extra={"reason": str(exc)})
            return ClassifyReport(unavailable=str(exc))
        assert self.engine is not None, "run_once needs a database"
        with session_scope(self.engine) as session:
            first = rising_brands(session, now)
            pending = repo.pending_readings(session, self.model_id, limit, first=first)
        report = ClassifyReport()
        for number, start in enumerate(range(0, len(pending), self.commit_every)):
            chunk = pending[start : start + self.commit_every]
            try:
                readings = self.read(classifier, chunk)
            except ClassifierError as exc:
                log.warning("classification failed", extra={"reason": str(exc)})
                report.unavailable = str(exc)
                return report
            # each commit stamped after the previous one: a detector that reads between two
            # commits (cluster mode) takes the later one as new, not as already seen
            self._commit(chunk, readings, now + timedelta(microseconds=number), report)
        return report

    def _commit(
        self,
        chunk: Sequence[tuple[Post, str]],
        readings: Sequence[PostReading],
        stamp: datetime,
        report: ClassifyReport,
    ) -> None:
        assert self.engine is not None, "run_once needs a database"
        rows = [self._row(p, b, r, stamp) for (p, b), r in zip(chunk, readings, strict=True)]
        with session_scope(self.engine) as session:
            for row in rows:
                repo.save_reading(session, row)
            report.flagged += queue.flag(session, rows, self.flag_threshold, stamp)  # same txn
        report.classified += len(rows)
        report.complaints += sum(1 for r in readings if r.label == "complaint")

    def drain(self, now: datetime, limit: int = 256, max_batches: int = 1000) -> ClassifyReport:
        """Classify everything pending (in batches of ``limit``)."""
        total = ClassifyReport()
        for _ in range(max_batches):
            report = self.run_once(now, limit)
            total.classified += report.classified
            total.complaints += report.complaints
            total.flagged += report.flagged
            total.unavailable = report.unavailable
            if report.unavailable or report.classified < limit:
                break
        return total

    def read(
        self, classifier: Classifier, pending: Sequence[tuple[Post, str]]
    ) -> list[PostReading]:
        posts = [(p.title, p.text, self.mention_spans(p.text, brand)) for p, brand in pending]
        langs = [p.lang for p, _ in pending]
        others = [self.other_spans(p.text, brand) for p, brand in pending]
        return read_posts(
            classifier, posts, window=self.settings.window_sentences, langs=langs, others=others
        )

    def mention_spans(self, text: str, brand: str) -> list[tuple[int, int]]:
        return [(m.start, m.end) for m in self.brands.mentions(text) if m.brand == brand]

    def other_spans(self, text: str, brand: str) -> list[tuple[int, int]]:
        """Mentions of the other configured brands: their clauses are theirs, not ``brand``'s."""
        return [(m.start, m.end) for m in self.brands.mentions(text) if m.brand != brand]

    def _row(self, post: Post, brand: str, reading: PostReading, now: datetime) -> Reading:
        scores, passage = reading.scores, reading.passage
        return Reading(
            post_id=post.id,
            brand=brand,
            content_hash=post.content_hash,
            model=self.model_id,
            negative=scores.negative,
            neutral=scores.neutral,
            positive=scores.positive,
            complaint=scores.complaint,
            label=scores.label,
            passage=passage.text,
            passage_source=passage.source,
            passage_start=passage.start,
            passage_end=passage.end,
            classified_at=now,
        )
