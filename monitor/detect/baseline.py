"""Expected complaints (and mentions) per hour of the week, per brand, from its own history.

Decisions:

- Slots are local hours of the week (``tz``, default Europe/Stockholm): Nordic rhythm is
  local. ``PRIOR_SHAPE`` is a pooled Nordic rhythm (low at night, high weekday daytime,
  quieter weekends), mean 1 over the week.
- Level: the brand's complaint mass per hour divided by the prior shape, plus
  ``prior_hours`` pseudo-hours at ``prior_per_day``, so a brand with a day of history gets
  the pooled rhythm scaled by its own level. Hours are clipped at ``clip_factor`` x the
  first-pass expectation (+3 sd + 2; the larger of the pooled rhythm at the brand's level and
  the brand's own unclipped mean for that hour of the day) before the second pass: a storm
  in the history cannot drag the baseline up. Hours the engine marked as inside a surge count
  at most
  ``marked_cap`` (2) x that first-pass expectation: capped, never dropped. Dropping them fed
  on itself on bursty real traffic (fewer hours -> a lower expectation -> more surges -> more
  hours dropped); a cap computed from the unmarked first pass cannot run away.
- Recent level: the expectation is scaled by the brand's level over the last ``level_hours``
  (24) against what the hour-of-week rates expected there (clipped as above, shrunk towards 1
  by ``level_pseudo`` complaints, within ``level_bounds``), so a level shift that lasts is
  the new normal within about a day. Once a week of older history exists the hour-of-week
  rates are fitted on the hours before that day alone (a day inside both sides of the ratio
  hid half of a shift). :func:`lagged_expectation` gives each past hour the level of the day
  before it, ``lag`` hours earlier (the slow burn: a rise over days is not absorbed while it
  builds, and a lasting shift is normal two days later).
- Dispersion: the negative binomial's size is fitted from the brand's own hours against
  this expectation, from the upper quantile (``dispersion_quantile``, 95%) of their
  relative excess (:func:`fit_dispersion`). Bounded to [``min_dispersion``,
  ``max_dispersion``]; with fewer than ``dispersion_min_hours`` hours expecting at least
  ``dispersion_min_mu`` it is ``max_dispersion`` (20, the value tuned on the simulator's
  traffic). Bursty traffic mostly fits far smaller sizes, a far wider tail (benchmarks/RESULTS.md,
  "Dispersion").
- Shape: two-level Gamma-Poisson shrinkage. The brand's hour-of-day profile (pooled over the
  week) shrinks to the prior with ``pseudo_mass``; each hour-of-week slot shrinks to that
  profile with ``slot_pseudo_mass``. Low volumes (a few complaints a day) therefore lean on
  the prior; high volumes learn their own rhythm.
- The current and previous hour are never used (``gap_hours``), so a storm just starting is
  not part of its own expectation. Fits are cached per brand per hour.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from monitor.detect.history import HOUR_SECONDS, BrandHistory, hour_of, ts

HOURS_PER_WEEK = 168
_Z = {0.9: 1.2816, 0.95: 1.6449, 0.975: 1.96, 0.99: 2.3263}  # standard normal quantiles
_HOUR_OF_DAY = [0.25, 0.15, 0.1, 0.1, 0.1, 0.15, 0.35, 0.7, 1.1, 1.4, 1.55, 1.6]
_HOUR_OF_DAY += [1.6, 1.55, 1.5, 1.45, 1.4, 1.35, 1.3, 1.3, 1.25, 1.1, 0.8, 0.45]
_DAY_OF_WEEK = [1.1, 1.1, 1.1, 1.1, 1.05, 0.8, 0.85]


def _prior_shape() -> np.ndarray:
    shape = np.outer(_DAY_OF_WEEK, _HOUR_OF_DAY).ravel()
    prior: np.ndarray = shape / shape.mean()
    return prior


PRIOR_SHAPE = _prior_shape()


def slot_of_hour(hour: int, tz: str) -> int:
    """Local hour of the week (Monday 00 = 0) of an absolute UTC hour index."""
    return int(_slot_block(hour // _BLOCK, tz)[hour % _BLOCK])


def slot_of_hour_uncached(hour: int, tz: str) -> int:
    local = datetime.fromtimestamp(hour * HOUR_SECONDS, ZoneInfo(tz))
    return local.weekday() * 24 + local.hour


_BLOCK = 1024


@functools.lru_cache(maxsize=4096)
def _slot_block(block: int, tz: str) -> np.ndarray:
    return np.array(
        [slot_of_hour_uncached(h, tz) for h in range(block * _BLOCK, (block + 1) * _BLOCK)]
    )


def slots_of_hours(lo: int, hi: int, tz: str) -> np.ndarray:
    """Local hours of the week for absolute hours [lo, hi), vectorised and cached."""
    if hi <= lo:
        return np.zeros(0, dtype=int)
    blocks = range(lo // _BLOCK, (hi - 1) // _BLOCK + 1)
    joined = np.concatenate([_slot_block(b, tz) for b in blocks])
    first = blocks.start * _BLOCK
    return joined[lo - first : hi - first]


@dataclass(frozen=True)
class BaselineConfig:
    weeks: int = 4
    gap_hours: int = 1
    prior_per_day: float = 2.0  # complaints/day assumed for a brand with no history
    prior_hours: float = 6.0  # weight of that prior, in hours of data
    pseudo_mass: float = 2.0  # hour-of-day shrinkage towards the pooled rhythm
    slot_pseudo_mass: float = 8.0  # hour-of-week shrinkage towards the hour-of-day profile
    clip_factor: float = 3.0
    floor_per_hour: float = 0.01
    tz: str = "Europe/Stockholm"
    marked_cap: float = 2.0
    level_hours: int = 24
    level_pseudo: float = 12.0
    reference_hours: int = 168
    level_bounds: tuple[float, float] = (0.25, 4.0)
    min_dispersion: float = 0.5
    max_dispersion: float = 20.0
    dispersion_min_hours: int = 72
    dispersion_min_mu: float = 1.0
    dispersion_quantile: float = 0.95


@dataclass(frozen=True)
class Baseline:
    """Expected complaint mass and mentions per hour, by local hour of week."""

    complaints: np.ndarray  # shape (168,), per hour
    mentions: np.ndarray  # shape (168,), per hour
    level_per_day: float
    history_hours: int
    tz: str
    dispersion: float = 20.0  # negative-binomial size fitted from the brand's history
    level_factor: float = 1.0  # the recent level against the hour-of-week rates

    def complaint_rate(self, hour: int) -> float:
        return float(self.complaints[slot_of_hour(hour, self.tz)])

    def mention_rate(self, hour: int) -> float:
        return float(self.mentions[slot_of_hour(hour, self.tz)])

    def complaint_rates(self, hours: range) -> np.ndarray:
        rates: np.ndarray = self.complaints[slots_of_hours(hours.start, hours.stop, self.tz)]
        return rates

    @property
    def share(self) -> float:
        """Expected complaint share of mentions."""
        return float(self.complaints.sum() / max(self.mentions.sum(), 1e-9))


def baseline_for(history: BrandHistory, now: datetime, config: BaselineConfig) -> Baseline:
    """The brand's baseline at `now`, fitted at most once per hour per config."""
    key = (hour_of(ts(now)), len(history.surge_hours))
    fits: dict[BaselineConfig, tuple[object, Baseline]] = history.cache.setdefault("baseline", {})
    cached = fits.get(config)
    if cached is not None and cached[0] == key:
        return cached[1]
    fitted = fit_baseline(history, now, config)
    fits[config] = (key, fitted)
    return fitted


