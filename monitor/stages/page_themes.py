"""What a storm is about, in the pages sent to the manager ("57 about internet outage odense,
new: 22 about double billing").

Decisions:

- **Computed at page time, not cached.** A storm grows between its pages (trigger,
  escalation, follow-ups), so a cached line would name yesterday's sizes; what is slow is
  the encoder, and the embeddings are cached already: the classify stage embedded each
  post's passage minutes earlier, and its encoder (the one loaded in the daemon) keeps them
  in its LRU (``classifiers.cache``). Themes from cached embeddings cost the grouping alone
  (benchmarks/RESULTS.md, "themes": ~0.1 s at 2,000 posts). The line is remembered per
  (incident, posts) within one planning pass, so a page to three people computes it once.
- **Never hold a page back.** No encoder in this process (the model missing, not loaded
  yet, a backend without one, a cluster page worker), or more posts without an embedding
  than ``MAX_EMBED_AT_PAGE`` (after a restart emptied the cache): the page goes out without
  the line, and one log line says why (``themes_skipped`` with a named reason). The posts
  embedded meanwhile stay cached, so a later page of the storm has its themes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlmodel import Session

from classifiers.base import Encoder
from classifiers.cache import CachedEncoder, text_key
from classifiers.errors import ClassifierError
from monitor.queue.service import rows_for
from monitor.storage.models import IncidentRow
from monitor.themes import ThemePost, theme_posts, themes_for, themes_line

log = logging.getLogger("stormwatch.paging")

# A page may wait for this many passages to be embedded (~0.3-1 s at the 15-60 posts/s of
# benchmarks/RESULTS.md, "themes"), inside the paging transaction that holds SQLite's write
# lock; more means a cold cache, and the page goes without.
MAX_EMBED_AT_PAGE = 16
MIN_POSTS = 4  # fewer posts are read in the page itself; themes would say nothing more
SLOW_SECONDS = 2.0  # a line that took longer is logged, so a slow model shows in the log

SkipReason = Literal["no_encoder", "not_embedded", "too_few_posts", "classifier_error"]


@dataclass(frozen=True)
class PageThemes:
    """The themes line for an incident's page, or "" and a logged reason."""

    encoder: Callable[[], Encoder | None]  # the daemon's loaded encoder; never loads one
    max_embed: int = MAX_EMBED_AT_PAGE
    _memo: dict[tuple[str, int], str] = field(default_factory=dict, repr=False)

    def reset(self) -> None:
        """Forget the lines of the last planning pass (the storm may have grown)."""
        self._memo.clear()

    def line(self, session: Session, row: IncidentRow, post_ids: Sequence[str]) -> str:
        key = (row.id, len(post_ids))
        if key not in self._memo:
            try:
                self._memo[key] = self._compute(session, row, post_ids)
            except Exception as exc:  # the page goes out whatever fails here (see above)
                log.warning(
                    "themes_skipped",
                    extra={"incident": row.id, "reason": "failed", "detail": repr(exc)[:200]},
                )
                self._memo[key] = ""
        return self._memo[key]

    def _compute(self, session: Session, row: IncidentRow, post_ids: Sequence[str]) -> str:
        started = time.perf_counter()
        posts = theme_posts(rows_for(session, ((p, row.brand) for p in post_ids)))
        if len(posts) < MIN_POSTS:
            return _skipped(row, "too_few_posts", f"{len(posts)} posts")
        encoder = self.encoder()
        if encoder is None:
            return _skipped(row, "no_encoder", "no classifier model is loaded in this process")
        missing = _missing(encoder, posts)
        if len(missing) > self.max_embed:
            try:
                encoder.embed(missing[: self.max_embed])  # warms the cache for the next page
            except ClassifierError as exc:
                return _skipped(row, "classifier_error", str(exc))
            detail = f"{len(missing)} of {len(posts)} posts not embedded yet"
            return _skipped(row, "not_embedded", detail)
        try:
            line = themes_line(themes_for(posts, encoder.embed, [row.brand]))
        except ClassifierError as exc:
            return _skipped(row, "classifier_error", str(exc))
        seconds = time.perf_counter() - started
        if seconds > SLOW_SECONDS:
            log.info("themes slow", extra={"incident": row.id, "seconds": round(seconds, 2)})
        return line


def _missing(encoder: Encoder, posts: Sequence[ThemePost]) -> list[str]:
    """The texts the encoder would have to embed (all of them when it caches nothing)."""
    texts = list(dict.fromkeys(p.text for p in posts))
    if not isinstance(encoder, CachedEncoder):
        return texts
    return [t for t in texts if text_key(t) not in encoder.cache]


def _skipped(row: IncidentRow, reason: SkipReason, detail: str) -> str:
    log.info("themes_skipped", extra={"incident": row.id, "reason": reason, "detail": detail})
    return ""
