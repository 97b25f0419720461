"""Expected complaints (and mentions) per hour of the week, per brand, from its own history.

Decisions:

- Slots are local hours of the week (``tz``, default Europe/Stockholm): Nordic rhythm is
  local. ``PRIOR_SHAPE`` is a pooled Nordic rhythm (low at night, high weekday daytime,
  quieter weekends), mean 1 over the week.
- Level: the brand's complaint mass per hour divided by the prior shape, plus
  ``prior_hours`` pseudo-hours at ``prior_per_day``, so a brand with a day of history gets
  the pooled rhythm scaled by its own level. Hours are clipped at ``clip_factor`` x the
  first-pass expectation (+3 sd + 2) before the second pass: a storm in the history cannot
  drag the baseline up. Hours the engine marked as inside a surge are left out entirely.
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
_HOUR_OF_DAY = [0.25, 0.15, 0.1, 0.1, 0.1, 0.15, 0.35, 0.7, 1.1, 1.4, 1.55, 1.6]
_HOUR_OF_DAY += [1.6, 1.55, 1.5, 1.45, 1.4, 1.35, 1.3, 1.3, 1.25, 1.1, 0.8, 0.45]
_DAY_OF_WEEK = [1.1, 1.1, 1.1, 1.1, 1.05, 0.8, 0.85]


def _prior_shape() -> np.ndarray:
    shape = np.outer(_DAY_OF_WEEK, _HOUR_OF_DAY).ravel()
    return shape / shape.mean()


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


@dataclass(frozen=True)
class Baseline:
    """Expected complaint mass and mentions per hour, by local hour of week."""

    complaints: np.ndarray  # shape (168,), per hour
    mentions: np.ndarray  # shape (168,), per hour
    level_per_day: float
    history_hours: int
    tz: str

    def complaint_rate(self, hour: int) -> float:
        return float(self.complaints[slot_of_hour(hour, self.tz)])

    def mention_rate(self, hour: int) -> float:
        return float(self.mentions[slot_of_hour(hour, self.tz)])

    def complaint_rates(self, hours: range) -> np.ndarray:
        return self.complaints[slots_of_hours(hours.start, hours.stop, self.tz)]

    @property
    def share(self) -> float:
        """Expected complaint share of mentions."""
        return float(self.complaints.sum() / max(self.mentions.sum(), 1e-9))


def baseline_for(history: BrandHistory, now: datetime, config: BaselineConfig) -> Baseline:
    """The brand's baseline at `now`, fitted at most once per hour."""
    key = (hour_of(ts(now)), config, len(history.excluded_hours))
    cached = history.cache.get("baseline")
    if cached is not None and cached[0] == key:
        return cached[1]
    fitted = fit_baseline(history, now, config)
    history.cache["baseline"] = (key, fitted)
    return fitted


def fit_baseline(history: BrandHistory, now: datetime, config: BaselineConfig) -> Baseline:
    """Fit the expected rates from the hours of history before `now` (see module doc)."""
    hi = hour_of(ts(now)) - config.gap_hours
    lo = hi - config.weeks * HOURS_PER_WEEK
    lo = max(lo, hour_of(history.first_at)) if history.first_at is not None else hi
    hours = range(lo, max(lo, hi))
    mass, mentions = history.hours.series(hours.start, hours.stop)
    known = np.ones(len(hours), dtype=bool)
    for hour in history.excluded_hours:
        if hours.start <= hour < hours.stop:
            known[hour - hours.start] = False
    slots = slots_of_hours(hours.start, hours.stop, config.tz)
    complaints, level = _fit_series(mass[known], slots[known], config, config.prior_per_day)
    prior_mentions = config.prior_per_day * 5.0
    mention_rates, _ = _fit_series(mentions[known], slots[known], config, prior_mentions)
    return Baseline(complaints, mention_rates, level * 24, int(known.sum()), config.tz)


def _fit_series(
    values: np.ndarray, slots: np.ndarray, config: BaselineConfig, prior_per_day: float
) -> tuple[np.ndarray, float]:
    shape = PRIOR_SHAPE[slots]
    level = _robust_level(values, shape, config, prior_per_day / 24)
    cap = _clip_cap(level * shape, config)
    clipped = np.minimum(values, cap)
    level = _level(clipped, shape, config, prior_per_day / 24)
    rates = _shrink_shape(clipped, slots, level, config)
    return np.maximum(rates, config.floor_per_hour), level


def _level(values: np.ndarray, shape: np.ndarray, config: BaselineConfig, prior: float) -> float:
    pseudo = config.prior_hours
    return float((values.sum() + pseudo * prior) / (shape.sum() + pseudo))


def _robust_level(
    values: np.ndarray, shape: np.ndarray, config: BaselineConfig, prior: float
) -> float:
    first = _level(values, shape, config, prior)
    return _level(np.minimum(values, _clip_cap(first * shape, config)), shape, config, prior)


def _clip_cap(expected: np.ndarray, config: BaselineConfig) -> np.ndarray:
    return config.clip_factor * expected + 3 * np.sqrt(expected) + 2


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
