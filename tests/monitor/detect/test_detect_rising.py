"""Rising storm (Poisson CUSUM) on constructed histories with a fixed `now` (no clock)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.detect.engine import Detector
from monitor.detect.events import PostEvent
from monitor.detect.history import BrandHistory
from monitor.detect.rising import RisingConfig, RisingStorm
from monitor.detect.simulate import daily_history, make_events
from monitor.detect.volume import VolumeSurge
from monitor.detect.windows import ExpectedSpike, SpikeCalendar

NOW = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)  # a Wednesday, 12:00 in Stockholm


def _history(events: list[PostEvent], live_since: datetime | None = None) -> BrandHistory:
    history = BrandHistory("Acme", live_since=live_since)
    for event in events:
        history.add(event)
    return history


def _steady(now: datetime, per_hour: int = 12, days: int = 21) -> list[PostEvent]:
    """`per_hour` complaints an hour, evenly spaced, every hour of `days` days before `now`."""
    step = 3600 / per_hour
    count = int(days * 24 * per_hour)
    times = [now - timedelta(seconds=step * (i + 0.5)) for i in range(count)]
    return make_events("Acme", times, 0.9, prefix="steady")


def _ramp(
    now: datetime, minutes: int, per_minute: list[float], thread: str | None = None
) -> list[PostEvent]:
    """Extra complaints in the last `minutes`: per_minute[m] at minute m after the start."""
    start = now - timedelta(minutes=minutes)
    times: list[datetime] = []
    owed = 0.0
    for minute in range(minutes):
        owed += per_minute[minute]
        while owed >= 1:
            owed -= 1
            times.append(start + timedelta(minutes=minute, seconds=30))
    return make_events("Acme", times, 0.9, thread_id=thread, is_comment=thread is not None)


def _linear(minutes: int, top: float) -> list[float]:
    """Extra complaints per minute growing from 0 to `top`."""
    return [top * m / minutes for m in range(minutes)]


def _rising(thread: str | None = None) -> list[PostEvent]:
    """30 complaints an hour normally; the last 50 minutes an extra 0 -> 2.6x normal."""
    return _steady(NOW, per_hour=30, days=15) + _ramp(NOW, 50, _linear(50, 1.3), thread)


def test_a_ramp_pages_before_any_fixed_window_is_unusual() -> None:
    history = _history(_rising())
    assert VolumeSurge().assess(history, NOW).signal is None
    decision = RisingStorm().assess(history, NOW)
    assert decision.reason == "rising_storm"
    signal = decision.signal
    assert signal is not None
    assert signal.ratio >= 2
    assert signal.score is not None
    assert signal.score >= 12
    assert NOW - signal.window_start <= timedelta(minutes=50)
    assert len(signal.post_ids) > 0


def test_ordinary_traffic_is_below_threshold() -> None:
    history = _history(_steady(NOW))
    decision = RisingStorm().assess(history, NOW)
    assert decision.signal is None
    assert decision.reason == "below_threshold"


def test_the_same_rise_inside_one_thread_is_left_to_the_thread_detector() -> None:
    decision = RisingStorm().assess(_history(_rising(thread="blog-1")), NOW)
    assert decision.signal is None
    assert decision.reason == "below_threshold"


def test_a_finished_blip_at_low_volume_is_not_rising() -> None:
    quiet = _steady(NOW - timedelta(hours=3), per_hour=1)
    blip = make_events(
        "Acme",
        [NOW - timedelta(hours=2, minutes=m) for m in range(12)],
        0.95,
        prefix="blip",
    )
    history = _history(quiet + blip)
    assert RisingStorm().assess(history, NOW - timedelta(hours=1, minutes=58)).fired
    decision = RisingStorm().assess(history, NOW - timedelta(hours=1, minutes=30))
    assert decision.signal is None
    assert decision.reason == "not_rising"


def test_before_the_cut_over_it_is_history_only() -> None:
    history = _history(_rising(), live_since=NOW + timedelta(hours=1))
    decision = RisingStorm().assess(history, NOW)
    assert decision.reason == "history_only"
    assert decision.signal is not None
    assert decision.signal.history


def test_an_annotated_launch_raises_the_expectation() -> None:
    loud = make_events(
        "Acme", [NOW - timedelta(seconds=10 * i) for i in range(1, 211)], 0.05, prefix="launch"
    )
    events = _rising() + loud
    spike = ExpectedSpike("Acme", NOW - timedelta(hours=1), NOW + timedelta(hours=1), "launch")
    plain = RisingStorm().assess(_history(events), NOW)
    assert plain.fired
    held = RisingStorm(spikes=SpikeCalendar([spike])).assess(_history(events), NOW)
    assert held.signal is None
    assert held.reason == "below_threshold"


def test_engine_groups_it_with_the_volume_surge_and_leaves_its_hours_out() -> None:
    detector = Detector()
    detector.observe(_rising())
    signals = detector.evaluate(NOW)
    assert [s.kind for s in signals] == ["rising_storm"]
    assert detector.history("Acme").surge_hours


def test_at_a_few_complaints_a_day_a_steep_storm_is_caught_by_the_tenfold_alternative() -> None:
    """Seven complaints in an hour, early morning, at a brand with three a day: under a 4x
    alternative alone the drift between complaints keeps the CUSUM under its threshold; the
    10x alternative fires."""
    now = datetime(2026, 3, 4, 5, 30, tzinfo=UTC)  # 06:30 in Stockholm
    times = [now - timedelta(minutes=8 * i + 2) for i in range(7)]
    posts = make_events("Acme", times, complaint=1.0)
    storm = [replace(p, author=f"c{i}") for i, p in enumerate(posts)]
    detector = Detector()
    detector.observe(daily_history("Acme", now, 21, complaints=3, others=17) + storm)
    history = detector.history("Acme")
    only_four = RisingStorm(RisingConfig(rhos=(4.0,))).assess(history, now)
    assert only_four.reason == "below_threshold"
    assert RisingStorm().assess(history, now).fired
