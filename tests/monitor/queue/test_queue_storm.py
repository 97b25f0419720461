"""An incident's explanation as facts for the page's cards, from its stored state and
posts: threads by title and link (never by id), sample posts from within the storm only,
each knowing whether it is in the queue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from monitor.detect.events import Signal
from monitor.detect.incidents import Incident
from monitor.queue import incidents
from monitor.queue.storm import storm_facts
from monitor.stages.detect import save_incident
from monitor.storage.db import session_scope
from monitor.storage.models import IncidentRow
from tests.support.fixtures.clock import T0
from tests.support.seeds.queue_seed import SeedPost, seed

ONSET = T0 - timedelta(hours=1)
AT = {n: ONSET + timedelta(minutes=5 * n) for n in range(1, 10)}


def storm_posts() -> list[SeedPost]:
    p = SeedPost
    return [
        # a thread whose first post is stored: its title names it
        p("r", "Nordtel er nede i hele Aarhus.", "Nordtel nede i Aarhus", published_at=AT[1]),
        p("r1", "Samme her, Nordtel.", thread_id="r", kind="comment", published_at=AT[2]),
        p("r2", "Også her. Nordtel svarer ikke.", thread_id="r", kind="comment",
          published_at=AT[3], complaint=0.95, source="forum"),
        # a thread whose first post was never stored: its earliest titled post names it
        p("g1", "Nordtel har sendt fakturaen to gange.", thread_id="gone", kind="comment",
          published_at=AT[4]),
        p("g2", "Nordtel, hvor er min kreditnota?", "Re: Dobbelt faktura", thread_id="gone",
          kind="comment", published_at=AT[5]),
        # a thread without any title: the first words of its first post
        p("b1", "Nordtel lukker chatten hver gang man skriver om erstatning for nedbruddet i går",
          thread_id="bare", kind="comment", published_at=AT[6]),
        p("b2", "Nordtel er håbløse.", thread_id="bare", kind="comment", published_at=AT[7]),
        # the strongest complaint of all, published hours before the storm began
        p("early", "Nordtel er det værste selskab.", "Gammel klage", complaint=0.99,
          source="forum", published_at=ONSET - timedelta(hours=4)),
        # below the threshold: counted, never queued
        p("weak", "Nordtel har lidt langsomt net i dag.", complaint=0.45, published_at=AT[8]),
    ]  # fmt: skip


def stored(engine: Engine) -> IncidentRow:
    posts = storm_posts()
    seed(engine, posts, T0)
    ids = tuple(p.id for p in posts)
    signal = Signal(
        kind="slow_burn", brand="Nordtel", severity="critical", reason="slow_burn", at=T0,
        window_start=ONSET, window_end=T0, observed=42.2, expected=0.1, ratio=422.06,
        p_value=None, score=17.5, post_ids=ids,
    )  # fmt: skip
    incident = Incident(
        id="Nordtel:storm:x", brand="Nordtel", family="storm", kind="slow_burn",
        severity="critical", status="triggered", origin="live", opened_at=T0, onset_at=ONSET,
        last_signal_at=T0, first=signal, peak=signal, last=signal, kinds=["slow_burn"],
        post_ids=list(ids),
    )  # fmt: skip
    with session_scope(engine) as session:
        save_incident(session, incident, "Nordtel: slow burn", T0)
    with session_scope(engine) as session:
        row = session.get(IncidentRow, incident.id)
        assert row is not None
        return row


def test_threads_are_named_by_title_and_linked(any_engine: Engine) -> None:
    row = stored(any_engine)
    with session_scope(any_engine) as session:
        facts = storm_facts(session, row)
    assert facts is not None
    named = {t.thread_id: (t.title, t.url, t.posts) for t in facts.threads}
    assert named == {
        "r": ("Nordtel nede i Aarhus", "http://127.0.0.1:1/p/r", 3),
        "gone": ("Re: Dobbelt faktura", "http://127.0.0.1:1/p/g1", 2),
        "bare": (
            "Nordtel lukker chatten hver gang man skriver om erstatning for …",
            "http://127.0.0.1:1/p/b1",
            2,
        ),
    }
    assert "early" not in named, "a thread of one post is that post"


def test_samples_are_from_within_the_storm_and_know_their_queue_item(any_engine: Engine) -> None:
    row = stored(any_engine)
    with session_scope(any_engine) as session:
        facts = storm_facts(session, row)
    assert facts is not None
    assert facts.posts == 9  # every post of the incident counts in the figures
    assert [s.post_id for s in facts.samples] == ["r2", "r", "r1"]  # forum first, then blog
    assert all(s.published_at and s.published_at >= ONSET for s in facts.samples)
    assert all(s.queued for s in facts.samples)
    assert (facts.ratio, facts.p_value, facts.score, facts.unit) == (
        422.06, None, 17.5, "complaints",
    )  # fmt: skip
    assert dict(facts.languages) == {"da": 9}
    data = facts.to_dict()
    assert data["onset_at"] == ONSET.isoformat()
    assert data["samples"][0]["published_at"] == AT[3].isoformat()


def test_the_incident_detail_carries_its_facts_and_a_row_without_state_has_none(
    sqlite_engine: Engine,
) -> None:
    row = stored(sqlite_engine)
    with session_scope(sqlite_engine) as session:
        detail = incidents.get_incident(session, row.id, T0)
        assert detail.facts is not None
        assert detail.to_dict()["facts"]["threads"][0]["title"] == "Nordtel nede i Aarhus"
        bare = session.get(IncidentRow, row.id)
        assert bare is not None
        bare.state = "{}"
        assert storm_facts(session, bare) is None
