"""Thread velocity and slow burn on constructed histories with a fixed `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.detect.history import BrandHistory
from monitor.detect.simulate import Simulator, Traffic, daily_history, make_events
from monitor.detect.slowburn import SlowBurn
from monitor.detect.thread import ThreadVelocity

NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)


def _history(events: list, live_since: datetime | None = None) -> BrandHistory:
    history = BrandHistory("Acme", live_since=live_since)
    for event in events:
        history.add(event)
    return history


def _thread(recent: int, complaint: float, earlier: int = 2) -> list:
    opener = make_events("Acme", [NOW - timedelta(hours=2)], 0.9, thread_id="t1", prefix="op")
    before = [NOW - timedelta(minutes=90 - 20 * i) for i in range(earlier)]
    burst = [NOW - timedelta(seconds=1700 * i / max(recent, 1)) for i in range(recent)]
    comments = make_events("Acme", before, 0.1, 0.1, "t1", True, prefix="early")
    return opener + comments + make_events("Acme", burst, complaint, None, "t1", True, prefix="c")


def _background() -> list:
    return daily_history("Acme", NOW - timedelta(hours=3), 7, complaints=3, others=30)


def test_an_angry_thread_that_takes_off_pages() -> None:
    decision = ThreadVelocity().assess(_history(_background() + _thread(14, 0.9)), NOW)
    assert decision.reason == "thread_velocity"
    signal = decision.signal
    assert signal is not None
    assert signal.thread_id == "t1"
    assert signal.observed == 14
    assert signal.share_negative == 1.0
    assert len(signal.post_ids) == 14


def test_a_popular_happy_thread_does_not_page() -> None:
    decision = ThreadVelocity().assess(_history(_background() + _thread(30, 0.05)), NOW)
    assert decision.signal is None
    assert decision.reason == "not_negative"


def test_a_few_angry_comments_do_not_page() -> None:
    decision = ThreadVelocity().assess(_history(_background() + _thread(5, 0.9)), NOW)
    assert decision.reason == "below_min_count"


def test_a_thread_busy_all_along_is_not_accelerating() -> None:
    steady = [NOW - timedelta(minutes=2 * i) for i in range(200)]  # 15 per 30 min for 6 h
    events = make_events("Acme", steady, 0.9, None, "t2", True)
    decision = ThreadVelocity().assess(_history(_background() + events), NOW)
    assert decision.reason == "below_min_ratio"


def test_no_thread_no_signal() -> None:
    assert ThreadVelocity().assess(_history(_background()), NOW).reason == "no_active_thread"


def _creeping(factor_per_day: float, days: int = 3) -> list:
    sim = Simulator(5)
    traffic = Traffic("Acme", 300, daily_noise=0.0)
    events = sim.quiet(traffic, NOW - timedelta(days=21), NOW)
    complaints = Traffic("Acme", 300 * 0.15, daily_noise=0.0)
    start = NOW - timedelta(days=days)

    def ramp(dt):  # extra multiple growing linearly
        return factor_per_day * dt / 86400

    return events + sim.extra(complaints, start, days * 24, ramp, "complaint")


def test_slow_burn_fires_on_complaints_creeping_up_over_days() -> None:
    decision = SlowBurn().assess(_history(_creeping(0.7)), NOW)
    assert decision.reason == "slow_burn"
    signal = decision.signal
    assert signal is not None
    assert signal.score is not None
    assert signal.score >= 10
    assert signal.ratio >= 1.5
    assert signal.window >= timedelta(hours=12)


def test_slow_burn_stays_quiet_on_normal_traffic() -> None:
    decision = SlowBurn().assess(_history(_creeping(0.0)), NOW)
    assert decision.signal is None
    assert decision.reason == "below_threshold"


def test_slow_burn_ignores_hours_before_the_cut_over() -> None:
    history = _history(_creeping(0.7), live_since=NOW - timedelta(hours=3))
    assert SlowBurn().assess(history, NOW).reason == "warming_up"