def fit_baseline(history: BrandHistory, now: datetime, config: BaselineConfig) -> Baseline:
    """Fit the expected rates from the hours of history before `now` (see module doc)."""
    hi = hour_of(ts(now)) - config.gap_hours
    lo = hi - config.weeks * HOURS_PER_WEEK
    lo = max(lo, hour_of(history.first_at)) if history.first_at is not None else hi
    hours = range(lo, max(lo, hi))
    mass, mentions = history.hours.series(hours.start, hours.stop)
    marked = np.zeros(len(hours), dtype=bool)
    for hour in history.surge_hours:
        if hours.start <= hour < hours.stop:
            marked[hour - hours.start] = True
    slots = slots_of_hours(hours.start, hours.stop, config.tz)
    complaints, level, factor = _fit_leveled(mass, slots, marked, config, config.prior_per_day)
    rhythm = _day_rhythm(complaints)[slots]
    capped = _capped(mass, rhythm, marked, config)
    # a confirmed storm's hours would widen the tail it is judged against
    dispersion = fit_dispersion(np.where(marked, capped, mass), capped, rhythm, config)
    prior_mentions = config.prior_per_day * 5.0
    mention_rates, _, mention_factor = _fit_leveled(mentions, slots, marked, config, prior_mentions)
    return Baseline(
        complaints * factor,
        mention_rates * mention_factor,
        level * 24 * factor,
        len(hours),
        config.tz,
        dispersion,
        factor,
    )


