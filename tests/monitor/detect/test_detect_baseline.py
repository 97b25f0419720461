"""The baseline: a prior while history is short, the brand's own rhythm later, storms ignored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from monitor.detect.baseline import PRIOR_SHAPE, BaselineConfig, fit_baseline, slot_of_hour
from monitor.detect.engine import Detector
from monitor.detect.history import BrandHistory, hour_of
from monitor.detect.incidents import IncidentConfig
from monitor.detect.replay import replay
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


def test_surge_hours_are_capped_not_dropped() -> None:
    quiet = daily_history("Acme", NOW, 21, complaints=20, others=100)
    storm_at = NOW - timedelta(days=7, hours=1)
    storm = make_events(
        "Acme", [storm_at + timedelta(seconds=10 * i) for i in range(200)], prefix="s"
    )
    history = _history(quiet + storm)
    history.mark_surge(storm_at.timestamp(), storm_at.timestamp() + 2000)
    assert _daily_total(history) == pytest.approx(_daily_total(_history(quiet)), rel=0.05)


def _bursty(start: datetime, days: int, per_hour: float, size: float, seed: int) -> list:
    """Every post a complaint; each hour's rate is per_hour x Gamma(size, 1/size) (bursts
    that last an hour, as on real Twitter), Poisson within the hour."""
    rng = np.random.default_rng(seed)
    times = []
    for hour in range(days * 24):
        count = rng.poisson(per_hour * rng.gamma(size, 1 / size))
        at = start + timedelta(hours=hour)
        times += [at + timedelta(seconds=float(s)) for s in np.sort(rng.uniform(0, 3600, count))]
    return make_events("Acme", times, 1.0, prefix="b")


def test_surge_hours_of_bursty_traffic_do_not_drag_the_expectation_down() -> None:
    """The feedback loop: dropped surge hours lowered the expectation, which made more
    surges, which dropped more hours (measured on NAB's real Twitter counts)."""
    start = NOW - timedelta(days=14)
    detector = Detector()
    replay(
        _bursty(start, 14, 60.0, 1.5, seed=11),
        evaluate_from=start + timedelta(days=3),
        end=NOW,
        detector=detector,
    )
    history = detector.history("Acme")
    fitted = fit_baseline(history, NOW, CONFIG)
    assert fitted.complaints.mean() >= 0.7 * 60
    assert len(history.surge_hours) <= 0.1 * 11 * 24
    assert fitted.dispersion < 5  # the bursts are in the fitted tail, not treated as storms


def test_a_level_shift_that_lasts_becomes_normal_within_two_days() -> None:
    start = NOW - timedelta(days=18)
    shift = NOW - timedelta(days=4)
    rng = np.random.default_rng(5)
    times = [
        start + timedelta(seconds=float(s))
        for s in np.sort(rng.uniform(0, (shift - start).total_seconds(), 20 * 24 * 14))
    ]
    times += [
        shift + timedelta(seconds=float(s))
        for s in np.sort(rng.uniform(0, (NOW - shift).total_seconds(), 60 * 24 * 4))
    ]
    result = replay(
        make_events("Acme", times, 1.0), evaluate_from=start + timedelta(days=7), end=NOW
    )
    settled = shift + timedelta(days=2)  # no signal after it; resolved a quiet period later
    quiet = IncidentConfig().quiet_period
    for incident in result.incidents:
        assert incident.last_signal_at <= settled, incident.id
        assert incident.resolved_at is not None
        assert incident.resolved_at <= settled + quiet
