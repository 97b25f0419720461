"""Rising storm: complaints building up bucket by bucket, before any fixed window is unusual.

A storm that grows to 10x over one or two hours spends its first half hour at 2-4x normal:
no single 15/30/60-minute window is improbable enough to page without also paging on
ordinary days (``benchmarks/detect.py``: loosening the volume test's ``alpha`` from 1e-5 to
1e-3 bought a few minutes at the price of false pages every month). The evidence is there,
though — spread over consecutive buckets. A one-sided Poisson CUSUM (Page 1954, Lucas 1985)
accumulates it, and is the quickest test for a given false-alarm rate when the rise is
about ``rho`` times normal.

Per 5-minute bucket of the last ``horizon_hours`` (6) with observed complaint mass ``x`` and
expectation ``mu`` (the brand's baseline for that hour of the week; the live bucket
pro-rated): ``llr = x ln(rho) - mu (rho - 1)``. The statistic is the best run ending now,
``S = C_now - min_k C_k``, recomputed from the bucket ring on every call (vectorised, no
hidden state: late posts count, restarts lose nothing), for two alternatives, ``rhos`` 4
and 10, the larger score deciding: 4 fits a storm still building at busy brands; at a brand
with a few complaints a day a storm adds one or two an hour, and under ``rho`` 4 the drift
between them erodes the evidence before it reaches the threshold, while a 10x alternative
keeps it (the simulator's low tier: 2 of 4 storms missed instead of 3 at the 0.5- and
1-hour ramps; no other row and no false page changed; benchmarks/RESULTS.md, "Two
alternatives for the rising storm"). With ``rho`` 4 the drift of the
sum stays negative unless complaints run at more than ``3 / ln 4`` = 2.16x the expectation,
beyond a day's level swing on smooth traffic; bursty real traffic goes further than that
for an hour at a time, so each bucket's evidence is divided by the overdispersion the brand
shows beyond the tuned size, ``(1 + mu_h / size) / (1 + mu_h / dispersion)`` with ``mu_h``
the hour's expectation (1 at the simulator's traffic), and the run must be improbable under
the negative binomial with the brand's fitted size: P(>= run) <= ``alpha`` (1e-3; at the
simulator's smooth traffic the CUSUM threshold decides first) — else ``within_expected``.

Threads are left to the thread-velocity detector: a rising storm is one across many posts,
so each thread counts with at most ``thread_cap`` (2) complaints over the horizon (named
reason: an ordinary thread whose comment section grows long must not page as a storm), and
each author with at most ``author_cap`` (2) (one customer posting again and again is one
voice; :mod:`monitor.detect.voices`).

Fires (``rising_storm``) when all hold over the run ``[k, now)``:

- ``S >= threshold`` (``rho`` 4, threshold 12: tuned on the simulator's months so that
  false pages stay well inside one a month at low, medium and high volume);
- the run holds at least ``min_count`` (4) complaints and ``min_ratio`` (2x) its expectation,
  and the last ``recent_minutes`` (15) hold at least ``min_recent`` (1) — a finished blip that
  left a high score behind is not a storm still rising (``not_rising``).

Inside an annotated expected-spike window the expectation of each bucket is raised by its
extra mentions x the window's ``complaint_share`` and ``min_ratio`` by its ``ratio_factor``,
as for the volume surge. After the cut-over, buckets from before it never count; before
it, a firing decision is ``history_only``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from monitor.detect.baseline import Baseline, BaselineConfig, baseline_for, slots_of_hours
from monitor.detect.events import Decision, Severity, Signal
from monitor.detect.history import (
    BUCKET_SECONDS,
    BUCKETS_PER_HOUR,
    BrandHistory,
    bucket_of,
    from_ts,
    ts,
)
from monitor.detect.reasons import Quiet, SignalKind
from monitor.detect.stats import nbinom_sf
from monitor.detect.voices import VoiceCap
from monitor.detect.volume import dominant_thread, top_post_ids
from monitor.detect.windows import SpikeCalendar

KIND = SignalKind.RISING_STORM


@dataclass(frozen=True)
class RisingConfig:
    rhos: tuple[float, ...] = (4.0, 10.0)
    threshold: float = 12.0
    critical_threshold: float = 30.0
    horizon_hours: int = 6
    min_count: float = 4.0
    min_ratio: float = 2.0
    recent_minutes: int = 15
    min_recent: float = 1.0
    dispersion: float = 20.0
    alpha: float = 1e-4
    thread_cap: float = 2.0
    author_cap: float = 2.0
    expected_floor_per_hour: float = 0.01
    max_posts: int = 200
    dominant_thread_share: float = 0.5


@dataclass(frozen=True)
class Run:
    """The best CUSUM run ending now."""

    score: float
    lo: int  # first bucket of the run
    hi: int  # one past the last bucket
    observed: float
    expected: float
    mentions: int
    angry: int
    recent: float
    min_ratio: float
    dispersion: float

    @property
    def ratio(self) -> float:
        return self.observed / max(self.expected, 1e-9)


class RisingStorm:
    kind = KIND

    def __init__(
        self,
        config: RisingConfig = RisingConfig(),
        baseline: BaselineConfig = BaselineConfig(),
        spikes: SpikeCalendar | None = None,
    ) -> None:
        self.config = config
        self.baseline = baseline
        self.spikes = spikes or SpikeCalendar()

    def evaluate(self, history: BrandHistory, now: datetime) -> Signal | None:
        return self.assess(history, now).signal

    def assess(self, history: BrandHistory, now: datetime) -> Decision:
        run = self._run(history, now)
        if run is None:
            return Decision(KIND, history.brand, now, Quiet.WARMING_UP)
        p_value = nbinom_sf(run.observed, run.expected, run.dispersion)
        reason = self._reason(run, p_value)
        if reason != KIND:
            return Decision(KIND, history.brand, now, reason, run.observed, run.expected, p_value)
        signal = self._signal(history, now, run, p_value)
        reason = Quiet.HISTORY_ONLY if signal.history else KIND
        return Decision(
            KIND, history.brand, now, reason, run.observed, run.expected, p_value, signal
        )

    def _span(self, history: BrandHistory, now: datetime) -> tuple[int, int, float] | None:
        """Buckets [lo, hi) to read, and the live (last) bucket's elapsed fraction."""
        found = history.recent_buckets(ts(now), self.config.horizon_hours * BUCKETS_PER_HOUR)
        if found is None:
            return None
        lo, hi, partial = found
        if history.first_at is not None:  # no zeros from before the first post
            lo = max(lo, bucket_of(history.first_at))
        return (lo, hi, partial) if lo < hi else None

    def _run(self, history: BrandHistory, now: datetime) -> Run | None:
        span = self._span(history, now)
        if span is None:
            return None
        lo, hi, partial = span
        base = baseline_for(history, now, self.baseline)
        observed, mentions, angry = history.buckets.window(lo, hi)
        observed = observed - _voice_surplus(
            history, lo, hi, self.config.thread_cap, self.config.author_cap
        )
        hourly, hourly_mentions = _rates(base, lo, hi, self.config.expected_floor_per_hour)
        expected = hourly / BUCKETS_PER_HOUR
        expected[-1] *= partial
        min_ratio = self.config.min_ratio
        spike = self.spikes.active(history.brand, now)
        if spike is not None:
            expected_mentions = hourly_mentions / BUCKETS_PER_HOUR
            expected_mentions[-1] *= partial
            expected = expected + spike.allowance(mentions, expected_mentions)
            min_ratio *= spike.ratio_factor
        dispersion = min(self.config.dispersion, base.dispersion)
        # evidence per bucket shrinks by the overdispersion beyond the tuned size
        widen = (1 + hourly / dispersion) / (1 + hourly / self.config.dispersion)
        return self._cusum(observed, expected, mentions, angry, lo, (min_ratio, dispersion), widen)

    def _cusum(
        self,
        observed: np.ndarray,
        expected: np.ndarray,
        mentions: np.ndarray,
        angry: np.ndarray,
        lo: int,
        limits: tuple[float, float],
        widen: np.ndarray,
    ) -> Run:
        best: tuple[float, np.ndarray, int] | None = None
        for rho in self.config.rhos:  # the run of the alternative that fits best
            llr = (observed * math.log(rho) - expected * (rho - 1)) / widen
            cumulative = np.concatenate(([0.0], np.cumsum(llr)))
            start = int(np.argmin(cumulative[:-1]))
            score = float(cumulative[-1] - cumulative[start])
            if best is None or score > best[0]:
                best = (score, cumulative, start)
        assert best is not None
        _, cumulative, k = best
        recent = self.config.recent_minutes * 60 // BUCKET_SECONDS
        return Run(
            score=float(cumulative[-1] - cumulative[k]),
            lo=lo + k,
            hi=lo + observed.size,
            observed=float(observed[k:].sum()),
            expected=float(expected[k:].sum()),
            mentions=round(float(mentions[k:].sum())),
            angry=round(float(angry[k:].sum())),
            recent=float(observed[-recent:].sum()),
            min_ratio=limits[0],
            dispersion=limits[1],
        )

    def _reason(self, run: Run, p_value: float) -> Quiet | SignalKind:
        if run.score < self.config.threshold:
            return Quiet.BELOW_THRESHOLD
        if run.observed < self.config.min_count:
            return Quiet.BELOW_MIN_COUNT
        if run.ratio < run.min_ratio:
            return Quiet.BELOW_MIN_RATIO
        if run.recent < self.config.min_recent:
            return Quiet.NOT_RISING
        if p_value > self.config.alpha:
            return Quiet.WITHIN_EXPECTED
        return KIND

    def _signal(self, history: BrandHistory, now: datetime, run: Run, p_value: float) -> Signal:
        refs = history.buckets.refs(run.lo, run.hi)
        severity: Severity = (
            "critical" if run.score >= self.config.critical_threshold else "warning"
        )
        start = run.lo * BUCKET_SECONDS
        return Signal(
            kind=KIND,
            brand=history.brand,
            severity=severity,
            reason=KIND,
            at=now,
            window_start=from_ts(start),
            window_end=now,
            observed=round(run.observed, 3),
            expected=round(run.expected, 3),
            ratio=round(run.ratio, 2),
            p_value=p_value,
            score=round(run.score, 2),
            mentions=run.mentions,
            share_negative=run.angry / max(run.mentions, 1),
            post_ids=top_post_ids(refs, self.config.max_posts),
            thread_id=dominant_thread(refs, self.config.dominant_thread_share),
            history=history.is_history(ts(now)),
        )


def _voice_surplus(
    history: BrandHistory, lo: int, hi: int, thread_cap: float, author_cap: float
) -> np.ndarray:
    """Per bucket, the complaint mass threads and authors add beyond their share in [lo, hi)."""
    surplus = np.zeros(hi - lo)
    cap = VoiceCap(thread_cap, author_cap)
    for index in range(lo, hi):
        for ref in history.buckets.refs(index, index + 1):
            if ref.thread_id is not None or ref.author is not None:
                surplus[index - lo] += ref.weight - cap.counted(
                    ref.weight, ref.thread_id, ref.author
                )
    return surplus


def _rates(base: Baseline, lo: int, hi: int, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Expected complaints and mentions per hour for every bucket in [lo, hi)."""
    first, last = lo // BUCKETS_PER_HOUR, (hi - 1) // BUCKETS_PER_HOUR + 1
    slots = slots_of_hours(first, last, base.tz)
    hours = np.arange(lo, hi) // BUCKETS_PER_HOUR - first
    complaints = np.maximum(base.complaints[slots][hours], floor)
    return complaints, base.mentions[slots][hours]