def _fit_leveled(
    values: np.ndarray,
    slots: np.ndarray,
    marked: np.ndarray,
    config: BaselineConfig,
    prior_per_day: float,
) -> tuple[np.ndarray, float, float]:
    """Rates and level as `_fit_series`, and the recent level factor. With at
    least `reference_hours` before the recent window the rates are fitted on those alone:
    otherwise the recent hours would sit in both sides of the factor's ratio."""
    older = len(values) - config.level_hours
    if older < config.reference_hours:
        rates, level, capped = _fit_series(values, slots, marked, config, prior_per_day)
    else:
        part = slice(0, older)
        rates, level, _ = _fit_series(
            values[part], slots[part], marked[part], config, prior_per_day
        )
        capped = _capped(values, rates[slots], marked, config)
    return rates, level, _recent_level(capped, rates[slots], config)


def _capped(
    values: np.ndarray, expected: np.ndarray, marked: np.ndarray, config: BaselineConfig
) -> np.ndarray:
    cap = _clip_cap(expected, config)
    cap = np.where(marked, np.minimum(cap, config.marked_cap * expected), cap)
    capped: np.ndarray = np.minimum(values, cap)
    return capped


def _fit_series(
    values: np.ndarray,
    slots: np.ndarray,
    marked: np.ndarray,
    config: BaselineConfig,
    prior_per_day: float,
) -> tuple[np.ndarray, float, np.ndarray]:
    """Rates per slot, the level per hour, and the values as capped for the fit."""
    shape = PRIOR_SHAPE[slots]
    own = _own_rhythm(values, slots)
    level = _robust_level(values, shape, own, config, prior_per_day / 24)
    clipped = _capped(values, np.maximum(level * shape, own), marked, config)
    level = _level(clipped, shape, config, prior_per_day / 24)
    rates = _shrink_shape(clipped, slots, level, config)
    return np.maximum(rates, config.floor_per_hour), level, clipped


def _recent_level(capped: np.ndarray, expected: np.ndarray, config: BaselineConfig) -> float:
    """The last `level_hours` against their expectation, shrunk towards 1."""
    start = max(0, len(capped) - config.level_hours)
    pseudo = config.level_pseudo
    factor = (capped[start:].sum() + pseudo) / (expected[start:].sum() + pseudo)
    low, high = config.level_bounds
    return float(min(max(factor, low), high))


def fit_dispersion(
    values: np.ndarray, capped: np.ndarray, expected: np.ndarray, config: BaselineConfig
) -> float:
    """Negative-binomial size from the hours of the fit against what was expected of each
    (the hour-of-day rhythm times the level of the day before it), from the upper quantile
    of their relative excess: ``q / z_q`` squared, less the Poisson part ``1 / mu``, is
    ``1 / size`` — the tail the tests guard against, not the bulk. Pooled over days, the
    rhythm is not fitted to the very hours it is judged against (an hour-of-week slot holds
    one to four of them)."""
    level = _trailing_levels(capped, expected, config.level_hours, config)
    mu = expected * level
    usable = mu >= config.dispersion_min_mu
    if usable.sum() < config.dispersion_min_hours:
        return config.max_dispersion
    excess = (values[usable] - mu[usable]) / mu[usable]
    upper = float(np.quantile(excess, config.dispersion_quantile)) / _Z[config.dispersion_quantile]
    inverse = upper**2 - float(np.mean(1.0 / mu[usable]))
    if inverse <= 1.0 / config.max_dispersion:
        return config.max_dispersion
    return max(1.0 / inverse, config.min_dispersion)


