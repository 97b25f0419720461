"""A competitor's storm that names our brand in passing is the competitor's storm (issue 19).

Rival has a storm; nine of its posts also name Acme ("switched from Acme to Rival, huge
mistake") and the classifier read them as complaints for both. Counted for Acme, nine
complaints at night against a fraction of one expected paged Acme.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.detect.engine import Detector
from monitor.detect.events import PostEvent
from monitor.detect.incidents import IncidentConfig
from monitor.detect.replay import events_from_jsonl, replay
from monitor.detect.simulate import daily_history, make_events

NIGHT = datetime(2026, 3, 4, 1, 30, tzinfo=UTC)  # 02:30 in Stockholm


def _quiet(brand: str) -> list[PostEvent]:
    return daily_history(brand, NIGHT, 21, complaints=3, others=17)


def _rival_storm(count: int = 40) -> list[PostEvent]:
    times = [NIGHT - timedelta(minutes=50 * i / count + 1) for i in range(count)]
    return [
        replace(p, author=f"r{i}")
        for i, p in enumerate(make_events("Rival", times, 0.95, prefix="r"))
    ]


def _shared(storm: list[PostEvent], n: int, acme: float | None, rival: float) -> list[PostEvent]:
    """The first `n` storm posts name Acme too: their Rival readings at `rival`, and Acme
    readings at `acme` (None: Acme's reading is not made yet)."""
    out = []
    for post in storm[:n]:
        out.append(replace(post, complaint=rival, also=("Acme",)))
        if acme is not None:
            out.append(replace(post, brand="Acme", complaint=acme, also=("Rival",)))
    return out + storm[n:]


def _own(count: int) -> list[PostEvent]:
    times = [NIGHT - timedelta(minutes=3 * i + 2) for i in range(count)]
    posts = make_events("Acme", times, 0.95, prefix="own")
    return [replace(p, author=f"a{i}") for i, p in enumerate(posts)]


def _detector(*groups: list[PostEvent]) -> Detector:
    detector = Detector()
    for group in groups:
        detector.observe(group)
    return detector


def _fired(detector: Detector, brand: str) -> set[str]:
    return {d.kind for d in detector.assess(NIGHT) if d.brand == brand and d.fired}


def test_passing_mentions_in_a_competitors_storm_do_not_page_us() -> None:
    detector = _detector(_quiet("Acme"), _quiet("Rival"), _shared(_rival_storm(), 9, 0.9, 0.95))
    decisions = [d for d in detector.assess(NIGHT) if d.brand == "Acme"]
    assert not any(d.fired for d in decisions)
    assert "competitor_storm" in {d.reason for d in decisions}
    assert "volume_surge" in _fired(_detector(_quiet("Rival"), _rival_storm()), "Rival")


def test_without_the_rule_the_same_posts_page_us() -> None:
    """The failure this guards against: the nine shared posts alone fire for Acme."""
    acme_only = [e for e in _shared(_rival_storm(), 9, 0.9, 0.95) if e.brand == "Acme"]
    plain = [replace(e, also=()) for e in acme_only]
    assert _fired(_detector(_quiet("Acme"), plain), "Acme")


def test_a_tie_goes_to_the_brand_whose_storm_is_stronger() -> None:
    detector = _detector(_quiet("Acme"), _quiet("Rival"), _shared(_rival_storm(), 9, 0.95, 0.95))
    assert not _fired(detector, "Acme")


def test_a_post_not_yet_read_for_the_competitor_is_theirs_while_they_storm() -> None:
    storm = _rival_storm()
    acme_first = [replace(p, brand="Acme", complaint=0.9, also=("Rival",)) for p in storm[:9]]
    detector = _detector(_quiet("Acme"), _quiet("Rival"), storm[9:], acme_first)
    assert not _fired(detector, "Acme")


def test_a_post_read_as_more_about_us_still_counts_for_us() -> None:
    """ "Rival is fine, but Acme has been down all night": ours, even in Rival's storm."""
    detector = _detector(_quiet("Acme"), _quiet("Rival"), _shared(_rival_storm(), 9, 0.95, 0.3))
    assert _fired(detector, "Acme")


def test_a_storm_at_both_brands_pages_both() -> None:
    detector = _detector(
        _quiet("Acme"), _quiet("Rival"), _shared(_rival_storm(), 9, 0.9, 0.95), _own(15)
    )
    assert _fired(detector, "Acme")
    assert _fired(detector, "Rival")


def test_shared_posts_page_us_when_the_competitor_is_not_storming() -> None:
    """Posts naming both brands, no storm at Rival: they are ours to count."""
    shared = _shared(_rival_storm(9), 9, 0.9, 0.95)
    rival_busy = daily_history("Rival", NIGHT, 21, complaints=400, others=100)
    detector = _detector(_quiet("Acme"), rival_busy, shared)
    assert not _fired(detector, "Rival")
    assert _fired(detector, "Acme")


def test_backtest_reads_one_record_per_brand_as_one_post_naming_both() -> None:
    records = [
        {
            "id": e.post_id,
            "brand": e.brand,
            "published_at": e.at.isoformat(),
            "complaint": e.complaint,
            "author": e.author,
        }
        for e in _quiet("Acme") + _quiet("Rival") + _shared(_rival_storm(), 9, 0.9, 0.95)
    ]
    events = events_from_jsonl(json.dumps(r) for r in records).events
    assert {e.also for e in events if e.post_id.startswith("r") and e.brand == "Acme"} == {
        ("Rival",)
    }
    result = replay(events, incidents=IncidentConfig(confirm_after=timedelta(0)))
    assert {i.brand for i in result.incidents} == {"Rival"}
