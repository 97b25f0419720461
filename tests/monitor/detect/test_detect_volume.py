"""Volume surge on constructed histories with a fixed `now` (no clock, no sleeping)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.detect.events import PostEvent
from monitor.detect.history import BrandHistory
from monitor.detect.simulate import daily_history, make_events
from monitor.detect.volume import VolumeSurge
from monitor.detect.windows import ExpectedSpike, SpikeCalendar

NIGHT = datetime(2026, 3, 4, 2, 30, tzinfo=UTC)  # Wednesday 03:30 in Stockholm
NOON = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)


def _history(events: list[PostEvent], live_since: datetime | None = None) -> BrandHistory:
    history = BrandHistory("Acme", live_since=live_since)
    for event in events:
        history.add(event)
    return history


def _low_volume(now: datetime) -> list[PostEvent]:
    """A brand with three complaints (and 17 other mentions) a day, for three weeks."""
    return daily_history("Acme", now - timedelta(hours=2), 21, complaints=3, others=17)


def _burst(now: datetime, count: int, minutes: int = 60, complaint: float = 0.9) -> list[PostEvent]:
    step = minutes * 60 / count
    times = [now - timedelta(seconds=step * (i + 0.5)) for i in range(count)]
    return make_events("Acme", times, complaint, prefix="burst")


def test_one_to_three_complaints_at_night_does_not_page() -> None:
    history = _history(_low_volume(NIGHT) + _burst(NIGHT, 3))
    decision = VolumeSurge().assess(history, NIGHT)
    assert decision.signal is None
    assert decision.reason == "below_min_count"


def test_zero_to_twelve_complaints_in_an_hour_pages() -> None:
    history = _history(_low_volume(NIGHT) + _burst(NIGHT, 12))
    decision = VolumeSurge().assess(history, NIGHT)
    assert decision.reason == "volume_surge"
    signal = decision.signal
    assert signal is not None
    assert signal.observed >= 9
    assert signal.ratio >= 2
    assert signal.p_value is not None
    assert signal.p_value < 1e-5
    assert len(signal.post_ids) == 12


def test_high_volume_needs_a_real_rise() -> None:
    events = daily_history("Acme", NOON - timedelta(hours=2), 21, complaints=300, others=1000)
    history = _history(events + _burst(NOON, 15))
    assert VolumeSurge().assess(history, NOON).signal is None
    stormy = _history(events + _burst(NOON, 120, minutes=30))
    signal = VolumeSurge().evaluate(stormy, NOON)
    assert signal is not None
    assert signal.severity == "critical"


def test_ordinary_day_is_within_expected() -> None:
    now = datetime(2026, 3, 4, 9, 0, 10, tzinfo=UTC)
    history = _history(daily_history("Acme", now + timedelta(hours=12), 22, 3, 17))
    assert VolumeSurge().assess(history, now).reason in {"below_min_count", "within_expected"}


def test_before_the_cut_over_a_surge_is_history_only() -> None:
    history = _history(
        _low_volume(NIGHT) + _burst(NIGHT, 12), live_since=NIGHT + timedelta(hours=1)
    )
    decision = VolumeSurge().assess(history, NIGHT)
    assert decision.reason == "history_only"
    assert decision.signal is not None
    assert decision.signal.history


def test_after_the_cut_over_backlog_posts_do_not_count() -> None:
    live_since = NIGHT - timedelta(minutes=5)
    history = _history(_low_volume(NIGHT) + _burst(NIGHT, 12), live_since=live_since)
    assert VolumeSurge().assess(history, NIGHT).signal is None


def _launch(now: datetime, count: int) -> list[PostEvent]:
    times = [now - timedelta(seconds=3600 * i / count) for i in range(count)]
    return make_events("Acme", times, 0.05, 0.05, prefix="launch")


def test_expected_spike_window_holds_back_volume() -> None:
    base = daily_history("Acme", NOON - timedelta(hours=2), 21, complaints=30, others=200)
    noisy = _launch(NOON, 600) + _burst(NOON, 30, complaint=0.6)  # 5% classifier misfires
    spike = ExpectedSpike("Acme", NOON - timedelta(hours=3), NOON + timedelta(hours=3), "launch")
    unannotated = VolumeSurge().assess(_history(base + noisy), NOON)
    annotated = VolumeSurge(spikes=SpikeCalendar([spike])).assess(_history(base + noisy), NOON)
    assert unannotated.reason == "volume_surge"
    assert annotated.reason == "expected_spike_window"


def test_expected_spike_window_still_pages_a_real_storm() -> None:
    base = daily_history("Acme", NOON - timedelta(hours=2), 21, complaints=30, others=200)
    storm = _launch(NOON, 300) + _burst(NOON, 60, minutes=30)
    spike = ExpectedSpike("Acme", NOON - timedelta(hours=3), NOON + timedelta(hours=3), "launch")
    decision = VolumeSurge(spikes=SpikeCalendar([spike])).assess(_history(base + storm), NOON)
    assert decision.reason == "volume_surge"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, 7200), st.floats(0.0, 0.49), st.floats(0.0, 1.0)), max_size=300
    )
)
def test_adding_non_complaint_posts_never_creates_a_volume_signal(
    extra: list[tuple[int, float, float]],
) -> None:
    base = _low_volume(NIGHT) + _burst(NIGHT, 3)
    noise = [
        PostEvent(f"n{i}", "Acme", NIGHT - timedelta(seconds=s), c, n, source="news")
        for i, (s, c, n) in enumerate(extra)
    ]
    assert VolumeSurge().evaluate(_history(base), NIGHT) is None
    assert VolumeSurge().evaluate(_history(base + noise), NIGHT) is None
