"""One voice per author: one customer posting again and again is one complaint, not a storm."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.detect.engine import Detector
from monitor.detect.events import PostEvent
from monitor.detect.replay import events_from_jsonl
from monitor.detect.rising import RisingStorm
from monitor.detect.simulate import daily_history, make_events
from monitor.detect.voices import VoiceCap, excess, voice_of
from monitor.detect.volume import VolumeSurge

NIGHT = datetime(2026, 3, 4, 1, 30, tzinfo=UTC)  # 02:30 in Stockholm


def _posts(authors: list[str | None], sources: list[str] | None = None) -> list[PostEvent]:
    """One complaint post per author in the last 20 minutes, each its own post (no thread)."""
    times = [NIGHT - timedelta(minutes=4 * i + 1) for i in range(len(authors))]
    posts = make_events("Acme", times, 1.0, prefix="p")
    places = sources or ["forum:example"] * len(authors)
    return [
        replace(post, author=author, source=place)
        for post, author, place in zip(posts, authors, places, strict=True)
    ]


def _detector(extra: list[PostEvent]) -> Detector:
    detector = Detector()
    detector.observe(daily_history("Acme", NIGHT, 21, complaints=3, others=17) + extra)
    return detector


def test_one_author_posting_five_complaints_does_not_page_a_low_volume_brand() -> None:
    detector = _detector(_posts(["Mette H"] * 5))
    decision = VolumeSurge().assess(detector.history("Acme"), NIGHT)
    assert decision.signal is None
    assert decision.reason == "below_min_count"
    assert detector.evaluate(NIGHT) == []


def test_five_authors_posting_one_complaint_each_still_page() -> None:
    detector = _detector(_posts(["Mette", "Lars", "Sanne", "Ole", "Bo"]))
    assert VolumeSurge().assess(detector.history("Acme"), NIGHT).fired


def test_the_name_is_one_person_up_to_case_and_spacing() -> None:
    detector = _detector(_posts(["Mette H", "mette  h", "METTE H", " Mette H ", "mette h"]))
    assert detector.evaluate(NIGHT) == []


def test_guests_and_anonymous_posters_are_each_a_different_person() -> None:
    detector = _detector(_posts(["Anonymous", "Gæst", "anonymous", "[deleted]", None]))
    assert VolumeSurge().assess(detector.history("Acme"), NIGHT).fired


def test_the_same_name_on_five_sites_is_five_voices() -> None:
    sources = [f"forum:site{i}" for i in range(5)]
    detector = _detector(_posts(["mette"] * 5, sources))
    assert VolumeSurge().assess(detector.history("Acme"), NIGHT).fired


def test_a_rising_storm_counts_each_author_at_most_twice() -> None:
    """Twelve complaints over two hours from one account, at a brand expecting ~0.1 an hour."""
    times = [NIGHT - timedelta(minutes=10 * i + 1) for i in range(12)]
    spam = [replace(p, author="angry_customer") for p in make_events("Acme", times, 1.0)]
    detector = _detector(spam)
    decision = RisingStorm().assess(detector.history("Acme"), NIGHT)
    assert decision.signal is None
    many = [replace(p, author=f"customer{i}") for i, p in enumerate(spam)]
    assert RisingStorm().assess(_detector(many).history("Acme"), NIGHT).fired


def test_the_author_cap_applies_after_the_thread_cap() -> None:
    """Four comments by one person in one thread are one complaint, not minus two."""
    cap = VoiceCap(thread_cap=1.0, author_cap=1.0)
    counted = [cap.counted(1.0, "t1", "src\x1fmette") for _ in range(4)]
    assert counted == [1.0, 0.0, 0.0, 0.0]
    # ...and a regular who comments in three threads is still one person
    cap = VoiceCap(thread_cap=1.0, author_cap=1.0)
    assert sum(cap.counted(0.8, f"t{i}", "src\x1fole") for i in range(3)) == 1.0


def test_excess_is_what_repeated_voices_add_beyond_their_share() -> None:
    class Ref:
        def __init__(self, weight: float, thread: str | None, author: str | None) -> None:
            self.weight, self.thread_id, self.author = weight, thread, author

    refs = [Ref(0.9, None, "a"), Ref(0.9, None, "a"), Ref(0.8, None, "b"), Ref(1.0, "t", None)]
    assert round(excess(refs, thread_cap=1.0, author_cap=1.0), 6) == 0.8


def test_voice_of_ignores_placeholders_and_keys_by_source() -> None:
    assert voice_of("reddit", "  Mette   H ") == voice_of("reddit", "mette h")
    assert voice_of("reddit", "mette") != voice_of("trustpilot", "mette")
    assert voice_of("reddit", "[deleted]") is None
    assert voice_of("forum", "Vieras") is None
    assert voice_of("forum", "") is None
    assert voice_of("forum", None) is None


def test_backtest_records_carry_their_author() -> None:
    lines = [
        json.dumps(
            {
                "id": f"p{i}",
                "brand": "Acme",
                "published_at": (NIGHT - timedelta(minutes=i)).isoformat(),
                "complaint": 1.0,
                "author": "Mette",
                "source": "forum",
            }
        )
        for i in range(3)
    ]
    events = events_from_jsonl(lines).events
    assert {e.author for e in events} == {"Mette"}
