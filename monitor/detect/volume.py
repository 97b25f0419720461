"""Volume surge: a brand's complaint count in the last 15/30/60 minutes is far above normal.

Test, per window ending at ``now`` (the current partial 5-minute bucket included, its
expectation pro-rated): observed probability-weighted complaints X against the baseline
expectation mu for those exact hours of the week. The window fires when all hold:

- ``X >= min_count`` (4): at a few complaints a day, 1 -> 3 at night is noise, not a storm;
- ``X / mu >= min_ratio`` (2x): at high volumes tiny relative rises are significant but
  not worth waking anyone;
- negative-binomial upper tail P(>= X) <= ``alpha`` (1e-5). The size is the brand's own,
  fitted by the baseline from its 15-minute counts, at most ``dispersion`` (20): bursty
  real traffic gets a wide tail, smooth traffic keeps the tail tuned on the simulator.

One voice per thread and per author: within a window each thread counts at most
``thread_cap`` (1) complaint and then each author at most ``author_cap`` (1)
(:mod:`monitor.detect.voices`). A thread's agreeing comments are the thread-velocity
detector's job (its own baseline is the thread's earlier rate); counted here, four comments
under one post at night paged a brand that expects a fraction of one complaint in that hour.
Storms are many people in many threads and posts.

Several windows: 15 minutes catches fast storms early, 60 and 180 minutes catch storms at
low volumes (a 10x storm of a 3-a-day brand is ~1.5 complaints an hour).
The most significant firing window is reported. Severity is ``critical`` when p <=
``critical_alpha`` and the ratio >= ``critical_ratio``. Inside an expected-spike window see
:mod:`monitor.detect.windows`. After the cut-over, posts from before it never count
(windows start at the cut-over); before it, a firing decision is ``history_only``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Set
from dataclasses import dataclass, replace
from datetime import datetime

from monitor.detect.baseline import Baseline, BaselineConfig, baseline_for
from monitor.detect.events import Decision, Severity, Signal
from monitor.detect.history import (
    BUCKET_SECONDS,
    BUCKETS_PER_HOUR,
    BrandHistory,
    PostRef,
    from_ts,
    ts,
)
from monitor.detect.reasons import Quiet, SignalKind
from monitor.detect.stats import nbinom_sf
from monitor.detect.voices import excess
from monitor.detect.windows import ExpectedSpike, SpikeCalendar

KIND = SignalKind.VOLUME_SURGE


@dataclass(frozen=True)
class VolumeConfig:
    windows_minutes: tuple[int, ...] = (15, 30, 60, 180)
    min_count: float = 4.0
    min_ratio: float = 2.0
    alpha: float = 1e-5
    dispersion: float = 20.0
    critical_alpha: float = 1e-9
    critical_ratio: float = 6.0
    expected_floor: float = 0.05
    max_posts: int = 200
    dominant_thread_share: float = 0.5
    thread_cap: float = 1.0
    author_cap: float = 1.0


@dataclass(frozen=True)
class WindowCount:
    """Counts and expectations over one window."""

    start: float
    end: float
    lo: int  # first bucket
    hi: int  # one past the last bucket
    observed: float
    mentions: int
    angry: int
    expected: float
    expected_mentions: float
    dispersion: float

    @property
    def p_value(self) -> float:
        return nbinom_sf(self.observed, self.expected, self.dispersion)

    @property
    def ratio(self) -> float:
        return self.observed / self.expected


class VolumeSurge:
    kind = KIND

    def __init__(
        self,
        config: VolumeConfig = VolumeConfig(),
        baseline: BaselineConfig = BaselineConfig(),
        spikes: SpikeCalendar | None = None,
    ) -> None:
        self.config = config
        self.baseline = baseline
        self.spikes = spikes or SpikeCalendar()

    def evaluate(self, history: BrandHistory, now: datetime) -> Signal | None:
        return self.assess(history, now).signal

    def assess(self, history: BrandHistory, now: datetime) -> Decision:
        base = baseline_for(history, now, self.baseline)
        spike = self.spikes.active(history.brand, now)
        counts = [
            c for w in self.config.windows_minutes if (c := self._count(history, now, w, base))
        ]
        if not counts:
            return Decision(KIND, history.brand, now, Quiet.WARMING_UP)
        verdicts = [(self._verdict(c, spike), c) for c in counts]
        firing = [(c.p_value, c) for v, c in verdicts if v == KIND]
        if not firing:
            return self._held_back(history.brand, now, verdicts)
        p_value, best = min(firing, key=lambda pc: pc[0])
        signal = self._signal(history, now, best, p_value)
        reason = Quiet.HISTORY_ONLY if signal.history else KIND
        return Decision(
            KIND, history.brand, now, reason, best.observed, best.expected, p_value, signal
        )

    def _count(
        self, history: BrandHistory, now: datetime, minutes: int, base: Baseline
    ) -> WindowCount | None:
        end = ts(now)
        found = history.recent_buckets(end, minutes * 60 // BUCKET_SECONDS)
        if found is None:
            return None
        lo, hi, partial = found
        span = max(self.config.windows_minutes) * 60 // BUCKET_SECONDS
        observed, mentions, angry = _suffix_sums(history, lo, hi, span)
        observed -= voice_excess(history, lo, hi, self.config.thread_cap, self.config.author_cap)
        expected, expected_mentions = _expectation(base, lo, hi, partial)
        expected = max(expected, self.config.expected_floor)
        start = lo * BUCKET_SECONDS
        dispersion = min(self.config.dispersion, base.dispersion)
        return WindowCount(
            start, end, lo, hi, observed, mentions, angry, expected, expected_mentions, dispersion
        )

    def _verdict(self, count: WindowCount, spike: ExpectedSpike | None) -> Quiet | SignalKind:
        plain = self._test(count, self.config.min_ratio)
        if spike is None or plain != KIND:
            return plain
        extra = spike.allowance(count.mentions, count.expected_mentions)
        raised = replace(count, expected=count.expected + extra)
        verdict = self._test(raised, self.config.min_ratio * spike.ratio_factor)
        return KIND if verdict == KIND else Quiet.EXPECTED_SPIKE_WINDOW

    def _test(self, count: WindowCount, min_ratio: float) -> Quiet | SignalKind:
        if count.observed < self.config.min_count:
            return Quiet.BELOW_MIN_COUNT
        if count.ratio < min_ratio:
            return Quiet.BELOW_MIN_RATIO
        if count.p_value > self.config.alpha:
            return Quiet.WITHIN_EXPECTED
        return KIND

    def _held_back(
        self, brand: str, now: datetime, verdicts: list[tuple[Quiet | SignalKind, WindowCount]]
    ) -> Decision:
        order: list[Quiet | SignalKind] = [
            Quiet.EXPECTED_SPIKE_WINDOW,
            Quiet.WITHIN_EXPECTED,
            Quiet.BELOW_MIN_RATIO,
            Quiet.BELOW_MIN_COUNT,
        ]
        reason, count = min(verdicts, key=lambda vc: order.index(vc[0]))
        p_value = count.p_value
        return Decision(KIND, brand, now, reason, count.observed, count.expected, p_value)

    def _signal(
        self, history: BrandHistory, now: datetime, count: WindowCount, p_value: float
    ) -> Signal:
        refs = history.buckets.refs(count.lo, count.hi)
        severity: Severity = "warning"
        if p_value <= self.config.critical_alpha and count.ratio >= self.config.critical_ratio:
            severity = "critical"
        return Signal(
            kind=KIND,
            brand=history.brand,
            severity=severity,
            reason=KIND,
            at=now,
            window_start=from_ts(count.start),
            window_end=from_ts(count.end),
            observed=round(count.observed, 3),
            expected=round(count.expected, 3),
            ratio=round(count.ratio, 2),
            p_value=p_value,
            mentions=count.mentions,
            share_negative=count.angry / max(count.mentions, 1),
            post_ids=top_post_ids(refs, self.config.max_posts),
            thread_id=dominant_thread(refs, self.config.dominant_thread_share),
            history=history.is_history(count.end),
        )


def _expectation(base: Baseline, lo: int, hi: int, partial: float) -> tuple[float, float]:
    """Expected complaints and mentions over buckets [lo, hi), the last one `partial`."""
    complaints = mentions = 0.0
    for hour in range(lo // BUCKETS_PER_HOUR, (hi - 1) // BUCKETS_PER_HOUR + 1):
        first = max(lo, hour * BUCKETS_PER_HOUR)
        last = min(hi, (hour + 1) * BUCKETS_PER_HOUR)
        buckets = last - first - (1 - partial if last == hi else 0.0)
        complaints += base.complaint_rate(hour) * buckets / BUCKETS_PER_HOUR
        mentions += base.mention_rate(hour) * buckets / BUCKETS_PER_HOUR
    return complaints, mentions


def _suffix_sums(history: BrandHistory, lo: int, hi: int, span: int) -> tuple[float, int, int]:
    """Bucket sums over [lo, hi) (at most `span` buckets), memoised so the windows share a read."""
    cached = history.cache.get("suffix")
    if cached is None or cached[0] != (hi, span, history.buckets.late, history.newest):
        longest = hi - span
        rows = history.buckets.window(longest, hi)[:, ::-1].cumsum(axis=1)
        cached = ((hi, span, history.buckets.late, history.newest), longest, rows)
        history.cache["suffix"] = cached
    _, longest, rows = cached
    column = rows[:, hi - lo - 1]
    return float(column[0]), round(column[1]), round(column[2])


def voice_excess(
    history: BrandHistory, lo: int, hi: int, thread_cap: float, author_cap: float
) -> float:
    """Complaints in buckets [lo, hi) beyond each thread's and each author's share."""
    if not history.threads_touched(lo, hi) and not history.repeated_authors(lo, hi):
        return 0.0  # the common case: nobody spoke twice, no comment thread
    return excess(history.buckets.refs(lo, hi), thread_cap, author_cap)


def thread_excess(
    history: BrandHistory, lo: int, hi: int, cap: float, only: Set[str] | None = None
) -> float:
    """Complaints that threads with comments in buckets [lo, hi) (those in `only`, if
    given) add beyond `cap` each."""
    touched = history.threads_touched(lo, hi)
    if not touched or (only is not None and not touched & only):
        return 0.0  # no comment thread here: the common case costs one set lookup per bucket
    per_thread: defaultdict[str, float] = defaultdict(float)
    for ref in history.buckets.refs(lo, hi):
        if ref.thread_id and (only is None or ref.thread_id in only):
            per_thread[ref.thread_id] += ref.weight
    return sum(max(0.0, mass - cap) for mass in per_thread.values())


def top_post_ids(refs: list[PostRef], limit: int) -> tuple[str, ...]:
    """Ids of the strongest complaint posts first, at most `limit`."""
    ranked = sorted(refs, key=lambda r: -r.weight)
    return tuple(dict.fromkeys(r.post_id for r in ranked[:limit]))


def dominant_thread(refs: list[PostRef], share: float) -> str | None:
    """The thread carrying at least `share` of the complaint mass, if any."""
    mass: defaultdict[str, float] = defaultdict(float)
    for ref in refs:
        if ref.thread_id:
            mass[ref.thread_id] += ref.weight
    total = sum(r.weight for r in refs)
    if not mass or total <= 0:
        return None
    thread, top = max(mass.items(), key=lambda kv: kv[1])
    return thread if top / total >= share else None
