"""Per-brand incremental state: ring buffers of bucket counts, threads, recent complaint posts.

Everything a detector reads lives here, indexed by absolute time so events may arrive out of
order (crawl lag) and detectors stay pure functions of ``(history, now)``:

- ``buckets``: 5-minute ring (3 days) of complaint mass, mentions and angry posts, plus the
  ids of the complaint posts in each bucket (for incidents and explanations);
- ``hours``: hourly ring (5 weeks) of the same counts, for the baseline and the slow burn;
- ``threads``: per thread, the sorted comment times and whether each comment was angry;
- ``surge_hours``: hours the engine marked as inside a surge (capped in the baseline);
- ``viral_threads``: threads the thread-velocity detector fired on (the slow burn caps them).

Events older than a ring's span are dropped from that ring (reason: too old to matter).
Times are kept as float UNIX seconds inside; datetimes at the edges.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from monitor.detect.events import COMPLAINT_FLOOR, PostEvent, complaint_weight, is_angry
from monitor.detect.voices import repeated, voice_of

BUCKET_SECONDS = 300
HOUR_SECONDS = 3600
BUCKETS_PER_HOUR = HOUR_SECONDS // BUCKET_SECONDS
BUCKET_DAYS = 3
HOUR_DAYS = 35
THREAD_KEEP_SECONDS = 2 * 86400


def ts(at: datetime) -> float:
    """UNIX seconds of an aware datetime."""
    return at.timestamp()


def from_ts(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def bucket_of(seconds: float) -> int:
    return int(seconds // BUCKET_SECONDS)


def hour_of(seconds: float) -> int:
    return int(seconds // HOUR_SECONDS)


@dataclass(frozen=True, slots=True)
class PostRef:
    """A complaint post as remembered in a bucket."""

    post_id: str
    weight: float
    thread_id: str | None
    author: str | None = None  # the voice key (monitor/detect/voices.py), not the raw name


class Ring:
    """Counts per absolute index in a fixed ring (numpy arrays); a stale slot reads as zero."""

    __slots__ = ("angry", "items", "keys", "late", "mass", "mentions", "newest", "size")

    def __init__(self, size: int, keep_items: bool = False) -> None:
        self.size = size
        self.keys = np.full(size, -1, dtype=np.int64)
        self.mass = np.zeros(size)
        self.mentions = np.zeros(size)
        self.angry = np.zeros(size)
        self.newest = -1
        self.late = 0  # adds below the newest index: invalidates caches of closed periods
        self.items: list[list[PostRef]] | None = [[] for _ in range(size)] if keep_items else None

    def add(self, index: int, mass: float, angry: bool, ref: PostRef | None = None) -> bool:
        slot = index % self.size
        if self.keys[slot] != index:
            if self.keys[slot] > index:
                return False  # older than the ring's span
            self._reset(slot, index)
        if index < self.newest:
            self.late += 1
        self.newest = max(self.newest, index)
        self.mass[slot] += mass
        self.mentions[slot] += 1
        self.angry[slot] += angry
        if ref is not None and self.items is not None:
            self.items[slot].append(ref)
        return True

    def _reset(self, slot: int, index: int) -> None:
        self.keys[slot] = index
        self.mass[slot] = self.mentions[slot] = self.angry[slot] = 0.0
        if self.items is not None:
            self.items[slot] = []

    def live(self, index: int) -> bool:
        return bool(self.keys[index % self.size] == index)

    def _slots(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        indexes = np.arange(lo, hi)
        slots = indexes % self.size
        return slots, self.keys[slots] == indexes

    def series(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Complaint mass and mentions per index over [lo, hi) as arrays."""
        slots, ok = self._slots(lo, hi)
        return np.where(ok, self.mass[slots], 0.0), np.where(ok, self.mentions[slots], 0.0)

    def window(self, lo: int, hi: int) -> np.ndarray:
        """Rows (mass, mentions, angry) x indexes over [lo, hi)."""
        slots, ok = self._slots(lo, hi)
        rows = np.stack((self.mass[slots], self.mentions[slots], self.angry[slots]))
        return np.where(ok, rows, 0.0)

    def sums(self, lo: int, hi: int) -> tuple[float, int, int]:
        """Complaint mass, mentions and angry posts over indexes [lo, hi)."""
        mass, mentions, angry = self.window(lo, hi).sum(axis=1)
        return float(mass), int(mentions), int(angry)

    def refs(self, lo: int, hi: int) -> list[PostRef]:
        if self.items is None:
            return []
        out: list[PostRef] = []
        for index in range(max(lo, hi - self.size), hi):
            if self.live(index):
                out.extend(self.items[index % self.size])
        return out


@dataclass
class ThreadState:
    """One thread's comments: sorted times, and which were angry."""

    thread_id: str
    first_at: float
    last_at: float
    times: list[float] = field(default_factory=list)
    angry: list[bool] = field(default_factory=list)
    post_ids: list[str] = field(default_factory=list)

    def add_comment(self, at: float, angry: bool, post_id: str) -> None:
        i = bisect.bisect_right(self.times, at)
        self.times.insert(i, at)
        self.angry.insert(i, angry)
        self.post_ids.insert(i, post_id)
        self.first_at = min(self.first_at, at)
        self.last_at = max(self.last_at, at)

    def count_between(self, lo: float, hi: float) -> int:
        return bisect.bisect_right(self.times, hi) - bisect.bisect_left(self.times, lo)

    def slice_between(self, lo: float, hi: float) -> tuple[list[bool], list[str]]:
        a, b = bisect.bisect_left(self.times, lo), bisect.bisect_right(self.times, hi)
        return self.angry[a:b], self.post_ids[a:b]