def lagged_expectation(
    history: BrandHistory,
    now: datetime,
    config: BaselineConfig,
    hours: range,
    lag: tuple[int, int],
) -> np.ndarray:
    """Expected complaints in each of `hours`: its long-term hour-of-week rate times the
    brand's level over the `lag[1]` hours that ended `lag[0]` hours before it, when that
    level is above the long-term one (a quiet yesterday must not make today look loud).
    The level is measured against the rates' hour-of-day profile (x the prior's day of
    week): pooled over every day, a level shift moves it all alike, so it divides out
    (hour-of-week rates hold the shifted days themselves in a few slots)."""
    base = baseline_for(history, now, config)
    long_term = base.complaints / base.level_factor
    delay, window = lag
    first = hours.start - delay - window
    span = np.arange(first, hours.stop)
    slots = slots_of_hours(first, hours.stop, config.tz)
    rhythm = _day_rhythm(long_term)[slots]
    mass, _ = history.hours.series(first, hours.stop)
    known = span >= hour_of(history.first_at or 0.0)  # no zeros from before the first post
    # surge hours count in full (up to the clip): a lasting shift begins with a surge
    capped = np.where(known, _capped(mass, rhythm, np.zeros(len(span), bool), config), rhythm)
    levels = np.maximum(_trailing_levels(capped, rhythm, window, config), 1.0)
    expected: np.ndarray = long_term[slots][delay + window :] * levels[window : len(levels) - delay]
    return expected


def _day_rhythm(rates: np.ndarray) -> np.ndarray:
    """Hour-of-week rates pooled to their hour-of-day profile, times the pooled prior's
    day-of-week factors (a day's own factor would hold the shifted days themselves)."""
    days = np.asarray(_DAY_OF_WEEK) / np.mean(_DAY_OF_WEEK)
    return np.outer(days, rates.reshape(7, 24).mean(axis=0)).ravel()


def _trailing_levels(
    capped: np.ndarray, expected: np.ndarray, window: int, config: BaselineConfig
) -> np.ndarray:
    """Per hour, the level of the `window` hours before it (as `_recent_level`)."""
    seen = np.concatenate(([0.0], np.cumsum(capped)))
    wanted = np.concatenate(([0.0], np.cumsum(expected)))
    ends = np.arange(len(capped))
    starts = np.maximum(ends - window, 0)
    pseudo = config.level_pseudo
    level = (seen[ends] - seen[starts] + pseudo) / (wanted[ends] - wanted[starts] + pseudo)
    return np.clip(level, *config.level_bounds)


def _level(values: np.ndarray, shape: np.ndarray, config: BaselineConfig, prior: float) -> float:
    pseudo = config.prior_hours
    return float((values.sum() + pseudo * prior) / (shape.sum() + pseudo))


def _own_rhythm(values: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """The brand's mean per hour of day, unclipped, for every hour of the fit: the clip must
    not cut a brand's busy hours where the pooled Nordic rhythm expects night (a brand
    whose customers live in other time zones)."""
    hod = slots % 24
    total = np.bincount(hod, weights=values, minlength=24)
    count = np.maximum(np.bincount(hod, minlength=24), 1)
    means: np.ndarray = (total / count)[hod]
    return means


def _robust_level(
    values: np.ndarray, shape: np.ndarray, own: np.ndarray, config: BaselineConfig, prior: float
) -> float:
    first = _level(values, shape, config, prior)
    cap = _clip_cap(np.maximum(first * shape, own), config)
    return _level(np.minimum(values, cap), shape, config, prior)


def _clip_cap(expected: np.ndarray, config: BaselineConfig) -> np.ndarray:
    cap: np.ndarray = config.clip_factor * expected + 3 * np.sqrt(expected) + 2
    return cap


def _shrink_shape(
    clipped: np.ndarray, slots: np.ndarray, level: float, config: BaselineConfig
) -> np.ndarray:
    hod = slots % 24
    prior_hod = level * PRIOR_SHAPE.reshape(7, 24).mean(axis=0)
    sum_hod = np.bincount(hod, weights=clipped, minlength=24)
    n_hod = np.bincount(hod, minlength=24)
    hod_rate = _shrink(sum_hod, n_hod, prior_hod, config.pseudo_mass)
    dow_factor = np.asarray(_DAY_OF_WEEK) / np.mean(_DAY_OF_WEEK)
    prior_slot = np.outer(dow_factor, hod_rate).ravel()
    sum_slot = np.bincount(slots, weights=clipped, minlength=HOURS_PER_WEEK)
    n_slot = np.bincount(slots, minlength=HOURS_PER_WEEK)
    return _shrink(sum_slot, n_slot, prior_slot, config.slot_pseudo_mass)


def _shrink(total: np.ndarray, count: np.ndarray, prior: np.ndarray, pseudo: float) -> np.ndarray:
    """Gamma-Poisson posterior mean: prior mean `prior`, prior strength `pseudo` events."""
    prior = np.maximum(prior, 1e-6)
    return (total + pseudo) / (count + pseudo / prior)
