"""Thread velocity: one thread whose comments suddenly pile up, and angrily.

For every thread with comments in the last ``window_minutes`` (30), compare the recent comment
count R with the thread's own earlier rate: comments before the window divided by the
thread's earlier age in windows (at least one window), floored at ``prior_per_window`` (2) so
a brand-new post does not look infinitely accelerated. The thread fires when:

- ``R >= min_count`` (10) — else ``below_min_count``;
- ``R / expected >= min_ratio`` (3x) — else ``below_min_ratio``;
- Poisson P(>= R) <= ``alpha`` (1e-4) — else ``within_expected``;
- the recent comments are angrier than the brand's usual posts: at least ``min_angry_share``
  (0.5) read negative or as complaints, and a binomial test against the brand's own share of
  angry posts over the last three days gives P <= ``angry_alpha`` (1e-4) — else
  ``not_negative`` (a popular happy, or ordinarily grumpy, thread is not a storm).

Brand volume plays no part: a single thread can page while the brand is otherwise quiet.
One decision per brand: the most significant firing thread (or the busiest, for the reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.detect.events import Decision, Severity, Signal
from monitor.detect.history import BrandHistory, ThreadState, bucket_of, from_ts, ts
from monitor.detect.reasons import Quiet, SignalKind
from monitor.detect.stats import binom_sf, poisson_sf

KIND = SignalKind.THREAD_VELOCITY


@dataclass(frozen=True)
class ThreadConfig:
    window_minutes: int = 30
    min_count: int = 10
    min_ratio: float = 3.0
    prior_per_window: float = 2.0
    alpha: float = 1e-4
    min_angry_share: float = 0.5
    angry_alpha: float = 1e-4
    default_angry_share: float = 0.3
    critical_count: int = 30


@dataclass(frozen=True)
class ThreadCount:
    thread: ThreadState
    start: float
    end: float
    recent: int
    expected: float
    angry_share: float
    post_ids: tuple[str, ...]

    @property
    def p_value(self) -> float:
        return poisson_sf(self.recent, self.expected)


class ThreadVelocity:
    kind = KIND

    def __init__(self, config: ThreadConfig = ThreadConfig()) -> None:
        self.config = config

    def evaluate(self, history: BrandHistory, now: datetime) -> Signal | None:
        return self.assess(history, now).signal

    def assess(self, history: BrandHistory, now: datetime) -> Decision:
        counts = self._counts(history, now)
        if not counts:
            return Decision(KIND, history.brand, now, Quiet.NO_ACTIVE_THREAD)
        usual = _usual_angry_share(history, self.config.default_angry_share)
        verdicts = [(self._test(c, usual), c) for c in counts]
        firing = [c for v, c in verdicts if v == KIND]
        if not firing:
            reason, busiest = max(verdicts, key=lambda vc: vc[1].recent)
            return Decision(
                KIND, history.brand, now, reason, busiest.recent, busiest.expected, busiest.p_value
            )
        best = min(firing, key=lambda c: c.p_value)
        signal = self._signal(history, now, best)
        reason = Quiet.HISTORY_ONLY if signal.history else KIND
        return Decision(
            KIND, history.brand, now, reason, best.recent, best.expected, best.p_value, signal
        )

    def _counts(self, history: BrandHistory, now: datetime) -> list[ThreadCount]:
        end = ts(now)
        start = end - self.config.window_minutes * 60
        if history.live_since is not None and not history.is_history(end):
            start = max(start, history.live_since)
        if start >= end:
            return []
        touched = history.threads_touched(bucket_of(start), bucket_of(end) + 1)
        counts = (
            self._count(history.threads[t], start, end) for t in touched if t in history.threads
        )
        return [c for c in counts if c.recent > 0]

    def _count(self, thread: ThreadState, start: float, end: float) -> ThreadCount:
        window = self.config.window_minutes * 60
        angry, post_ids = thread.slice_between(start, end)
        earlier = thread.count_between(-float("inf"), start - 1e-9)
        age_windows = max((start - thread.first_at) / window, 1.0)
        expected = max(earlier / age_windows, self.config.prior_per_window)
        expected *= (end - start) / window
        share = sum(angry) / len(angry) if angry else 0.0
        return ThreadCount(thread, start, end, len(angry), expected, share, tuple(post_ids))

    def _test(self, count: ThreadCount, usual: float) -> Quiet | SignalKind:
        if count.recent < self.config.min_count:
            return Quiet.BELOW_MIN_COUNT
        if count.recent / count.expected < self.config.min_ratio:
            return Quiet.BELOW_MIN_RATIO
        if count.p_value > self.config.alpha:
            return Quiet.WITHIN_EXPECTED
        if count.angry_share < self.config.min_angry_share:
            return Quiet.NOT_NEGATIVE
        angry = round(count.angry_share * count.recent)
        if binom_sf(angry, count.recent, usual) > self.config.angry_alpha:
            return Quiet.NOT_NEGATIVE
        return KIND

    def _signal(self, history: BrandHistory, now: datetime, count: ThreadCount) -> Signal:
        critical = count.recent >= self.config.critical_count
        severity: Severity = "critical" if critical else "warning"
        return Signal(
            kind=KIND,
            brand=history.brand,
            severity=severity,
            reason=KIND,
            at=now,
            window_start=from_ts(count.start),
            window_end=from_ts(count.end),
            observed=float(count.recent),
            expected=round(count.expected, 3),
            ratio=round(count.recent / count.expected, 2),
            p_value=count.p_value,
            mentions=count.recent,
            share_negative=round(count.angry_share, 3),
            post_ids=count.post_ids,
            thread_id=count.thread.thread_id,
            history=history.is_history(count.end),
        )


def _usual_angry_share(history: BrandHistory, default: float) -> float:
    """The brand's share of angry posts over the bucket ring (three days), or `default`."""
    _, mentions, angry = _ring_totals(history)
    return angry / mentions if mentions >= 50 else default


def _ring_totals(history: BrandHistory) -> tuple[float, float, float]:
    ring = history.buckets
    live = ring.keys >= 0
    return (
        float(ring.mass[live].sum()),
        float(ring.mentions[live].sum()),
        float(ring.angry[live].sum()),
    )
