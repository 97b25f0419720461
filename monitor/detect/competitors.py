"""A competitor's storm that names our brand in passing is the competitor's storm.

The classifier reads each post for each brand it names, keeping only the clauses about that
brand; when it fails ("skiftede fra Nordtel til Sydnet, kæmpe fejl" read as a complaint for
both), a storm at Sydnet pages Nordtel through every post that names both. The stream shows
what one post cannot: if Sydnet is in a storm right now, a post that names both belongs to
the brand it reads most as a complaint about, ties going to the brand whose storm is
stronger (a reading not made yet counts as a complaint about the storming brand: the classify
stage reads rising brands' posts first, so the storming brand's reading is usually there).

A surge at our brand is then tested again without the posts that belong to a storming
competitor, with the detector's own thresholds; if what is left is no storm, the decision is
``competitor_storm`` and nothing pages. A storm at both brands (a shared supplier's outage)
pages both, each on its own posts. Only configured brands are known here: list a competitor
among the brands to have its storms told apart from yours.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

from monitor.detect.events import Decision, PostEvent
from monitor.detect.history import BrandHistory, bucket_of, ts
from monitor.detect.reasons import Quiet
from monitor.detect.stats import nbinom_sf


class Limits(Protocol):
    """The thresholds a surge detector fires at (VolumeConfig, RisingConfig)."""

    @property
    def min_count(self) -> float: ...
    @property
    def min_ratio(self) -> float: ...
    @property
    def alpha(self) -> float: ...
    @property
    def dispersion(self) -> float: ...


@dataclass
class SharedPost:
    """A post that names more than one brand: the brands, and each reading seen so far."""

    brands: frozenset[str]
    complaint: dict[str, float] = field(default_factory=dict)


class SharedPosts:
    """Posts that name several brands, remembered as long as the detector dedups posts."""

    def __init__(self) -> None:
        self.posts: dict[str, SharedPost] = {}
        self._order: deque[tuple[int, str]] = deque()

    def add(self, event: PostEvent, hour: int) -> None:
        if not event.also:
            return
        found = self.posts.get(event.post_id)
        if found is None:
            found = SharedPost(frozenset((event.brand, *event.also)))
            self.posts[event.post_id] = found
            self._order.append((hour, event.post_id))
        found.complaint[event.brand] = event.complaint

    def prune(self, oldest_hour: int) -> None:
        while self._order and self._order[0][0] < oldest_hour:
            self.posts.pop(self._order.popleft()[1], None)

    def owner(self, post_id: str, brand: str, storming: Mapping[str, float]) -> str:
        """The brand a post about `brand` belongs to, given the brands storming now (with
        their storms' ratio to normal)."""
        shared = self.posts.get(post_id)
        if shared is None:
            return brand
        rivals = [b for b in shared.brands if b != brand and b in storming]
        if not rivals:
            return brand

        def claim(b: str) -> tuple[float, float]:
            reading = shared.complaint.get(b, 0.0 if b == brand else 1.0)
            return reading, storming.get(b, 0.0)

        return max([brand, *rivals], key=claim)


def attribute(
    decision: Decision,
    history: BrandHistory,
    shared: SharedPosts,
    storming: Mapping[str, float],
    limits: Limits,
    dispersion: float,
) -> Decision:
    """`decision` again without the posts in its window that belong to a storming
    competitor: unchanged when none do or what is left still fires, else held back."""
    signal = decision.signal
    if signal is None:
        return decision
    lo, hi = bucket_of(ts(signal.window_start)), bucket_of(ts(signal.window_end)) + 1
    theirs = sum(
        ref.weight
        for ref in history.buckets.refs(lo, hi)
        if shared.owner(ref.post_id, decision.brand, storming) != decision.brand
    )
    if theirs <= 0:
        return decision
    left = max(0.0, signal.observed - theirs)
    size = min(limits.dispersion, dispersion)
    p_value = nbinom_sf(left, signal.expected, size)
    fires = (
        left >= limits.min_count
        and left >= limits.min_ratio * signal.expected
        and p_value <= limits.alpha
    )
    if fires:
        return decision
    return replace(
        decision, reason=Quiet.COMPETITOR_STORM, observed=left, p_value=p_value, signal=None
    )


def storming_brands(decisions: list[Decision], kinds: frozenset[str]) -> dict[str, float]:
    """Brands with a live surge firing now, and the strongest ratio to normal of each."""
    out: dict[str, float] = {}
    for d in decisions:
        if d.signal is not None and d.kind in kinds and not d.signal.history:
            out[d.brand] = max(out.get(d.brand, 0.0), d.signal.ratio)
    return out
