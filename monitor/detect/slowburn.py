"""Slow burn: complaints creeping up over hours to days, each hour unremarkable on its own.

A one-sided Poisson CUSUM on completed hours: per hour the log-likelihood ratio of "the rate
is ``rho`` (1.5x) the baseline" against "it is the baseline",
``llr = x * ln(rho) - mu * (rho - 1)``, divided by the overdispersion factor
``1 + mu / size`` (at high volumes day-to-day swings, not Poisson noise, dominate; size is
the brand's fitted one, at most ``dispersion``) and
capped at ``hourly_cap`` so a single spike (the
volume detector's job) cannot trip it alone. The statistic is the best cumulative sum over
any start in the last ``horizon_hours`` (96 h): S = C_now - min_k C_k. Each hour's
expectation takes the brand's level over the ``level_hours`` (24) that ended
``level_lag_hours`` (24) before it: a rise over days is not absorbed while it builds, and a
level shift that lasts is normal within two days (the burn subsides and the incident
resolves). It is computed from the hourly ring on every call (vectorised, no hidden
state), so late posts are included.

A thread the thread-velocity detector fired on counts at most ``thread_cap`` (2) complaints
an hour: a long viral thread is the thread detector's incident, not a slow burn (ordinary
threads count in full: capping them too cost a three-day creep its 1.5x). Hours the engine marked as
inside a volume surge count zero: a surge is the volume detector's
incident, and must not keep a slow burn alive after it ends.

Fires (``slow_burn``) when S >= ``threshold`` (10), the last ``recent_hours`` (12) are still
``recent_ratio`` (1.15) x their expectation plus ``min_recent_excess`` (2) complaints (else
``burn_subsided``, so an incident can resolve once the creep stops), and the excess
over the expectation is at least ``min_excess`` complaints (else ``below_min_excess``) and
the run is at least ``min_ratio`` (1.5x) its expectation (else ``below_min_ratio``).
Hours before the cut-over are not used after it: a backlog cannot page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from monitor.detect.baseline import BaselineConfig, baseline_for, lagged_expectation
from monitor.detect.events import Decision, Severity, Signal
from monitor.detect.history import (
    BUCKETS_PER_HOUR,
    HOUR_SECONDS,
    BrandHistory,
    from_ts,
    hour_of,
    ts,
)
from monitor.detect.reasons import Quiet, SignalKind
from monitor.detect.volume import thread_excess, top_post_ids

KIND = SignalKind.SLOW_BURN


@dataclass(frozen=True)
class SlowBurnConfig:
    rho: float = 1.5
    threshold: float = 10.0
    critical_threshold: float = 30.0
    horizon_hours: int = 96
    hourly_cap: float = 3.0
    recent_hours: int = 12
    min_recent_excess: float = 2.0
    min_excess: float = 8.0
    min_ratio: float = 1.5
    recent_ratio: float = 1.15
    dispersion: float = 20.0
    max_posts: int = 200
    level_lag_hours: int = 24
    thread_cap: float = 2.0
    level_hours: int = 24


@dataclass(frozen=True)
class Burn:
    score: float
    start_hour: int
    end_hour: int
    observed: float
    expected: float
    recent: float  # recent observed minus recent_ratio x recent expected


class SlowBurn:
    kind = KIND

    def __init__(
        self, config: SlowBurnConfig = SlowBurnConfig(), baseline: BaselineConfig = BaselineConfig()
    ) -> None:
        self.config = config
        self.baseline = baseline

    def evaluate(self, history: BrandHistory, now: datetime) -> Signal | None:
        return self.assess(history, now).signal

    def assess(self, history: BrandHistory, now: datetime) -> Decision:
        burn = self._burn(history, now)
        if burn is None:
            return Decision(KIND, history.brand, now, Quiet.WARMING_UP)
        reason = self._reason(burn)
        if reason != KIND:
            return Decision(KIND, history.brand, now, reason, burn.observed, burn.expected)
        signal = self._signal(history, now, burn)
        reason = Quiet.HISTORY_ONLY if signal.history else KIND
        return Decision(
            KIND, history.brand, now, reason, burn.observed, burn.expected, None, signal
        )

    def _hours(self, history: BrandHistory, now: datetime) -> range | None:
        end = hour_of(ts(now))  # completed hours only
        start = end - self.config.horizon_hours
        if history.first_at is not None:
            start = max(start, hour_of(history.first_at))
        if history.live_since is not None and not history.is_history(ts(now)):
            start = max(start, math.ceil(history.live_since / HOUR_SECONDS))
        return range(start, end) if end - start >= self.config.recent_hours else None

    def _burn(self, history: BrandHistory, now: datetime) -> Burn | None:
        """The CUSUM over completed hours; cached until an hour closes or a late post lands."""
        hours = self._hours(history, now)
        if hours is None:
            return None
        key = (self.config, self.baseline, hours, history.hours.late, len(history.surge_hours))
        cached: tuple[object, Burn] | None = history.cache.get(KIND)
        if cached is not None and cached[0] == key:
            return cached[1]
        burn = self._cusum(history, now, hours)
        history.cache[KIND] = (key, burn)
        return burn

    def _cusum(self, history: BrandHistory, now: datetime, hours: range) -> Burn:
        observed, _ = history.hours.series(hours.start, hours.stop)
        observed = observed - _thread_excess(history, hours, self.config.thread_cap)
        base = baseline_for(history, now, self.baseline)
        lag = (self.config.level_lag_hours, self.config.level_hours)
        expected = lagged_expectation(history, now, self.baseline, hours, lag)
        size = min(self.config.dispersion, base.dispersion)
        rho = self.config.rho
        llr = observed * math.log(rho) - expected * (rho - 1)
        llr = np.minimum(llr / (1 + expected / size), self.config.hourly_cap)
        llr[[h - hours.start for h in history.surge_hours if h in hours]] = 0.0
        cumulative = np.concatenate(([0.0], np.cumsum(llr)))
        k = int(np.argmin(cumulative[:-1]))
        n = self.config.recent_hours
        recent_excess = observed[-n:].sum() - self.config.recent_ratio * expected[-n:].sum()
        return Burn(
            score=float(cumulative[-1] - cumulative[k]),
            start_hour=hours.start + k,
            end_hour=hours.stop,
            observed=float(observed[k:].sum()),
            expected=float(expected[k:].sum()),
            recent=float(recent_excess),
        )

    def _reason(self, burn: Burn) -> Quiet | SignalKind:
        if burn.score < self.config.threshold:
            return Quiet.BELOW_THRESHOLD
        if burn.recent < self.config.min_recent_excess:
            return Quiet.BURN_SUBSIDED
        if burn.observed - burn.expected < self.config.min_excess:
            return Quiet.BELOW_MIN_EXCESS
        if burn.observed < self.config.min_ratio * burn.expected:
            return Quiet.BELOW_MIN_RATIO
        return KIND

    def _signal(self, history: BrandHistory, now: datetime, burn: Burn) -> Signal:
        lo = burn.start_hour * BUCKETS_PER_HOUR
        refs = history.buckets.refs(lo, burn.end_hour * BUCKETS_PER_HOUR)
        severity: Severity = (
            "critical" if burn.score >= self.config.critical_threshold else "warning"
        )
        return Signal(
            kind=KIND,
            brand=history.brand,
            severity=severity,
            reason=KIND,
            at=now,
            window_start=from_ts(burn.start_hour * HOUR_SECONDS),
            window_end=from_ts(burn.end_hour * HOUR_SECONDS),
            observed=round(burn.observed, 3),
            expected=round(burn.expected, 3),
            ratio=round(burn.observed / max(burn.expected, 1e-9), 2),
            score=round(burn.score, 2),
            post_ids=top_post_ids(refs, self.config.max_posts),
            history=history.is_history(ts(now)),
        )


def _thread_excess(history: BrandHistory, hours: range, cap: float) -> np.ndarray:
    """Per hour, what viral threads add beyond `cap` each in that hour (hours older than the
    bucket ring count in full)."""
    oldest = history.buckets.newest - history.buckets.size
    viral = history.viral_threads
    return np.array(
        [
            thread_excess(history, h * BUCKETS_PER_HOUR, (h + 1) * BUCKETS_PER_HOUR, cap, viral)
            if viral and h * BUCKETS_PER_HOUR > oldest
            else 0.0
            for h in hours
        ]
    )
