"""The baseline: a prior while history is short, the brand's own rhythm later, storms ignored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.detect.baseline import PRIOR_SHAPE, BaselineConfig, fit_baseline, slot_of_hour
from monitor.detect.history import BrandHistory, hour_of
from monitor.detect.simulate import Simulator, Traffic, daily_history, make_events

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday
CONFIG = BaselineConfig()


def _history(events: list) -> BrandHistory:
    history = BrandHistory("Acme")
    for event in events:
        history.add(event)
    return history


def _daily_total(history: BrandHistory) -> float:
    return fit_baseline(history, NOW, CONFIG).complaints.sum() / 7


def test_prior_shape_is_nordic_and_normalised() -> None:
    assert PRIOR_SHAPE.mean() == pytest.approx(1.0)
    wednesday_3am, wednesday_noon = 2 * 24 + 3, 2 * 24 + 12
    assert PRIOR_SHAPE[wednesday_noon] > 5 * PRIOR_SHAPE[wednesday_3am]


def test_slots_are_local_hours_of_week() -> None:
    monday_midnight_local = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)  # 00:00 in Stockholm
    assert slot_of_hour(hour_of(monday_midnight_local.timestamp()), "Europe/Stockholm") == 0


def test_no_history_falls_back_to_the_prior_level() -> None:
    fitted = fit_baseline(BrandHistory("Acme"), NOW, CONFIG)
    assert fitted.complaints.sum() / 7 == pytest.approx(CONFIG.prior_per_day, rel=0.05)


def test_learns_a_low_volume_brand_level() -> None:
    history = _history(daily_history("Acme", NOW, 21, complaints=3, others=17))
    assert _daily_total(history) == pytest.approx(3 * 0.9, rel=0.25)


def test_learns_a_high_volume_brand_level_and_rhythm() -> None:
    sim = Simulator(3)
    events = sim.quiet(Traffic("Acme", 3000, daily_noise=0.0), NOW - timedelta(days=28), NOW)
    fitted = fit_baseline(_history(events), NOW, CONFIG)
    night, noon = fitted.complaints[2 * 24 + 3], fitted.complaints[2 * 24 + 12]
    assert noon > 4 * night
    assert fitted.level_per_day == pytest.approx(3000 * 0.15 * 0.78, rel=0.2)


def test_a_storm_in_the_history_barely_moves_the_baseline() -> None:
    quiet = daily_history("Acme", NOW, 21, complaints=20, others=100)
    storm_at = NOW - timedelta(days=7, hours=1)
    storm = make_events(
        "Acme", [storm_at + timedelta(seconds=10 * i) for i in range(200)], prefix="s"
    )
    calm = _daily_total(_history(quiet))
    stormy = _daily_total(_history(quiet + storm))
    assert stormy < calm * 1.15


def test_excluded_hours_are_left_out() -> None:
    quiet = daily_history("Acme", NOW, 21, complaints=20, others=100)
    storm_at = NOW - timedelta(days=7, hours=1)
    storm = make_events(
        "Acme", [storm_at + timedelta(seconds=10 * i) for i in range(200)], prefix="s"
    )
    history = _history(quiet + storm)
    history.exclude_hours(storm_at.timestamp(), storm_at.timestamp() + 2000)
    assert _daily_total(history) == pytest.approx(_daily_total(_history(quiet)), rel=0.05)
