"""Complaint evidence: posts over their calibrated threshold count, one voice per thread."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.detect.engine import Detector
from monitor.detect.events import PostEvent
from monitor.detect.simulate import daily_history, make_events
from monitor.detect.volume import VolumeSurge

NOW = datetime(2026, 3, 4, 13, 0, tzinfo=UTC)  # a Wednesday, 14:00 in Stockholm
NIGHT = datetime(2026, 3, 4, 1, 30, tzinfo=UTC)  # 02:30 in Stockholm


def _detector(events: list[PostEvent]) -> Detector:
    detector = Detector()
    detector.observe(events)
    return detector


def _launch(count: int, complaint: float, threshold: float) -> list[PostEvent]:
    """`count` posts about a launch in the last hour, read at `complaint` probability."""
    times = [NOW - timedelta(seconds=3600 * (i + 0.5) / count) for i in range(count)]
    posts = make_events("Acme", times, complaint, 0.1, prefix="launch")
    return [replace(p, threshold=threshold) for p in posts]


def test_a_launch_of_posts_under_their_threshold_cannot_add_up_to_a_storm() -> None:
    """150 launch posts at 0.55 each summed to 82 'complaints' against ~1.5 expected."""
    history = daily_history("Acme", NOW, 21, complaints=20, others=100)
    detector = _detector(history + _launch(150, 0.55, 0.7))
    assert detector.evaluate(NOW) == []


def test_a_real_storm_inside_a_launch_still_pages() -> None:
    history = daily_history("Acme", NOW, 21, complaints=20, others=100)
    times = [NOW - timedelta(minutes=2 * i + 1) for i in range(15)]
    storm = [replace(p, threshold=0.7) for p in make_events("Acme", times, 0.9, prefix="s")]
    detector = _detector(history + _launch(150, 0.55, 0.7) + storm)
    kinds = {s.kind for s in detector.evaluate(NOW)}
    assert kinds & {"volume_surge", "rising_storm"}


def _quiet_low_volume() -> list[PostEvent]:
    return daily_history("Acme", NIGHT, 21, complaints=3, others=17)


def test_four_agreeing_comments_in_one_thread_do_not_page_a_low_volume_brand() -> None:
    times = [NIGHT - timedelta(minutes=3 * i + 1) for i in range(4)]
    thread = make_events("Acme", times, 1.0, thread_id="t1", is_comment=True, prefix="c")
    detector = _detector(_quiet_low_volume() + thread)
    decision = VolumeSurge().assess(detector.history("Acme"), NIGHT)
    assert decision.signal is None
    assert decision.reason == "below_min_count"
    assert detector.evaluate(NIGHT) == []


def test_four_complaints_from_four_posts_still_count_as_four() -> None:
    times = [NIGHT - timedelta(minutes=3 * i + 1) for i in range(4)]
    posts = make_events("Acme", times, 1.0, prefix="c")
    decision = VolumeSurge().assess(_detector(_quiet_low_volume() + posts).history("Acme"), NIGHT)
    assert decision.fired
