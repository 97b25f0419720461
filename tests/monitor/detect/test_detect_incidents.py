"""Incident grouping, re-open, auto-resolve, history incidents, and the explanation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.detect.events import Signal
from monitor.detect.explain import explain, headline_in
from monitor.detect.incidents import IncidentBook, IncidentConfig
from monitor.detect.simulate import make_events

T0 = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)


def _signal(at: datetime, kind: str = "volume_surge", **kw: object) -> Signal:
    base = Signal(
        kind=kind,
        brand="Acme",
        severity="warning",
        reason=kind,
        at=at,
        window_start=at - timedelta(minutes=30),
        window_end=at,
        observed=14.0,
        expected=2.5,
        ratio=5.6,
        p_value=3e-7,
        mentions=20,
        share_negative=0.7,
        post_ids=(f"p{at.minute}", "p-shared"),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_signals_of_one_brand_group_into_one_incident() -> None:
    book = IncidentBook()
    updates = [
        book.apply(_signal(T0 + timedelta(minutes=5 * i)), T0 + timedelta(minutes=5 * i))
        for i in range(6)
    ]
    assert [u.action for u in updates] == ["opened"] + ["grown"] * 5
    assert [u.pages for u in updates] == [True] + [False] * 5
    assert len(book.incidents) == 1
    incident = book.incidents[0]
    assert incident.signal_count == 6
    assert "p-shared" in incident.post_ids
    assert len(incident.post_ids) == len(set(incident.post_ids))


def test_slow_burn_joins_the_storm_family_and_escalation_pages() -> None:
    book = IncidentBook()
    book.apply(_signal(T0), T0)
    burn = book.apply(_signal(T0, "slow_burn", p_value=None, score=14.0), T0 + timedelta(minutes=5))
    worse = book.apply(_signal(T0, severity="critical"), T0 + timedelta(minutes=10))
    assert burn.action == "grown"
    assert burn.incident.kinds == ["volume_surge", "slow_burn"]
    assert worse.action == "escalated"
    assert not worse.pages
    assert worse.incident.severity == "critical"


def test_escalation_of_an_acknowledged_incident_pages_again() -> None:
    book = IncidentBook()
    incident = book.apply(_signal(T0), T0).incident
    book.acknowledge(incident.id, T0 + timedelta(minutes=3))
    worse = book.apply(_signal(T0, severity="critical"), T0 + timedelta(minutes=10))
    assert worse.action == "escalated"
    assert worse.pages
    assert incident.status == "triggered"


def test_a_thread_signal_for_the_storms_dominant_thread_joins_it() -> None:
    book = IncidentBook()
    book.apply(_signal(T0, thread_id="t9"), T0)
    thread = book.apply(_signal(T0, "thread_velocity", thread_id="t9"), T0 + timedelta(minutes=5))
    other = book.apply(_signal(T0, "thread_velocity", thread_id="t3"), T0 + timedelta(minutes=5))
    assert thread.action == "grown"
    assert other.action == "opened"
    assert len(book.incidents) == 2


def test_other_brands_get_their_own_incident() -> None:
    book = IncidentBook()
    book.apply(_signal(T0), T0)
    assert book.apply(_signal(T0, brand="Rival"), T0).action == "opened"


def test_auto_resolve_after_quiet_period_then_reopen_within_cooldown() -> None:
    # The lifecycle alone; waiting for a surge to last: tests/monitor/detect/test_detect_bursty.py
    config = IncidentConfig(
        quiet_period=timedelta(hours=2), cooldown=timedelta(hours=6), confirm_after=timedelta(0)
    )
    book = IncidentBook(config)
    book.apply(_signal(T0), T0)
    assert book.tick(T0 + timedelta(hours=1)) == []
    resolved = book.tick(T0 + timedelta(hours=2))
    assert [(u.action, u.reason) for u in resolved] == [("resolved", "quiet_period")]
    again = book.apply(_signal(T0 + timedelta(hours=4)), T0 + timedelta(hours=4))
    assert (again.action, again.reason, again.pages) == ("reopened", "within_cooldown", True)
    assert len(book.incidents) == 1
    book.tick(T0 + timedelta(hours=6))
    later = book.apply(_signal(T0 + timedelta(hours=13)), T0 + timedelta(hours=13))
    assert later.action == "opened"
    assert len(book.incidents) == 2
    events = [e.event for e in book.incidents[0].timeline]
    assert events == ["opened", "resolved", "reopened", "resolved"]


def test_acknowledged_incident_grows_without_paging() -> None:
    book = IncidentBook()
    incident = book.apply(_signal(T0), T0).incident
    book.acknowledge(incident.id, T0 + timedelta(minutes=3), by="kim")
    update = book.apply(_signal(T0), T0 + timedelta(minutes=40))
    assert update.action == "grown"
    assert not update.pages
    assert incident.status == "acknowledged"
    assert [e.event for e in incident.timeline] == ["opened", "acknowledged", "grown"]


def test_history_signals_never_page_and_end_as_resolved_history() -> None:
    book = IncidentBook()
    update = book.apply(_signal(T0, history=True), T0)
    assert update.action == "opened"
    assert not update.pages
    book.tick(T0 + timedelta(hours=3))
    incident = book.incidents[0]
    assert incident.origin == "history"
    assert incident.status == "resolved"


def test_a_history_incident_still_open_goes_live_on_a_live_signal() -> None:
    book = IncidentBook()
    book.apply(_signal(T0, history=True), T0)
    live = book.apply(_signal(T0 + timedelta(minutes=10)), T0 + timedelta(minutes=10))
    assert live.action == "went_live"
    assert live.pages


def test_restoring_a_book_from_plain_state() -> None:
    book = IncidentBook()
    book.apply(_signal(T0), T0)
    restored = IncidentBook(incidents=book.incidents)
    assert restored.apply(_signal(T0), T0 + timedelta(minutes=5)).action == "grown"


def test_explanation_names_the_numbers_sources_threads_and_posts() -> None:
    book = IncidentBook()
    posts = make_events(
        "Acme",
        [T0 - timedelta(minutes=i) for i in range(6)],
        0.95,
        0.9,
        "t7",
        source="forum:flashback.org",
    )
    posts += make_events(
        "Acme",
        [T0 - timedelta(minutes=i) for i in range(3)],
        0.45,
        0.2,
        source="blog:wordpress",
        prefix="b",
    )
    ids = tuple(p.post_id for p in posts)
    incident = book.apply(
        _signal(T0, post_ids=ids, thread_id="t7", severity="critical"), T0
    ).incident
    text = explain(incident, posts).text
    assert "Acme" in text
    assert "critical" in text
    assert "14.0 complaints in 30 min vs 2.5 expected" in text
    assert "5.6x" in text
    assert "p = 3.0e-07" in text
    assert "Share negative: 67% of 9 posts" in text
    assert "forum:flashback.org (6)" in text
    assert "t7 (6)" in text
    assert "sv (9)" in text
    lines = [line for line in text.splitlines() if line.startswith("  ")]
    assert len(lines) == 3
    assert "forum:flashback.org" in lines[0]
    assert "blog:wordpress" in lines[1]


def test_a_resolved_incident_says_when_the_surge_ended() -> None:
    book = IncidentBook(IncidentConfig(quiet_period=timedelta(hours=2)))
    book.apply(_signal(T0), T0)
    book.apply(_signal(T0 + timedelta(minutes=40)), T0 + timedelta(minutes=40))
    incident = book.incidents[0]
    assert "ended" not in explain(incident, []).headline
    book.tick(T0 + timedelta(hours=3))
    assert incident.resolved_at == T0 + timedelta(hours=3)
    assert explain(incident, []).headline.endswith(
        "since 2026-03-04 13:30 UTC, ended at 2026-03-04 14:40 UTC"
    )


def test_representative_posts_come_from_within_the_storm() -> None:
    """A later, longer signal (a slow burn's day) brings in posts from hours before the
    onset; they count in the explanation, but the posts it quotes are from the storm."""
    book = IncidentBook()
    storm = make_events("Acme", [T0 - timedelta(minutes=m) for m in (5, 10, 20)], 0.7)
    before = make_events(
        "Acme", [T0 - timedelta(hours=h) for h in (3, 5)], 0.99, source="blog:x", prefix="old"
    )
    book.apply(_signal(T0, post_ids=tuple(p.post_id for p in storm)), T0)
    later = T0 + timedelta(minutes=10)
    burn = _signal(
        later,
        kind="slow_burn",
        window_start=later - timedelta(hours=6),
        post_ids=tuple(p.post_id for p in before),
    )
    incident = book.apply(burn, later).incident
    assert incident.onset_at == T0 - timedelta(minutes=30)
    found = explain(incident, storm + before)
    assert found.posts == 5
    assert [r.post_id for r in found.representatives] == [p.post_id for p in storm]
    assert all(r.at and r.at >= incident.onset_at for r in found.representatives)
    assert "old" not in found.text.split("Representative posts:")[1]


def test_a_headline_reads_in_the_viewers_zone() -> None:
    book = IncidentBook(IncidentConfig(quiet_period=timedelta(hours=2)))
    book.apply(_signal(T0), T0)
    book.tick(T0 + timedelta(hours=3))
    headline = explain(book.incidents[0], []).headline
    assert headline.endswith("since 2026-03-04 13:30 UTC, ended at 2026-03-04 14:00 UTC")
    copenhagen = headline_in(headline, ZoneInfo("Europe/Copenhagen"))
    assert copenhagen.endswith("since 2026-03-04 14:30 CET, ended at 2026-03-04 15:00 CET")
    summer = headline_in("Acme: x since 2026-07-01 23:30 UTC", ZoneInfo("Europe/Copenhagen"))
    assert summer == "Acme: x since 2026-07-02 01:30 CEST"  # the date moves with the zone
    assert headline_in(headline, UTC) == headline
    assert headline_in("Acme: 12 complaints, 6x normal", ZoneInfo("Asia/Tokyo")) == (
        "Acme: 12 complaints, 6x normal"
    )
