"""The queue service on SQLite and PostgreSQL: flagging, ranking, filters, Nordic full-text
search, triage transitions with history, relabels, response times, exports, incidents."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from alerts.store import OutboxRow
from monitor.detect.events import Signal
from monitor.detect.incidents import IncidentBook
from monitor.errors import QueueError
from monitor.queue import incidents, ranking, service
from monitor.stages.detect import save_incident
from monitor.storage.db import session_scope
from monitor.storage.models import QueueItem, Relabel
from tests.support.fixtures.clock import T0
from tests.support.seeds.queue_seed import SeedPost, seed

NOW = T0 + timedelta(hours=6)


def posts() -> list[SeedPost]:
    return [
        SeedPost(
            "a", "Kundeservicen hos Nordtel er håbløs, tre uger uden internet.", "Nordtel svigter"
        ),
        SeedPost(
            "b", "Nordtel har lukket mit abonnement uden varsel. Hvem gør sådan?", complaint=0.7
        ),
        SeedPost(
            "c", "Nordtel: köer i telefon i två timmar, ingen svarar.", lang="sv", source="forum"
        ),
        SeedPost("d", "Nordtel er fine, bare lidt langsomme.", complaint=0.3),  # below threshold
        SeedPost("e", "Fjordkraft sendte feil faktura igjen.", brand="Fjordkraft", lang="nb"),
    ]


def seeded(engine: Engine) -> Engine:
    assert seed(engine, posts(), NOW) == 4
    return engine


def test_flagging_queues_only_complaints_and_keeps_triage_on_reread(any_engine: Engine) -> None:
    seeded(any_engine)
    with session_scope(any_engine) as s:
        page = service.list_queue(s, service.QueueFilter(status="all"))
        assert {r.post_id for r in page.rows} == {"a", "b", "c", "e"}
        assert page.total == 4
        service.act(s, "a", "Nordtel", "respond", "mette", NOW)
    # the classifier reads the post again (an edit): still one row, still responded
    assert seed(any_engine, posts()[:1], NOW + timedelta(hours=1)) == 0
    with session_scope(any_engine) as s:
        item = s.get(QueueItem, ("a", "Nordtel"))
        assert item is not None
        assert item.status == "responded"
        assert [e.action for e in service.history(s, service.post_subject("a", "Nordtel"))] == [
            "flagged",
            "respond",
        ]


def test_ranking_prefers_fresh_and_weighty_and_is_stable_over_time() -> None:
    fresh = ranking.rank(0.9, NOW)
    old = ranking.rank(0.9, NOW - timedelta(hours=24))
    viral_old = ranking.rank(
        ranking.urgency(0.9, ranking.Reach(400, 120)), NOW - timedelta(hours=12)
    )
    assert fresh > old
    assert viral_old > fresh
    # the stored rank orders exactly like the decayed urgency at any later moment
    for later in (NOW, NOW + timedelta(days=3)):
        assert ranking.decayed(0.9, NOW, later) > ranking.decayed(
            0.9, NOW - timedelta(hours=24), later
        )


def test_thread_reach_raises_urgency(any_engine: Engine) -> None:
    root = SeedPost(
        "t", "Nordtel ødelagde min router.", complaint=0.6, published_at=NOW - timedelta(hours=3)
    )
    comments = [
        SeedPost(
            f"t{i}",
            f"Også mig! Nordtel svarer ikke {i}",
            kind="comment",
            thread_id="t",
            complaint=0.2,
        )
        for i in range(30)
    ]
    lone = SeedPost(
        "l", "Nordtel glemte min ordre.", complaint=0.6, published_at=NOW - timedelta(hours=3)
    )
    seed(any_engine, [root, *comments, lone], NOW)
    with session_scope(any_engine) as s:
        rows = service.list_queue(s, service.QueueFilter()).rows
        assert [r.post_id for r in rows] == ["t", "l"]
        assert rows[0].urgency > rows[1].urgency


def test_filters_combine(any_engine: Engine) -> None:
    seeded(any_engine)
    with session_scope(any_engine) as s:

        def ids(**kw: object) -> set[str]:
            flt = service.QueueFilter(**kw)  # type: ignore[arg-type]
            return {r.post_id for r in service.list_queue(s, flt).rows}

        assert ids(brand="Fjordkraft") == {"e"}
        assert ids(lang="sv") == {"c"}
        assert ids(source="forum") == {"c"}
        service.act(s, "b", "Nordtel", "assign", "lead", NOW, assignee="jonas")
        assert ids(assignee="jonas") == {"b"}
        assert ids(status="acknowledged") == {"b"}
        assert ids(since=NOW - timedelta(minutes=1)) == set()
        assert ids(since=NOW - timedelta(hours=1), brand="Nordtel", lang="da") == {"a", "b"}
        with pytest.raises(QueueError) as bad:
            ids(status="sleeping")
        assert bad.value.kind == "invalid_input"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("håbløs", {"a"}),  # Danish letters as typed
        ("HÅBLØS", {"a"}),  # case folds for å and ø too
        ("kundeservice", {"a"}),  # a compound's stem finds "kundeservicen"
        ("abonnement varsel", {"b"}),  # every word must match
        ("svarar", {"c"}),  # Swedish
        ("faktura", {"e"}),  # Norwegian
        ('"; DROP TABLE posts; --', set()),  # syntax is stripped, not executed
        ("kö", {"c"}),  # two letters: below the trigram index, still found
        ("KÖ", {"c"}),  # and folded beyond ASCII
        ("kö telefon", {"c"}),  # a short word with a long one
        ("kö faktura", set()),  # every word must still match
    ],
)
def test_full_text_search_in_nordic_languages(
    any_engine: Engine, query: str, expected: set[str]
) -> None:
    seeded(any_engine)
    with session_scope(any_engine) as s:
        page = service.list_queue(s, service.QueueFilter(status="all", q=query))
        assert {r.post_id for r in page.rows} == expected
        assert page.total == len(expected)


def test_search_with_only_one_letter_words_is_a_clear_error(any_engine: Engine) -> None:
    seeded(any_engine)
    with session_scope(any_engine) as s, pytest.raises(QueueError, match="at least 2 letters"):
        service.list_queue(s, service.QueueFilter(q="i å"))


def test_triage_lifecycle_and_refusals(any_engine: Engine) -> None:
    seeded(any_engine)
    later = NOW + timedelta(minutes=42)
    with session_scope(any_engine) as s:
        assert service.act(s, "a", "Nordtel", "ack", "mette", NOW).status == "acknowledged"
        with pytest.raises(QueueError) as twice:
            service.act(s, "a", "Nordtel", "ack", "mette", NOW)
        assert twice.value.kind == "invalid_transition"
        row = service.act(s, "a", "Nordtel", "respond", "mette", later, note="Svaret på Facebook")
        assert row.status == "responded"
        assert row.first_response_at == later
        service.act(s, "a", "Nordtel", "resolve", "mette", later)
        with pytest.raises(QueueError, match="resolved"):
            service.act(s, "a", "Nordtel", "respond", "mette", later)
        assert service.act(s, "a", "Nordtel", "reopen", "jonas", later).status == "responded"
        with pytest.raises(QueueError) as missing:
            service.act(s, "zzz", "Nordtel", "ack", "mette", NOW)
        assert missing.value.kind == "not_found"
        with pytest.raises(QueueError, match="note needs"):
            service.act(s, "a", "Nordtel", "note", "mette", NOW, note="   ")
        detail = service.get_item(s, "a", "Nordtel")
        assert [(e.actor, e.action) for e in detail.history][1:] == [
            ("mette", "ack"),
            ("mette", "respond"),
            ("mette", "resolve"),
            ("jonas", "reopen"),
        ]
        assert detail.history[2].detail == "Svaret på Facebook"
        assert detail.text.startswith("Kundeservicen")
        assert detail.scores["complaint"] == 0.9


def test_relabel_records_the_correction_and_dismisses(any_engine: Engine) -> None:
    seeded(any_engine)
    with session_scope(any_engine) as s:
        row = service.act(s, "b", "Nordtel", "relabel", "mette", NOW, label="not_complaint")
        assert row.status == "dismissed"
        relabels = s.exec(select(Relabel)).all()
        assert [(r.post_id, r.label, r.by) for r in relabels] == [("b", "not_complaint", "mette")]
        assert service.get_item(s, "b", "Nordtel").relabel == "not_complaint"
        with pytest.raises(QueueError, match="label must be"):
            service.act(s, "b", "Nordtel", "relabel", "mette", NOW, label="spam")


def test_response_times_and_csv_exports_are_safe(any_engine: Engine) -> None:
    hostile = SeedPost("h", 'Nordtel =HYPERLINK("http://127.0.0.2")', title="=cmd|' /C calc'!A0")
    seed(any_engine, [*posts(), hostile], NOW)
    with session_scope(any_engine) as s:
        service.act(s, "a", "Nordtel", "respond", "mette", NOW + timedelta(minutes=30))
        times = {(t.post_id, t.seconds) for t in service.response_times(s)}
        assert ("a", 1800.0) in times
        assert ("b", None) in times
        table = list(
            csv.DictReader(io.StringIO(service.queue_csv(s, service.QueueFilter(status="all"))))
        )
        exported = {r["post_id"]: r for r in table}
        assert exported["h"]["title"].startswith("'=")  # formula injection neutralised
        rt = list(csv.DictReader(io.StringIO(service.response_times_csv(s))))
        assert {r["post_id"]: r["seconds"] for r in rt}["a"] == "1800.0"


def _incident(engine: Engine) -> str:
    signal = Signal(
        kind="volume_surge", brand="Nordtel", severity="critical", reason="volume_surge", at=NOW,
        window_start=NOW - timedelta(hours=1), window_end=NOW, observed=12.0, expected=1.0,
        ratio=12.0, post_ids=("a", "b"),
    )  # fmt: skip
    book = IncidentBook()
    update = book.apply(signal, NOW)
    with session_scope(engine) as s:
        save_incident(s, update.incident, "Nordtel: complaints 12x normal\nmore", NOW)
    return update.incident.id


def test_incident_detail_links_posts_and_acks_with_history(any_engine: Engine) -> None:
    seeded(any_engine)
    incident_id = _incident(any_engine)
    with session_scope(any_engine) as s:
        s.add(
            OutboxRow(
                incident_id=incident_id, dedup_key="k", step="L1", recipient="mette",
                channels='["ops"]', status="sent", due_at=NOW, created_at=NOW, sent_at=NOW,
                sent_via="ops", page="{}",
            )
        )  # fmt: skip
    with session_scope(any_engine) as s:
        linked = service.list_queue(s, service.QueueFilter(status="all", brand="Nordtel")).rows
        assert {r.post_id: r.incident_id for r in linked} == {
            "a": incident_id,
            "b": incident_id,
            "c": None,
        }
        detail = incidents.get_incident(s, incident_id, NOW)
        assert detail.view.headline == "Nordtel: complaints 12x normal"
        assert {p.post_id for p in detail.posts} == {"a", "b"}
        assert [(p.step, p.status, p.sent_via) for p in detail.pages] == [("L1", "sent", "ops")]
        observed = sum(p.observed for p in detail.series)
        assert observed == pytest.approx(0.9 + 0.7 + 0.9 + 0.3)  # every reading of the brand
        assert all(p.upper > p.expected for p in detail.series)
        view = incidents.act(s, incident_id, "ack", "mette", NOW)
        assert view.status == "acknowledged"
        assert view.acknowledged_by == "mette"
        with pytest.raises(QueueError) as again:
            incidents.act(s, incident_id, "ack", "mette", NOW)
        assert again.value.kind == "invalid_transition"
    with session_scope(any_engine) as s:
        detail = incidents.get_incident(s, incident_id, NOW)
        assert [e.action for e in detail.history] == ["opened", "acknowledged"]
        assert incidents.list_incidents(s, "open")[0].id == incident_id
        assert incidents.act(s, incident_id, "resolve", "jonas", NOW).status == "resolved"
        assert incidents.list_incidents(s, "open") == []
        with pytest.raises(QueueError):
            incidents.get_incident(s, "nope")


def test_search_follows_edits_of_a_post(any_engine: Engine) -> None:
    seeded(any_engine)
    edited = SeedPost("a", "Nordtel har nu rettet fibernedbruddet, tak.", "Nordtel svigter")
    seed(any_engine, [edited], NOW + timedelta(hours=1))  # the crawler stores the new text
    with session_scope(any_engine) as s:

        def found(q: str) -> set[str]:
            page = service.list_queue(s, service.QueueFilter(status="all", q=q))
            return {r.post_id for r in page.rows}

        assert found("fibernedbrud") == {"a"}
        assert found("håbløs") == set()  # the old text is no longer searchable


def test_incident_response_clock_counts_ack_and_first_answer(any_engine: Engine) -> None:
    seeded(any_engine)
    incident_id = _incident(any_engine)
    with session_scope(any_engine) as s:
        incidents.act(s, incident_id, "ack", "mette", NOW + timedelta(minutes=4))
        service.act(s, "b", "Nordtel", "respond", "mette", NOW + timedelta(minutes=25))
    with session_scope(any_engine) as s:
        view = incidents.get_incident(s, incident_id, NOW).view
        assert (view.seconds_to_ack, view.seconds_to_first_answer) == (240.0, 1500.0)
        listed = incidents.list_incidents(s, "all")[0]
        assert listed.seconds_to_first_answer == 1500.0
        rows = list(csv.DictReader(io.StringIO(incidents.response_times_csv(s))))
        assert [
            (r["incident_id"], r["seconds_to_ack"], r["seconds_to_first_answer"]) for r in rows
        ] == [(incident_id, "240.0", "1500.0")]