class BrandHistory:
    """Everything the detectors know about one brand."""

    def __init__(
        self,
        brand: str,
        complaint_floor: float = COMPLAINT_FLOOR,
        live_since: datetime | None = None,
    ) -> None:
        self.brand = brand
        self.complaint_floor = complaint_floor
        self.live_since: float | None = ts(live_since) if live_since else None
        self.buckets = Ring(BUCKET_DAYS * 24 * BUCKETS_PER_HOUR, keep_items=True)
        self.hours = Ring(HOUR_DAYS * 24)
        self.threads: dict[str, ThreadState] = {}
        self.thread_buckets: dict[int, set[str]] = {}
        self.author_buckets: dict[int, list[str]] = {}  # per bucket, complaint posts' voices
        self.surge_hours: set[int] = set()
        self.viral_threads: set[str] = set()  # threads the thread-velocity detector fired on
        self.first_at: float | None = None
        self.newest: float = -math.inf
        self.cache: dict[str, Any] = {}  # detectors' memo (e.g. the hourly baseline fit)

    def add(self, event: PostEvent) -> None:
        at = ts(event.at)
        threshold = self.complaint_floor if event.threshold is None else event.threshold
        weight = complaint_weight(event.complaint, threshold)
        angry = is_angry(event)
        voice = voice_of(event.source, event.author) if weight > 0 else None
        ref = PostRef(event.post_id, weight, event.thread_id, voice) if weight > 0 else None
        if self.buckets.add(bucket_of(at), weight, angry, ref) and voice is not None:
            self.author_buckets.setdefault(bucket_of(at), []).append(voice)
        self.hours.add(hour_of(at), weight, angry)
        self.first_at = at if self.first_at is None else min(self.first_at, at)
        self.newest = max(self.newest, at)
        if event.thread_id:
            self._add_thread(event, at, angry)

    def _add_thread(self, event: PostEvent, at: float, angry: bool) -> None:
        assert event.thread_id is not None
        thread = self.threads.get(event.thread_id)
        if thread is None:
            thread = self.threads[event.thread_id] = ThreadState(event.thread_id, at, at)
        if event.is_comment:
            thread.add_comment(at, angry, event.post_id)
            self.thread_buckets.setdefault(bucket_of(at), set()).add(event.thread_id)
        else:
            thread.first_at = min(thread.first_at, at)

    def threads_touched(self, lo_bucket: int, hi_bucket: int) -> set[str]:
        touched: set[str] = set()
        for index in range(lo_bucket, hi_bucket):
            touched |= self.thread_buckets.get(index, set())
        return touched

    def repeated_authors(self, lo_bucket: int, hi_bucket: int) -> set[str]:
        """Voices with more than one complaint post in buckets [lo, hi)."""
        return repeated(
            voice
            for index in range(lo_bucket, hi_bucket)
            for voice in self.author_buckets.get(index, ())
        )

    def prune(self, now: float) -> None:
        """Forget threads quiet for two days and their bucket index, and authors' buckets
        as old."""
        horizon = now - THREAD_KEEP_SECONDS
        for key in [k for k, t in self.threads.items() if t.last_at < horizon]:
            del self.threads[key]
        self.viral_threads &= self.threads.keys()
        oldest = bucket_of(horizon)
        for index in [i for i in self.thread_buckets if i < oldest]:
            del self.thread_buckets[index]
        for index in [i for i in self.author_buckets if i < oldest]:
            del self.author_buckets[index]
        oldest_hour = hour_of(now) - HOUR_DAYS * 24
        self.surge_hours = {h for h in self.surge_hours if h >= oldest_hour}

    def mark_surge(self, start: float, end: float) -> None:
        """These hours were inside a surge: the baseline caps them (see baseline.py)."""
        self.surge_hours.update(range(hour_of(start), hour_of(end) + 1))

    def live_bucket(self) -> int | None:
        """First whole bucket at or after the cut-over, or None when there is none."""
        if self.live_since is None:
            return None
        return math.ceil(self.live_since / BUCKET_SECONDS)

    def recent_buckets(self, now: float, count: int) -> tuple[int, int, float] | None:
        """The last `count` 5-minute buckets up to `now` as ``(lo, hi, partial)``: buckets
        [lo, hi), the last one (holding the instant before `now`) only `partial` elapsed.
        Once live, never before the cut-over; None when nothing is left."""
        hi = math.ceil(now / BUCKET_SECONDS)
        lo = hi - count
        live = self.live_bucket()
        if live is not None and not self.is_history(now):
            lo = max(lo, live)
        if lo >= hi:
            return None
        return lo, hi, (now - (hi - 1) * BUCKET_SECONDS) / BUCKET_SECONDS

    def is_history(self, now: float) -> bool:
        return self.live_since is not None and now < self.live_since
