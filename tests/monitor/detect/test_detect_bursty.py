"""Bursty brands are watched before they page (issue 19).

On real Twitter traffic a brand's ordinary 5-15 minute bursts are as strong as its real
storms; what tells them apart is that a storm lasts. A brand whose surges have died out
within ``confirm_after`` lately gets its next surge *watched* (shown, not paged) until it
has lasted that long; a brand whose surges last pages at once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.detect.events import Signal
from monitor.detect.incidents import IncidentBook, IncidentConfig
from monitor.settings import DatabaseSettings
from monitor.stages.classify import rising_brands
from monitor.stages.detect import DetectStage, save_incident
from monitor.storage.db import make_engine, session_scope, upgrade

T0 = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def signal(at: datetime, brand: str = "Acme") -> Signal:
    return Signal(
        kind="volume_surge",
        brand=brand,
        severity="warning",
        reason="volume_surge",
        at=at,
        window_start=at - 15 * MIN,
        window_end=at,
        observed=140.0,
        expected=12.0,
        ratio=11.7,
        p_value=1e-9,
        mentions=150,
        share_negative=0.9,
        post_ids=(f"p{at.isoformat()}",),
    )


def surge(book: IncidentBook, start: datetime, minutes: int) -> list[tuple[datetime, bool]]:
    """Signals every 5 minutes for ``minutes``, then ticks until the book has resolved it;
    (time, paged) of every update that pages."""
    paged = []
    now = start
    while now <= start + minutes * MIN:
        update = book.apply(signal(now), now)
        if update.pages:
            paged.append((now, True))
        now += 5 * MIN
    while book.open_incidents("Acme"):
        for update in book.tick(now):
            assert not update.pages
        now += 5 * MIN
    return paged


def test_a_brand_whose_surges_last_pages_at_once() -> None:
    book = IncidentBook()
    assert surge(book, T0, 90) == [(T0, True)]  # the first surge of a brand pages at once
    later = T0 + timedelta(hours=12)
    assert surge(book, later, 30) == [(later, True)], "its surges lasted: no waiting"


def test_after_a_burst_that_died_out_the_next_surge_pages_once_it_has_lasted() -> None:
    book = IncidentBook()
    surge(book, T0, 15)  # a burst: 15 minutes, then quiet
    later = T0 + timedelta(hours=12)  # past the cooldown: a new incident, not a reopening
    first = book.apply(signal(later), later)
    assert first.action == "opened"
    assert first.reason == "short_bursts"
    assert not first.pages
    assert first.incident.origin == "watching"
    assert first.incident.status == "triggered"
    pages = []
    for k in range(1, 20):
        now = later + 5 * k * MIN
        update = book.apply(signal(now), now)
        if update.pages:
            pages.append((now, update.action, update.reason))
    assert pages == [(later + 60 * MIN, "went_live", "lasted")]
    assert first.incident.origin == "live"


def test_a_watched_burst_that_dies_out_resolves_without_a_page() -> None:
    book = IncidentBook()
    surge(book, T0, 15)
    assert surge(book, T0 + timedelta(hours=12), 40) == []
    watched = book.incidents[-1]
    assert watched.status == "resolved"
    assert watched.origin == "watching"
    assert "went_live" not in [e.event for e in watched.timeline]


def test_a_reopened_surge_of_a_bursty_brand_is_watched_too() -> None:
    book = IncidentBook()
    surge(book, T0, 15)
    again = T0 + timedelta(hours=3)  # within the cooldown: the same incident reopens
    update = book.apply(signal(again), again)
    assert update.action == "reopened"
    assert not update.pages
    assert update.incident.origin == "watching"


def test_the_burst_memory_forgets() -> None:
    config = IncidentConfig()
    book = IncidentBook(config)
    surge(book, T0, 15)
    later = T0 + config.burst_memory + timedelta(days=1)
    assert surge(book, later, 30) == [(later, True)]


def test_a_restarted_detect_stage_remembers_which_brands_burst(tmp_path: Path) -> None:
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path / 'bursts.db'}"))
    upgrade(engine)
    book = IncidentBook()
    surge(book, T0, 15)
    [burst] = book.incidents
    with session_scope(engine) as session:
        save_incident(session, burst, "a burst", T0 + timedelta(hours=3))
    later = T0 + timedelta(days=2)
    stage = DetectStage(engine)
    stage.start(later)  # a new process: the book is rebuilt from the database
    assert stage.book is not None
    update = stage.book.apply(signal(later), later)
    assert update.incident.origin == "watching"
    assert not update.pages
    fresh = replace(signal(later, brand="Other"), brand="Other")
    assert stage.book.apply(fresh, later).pages, "another brand's surges are its own"


def test_a_watched_surge_a_manager_acknowledged_does_not_page_when_it_lasts() -> None:
    book = IncidentBook()
    surge(book, T0, 15)
    later = T0 + timedelta(hours=12)
    incident = book.apply(signal(later), later).incident
    book.acknowledge(incident.id, later + 10 * MIN, by="kim")
    updates = [book.apply(signal(later + 5 * k * MIN), later + 5 * k * MIN) for k in range(1, 16)]
    assert [u.action for u in updates if u.action == "went_live"] == ["went_live"]
    assert not any(u.pages for u in updates)
    assert incident.status == "acknowledged"
    assert incident.origin == "live"


def test_a_watched_surges_posts_are_read_first(tmp_path: Path) -> None:
    """Whether a watched surge lasts is decided by its posts: the classify stage reads its
    brand's pending posts first, as it does for a live storm."""
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path / 'watched.db'}"))
    upgrade(engine)
    book = IncidentBook()
    surge(book, T0, 15)
    later = T0 + timedelta(hours=12)
    watched = book.apply(signal(later), later).incident
    assert watched.origin == "watching"
    with session_scope(engine) as session:
        save_incident(session, watched, "watched", later)
    with session_scope(engine) as session:
        assert rising_brands(session, later) == ["Acme"]
