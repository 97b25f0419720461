"""Acknowledgements from outside a session (monitor.queue.acks), on SQLite and PostgreSQL:
a one-tap link acts once even when two requests race with it, and a refused
acknowledgement spends nothing."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from alerts.ack import AckCheck, sign_ack, verify_tap
from monitor.errors import QueueError
from monitor.queue import acks
from monitor.queue.incidents import act, incident_subject
from monitor.storage.db import session_scope
from monitor.storage.models import AckLinkUse, AuditEvent, IncidentRow
from tests.support.fixtures.clock import T0
from tests.support.worlds.paging import Storms, signal

KEY = b"k" * 32


def opened(engine: Engine) -> str:
    return Storms(engine).signal(signal("Acme", 0, posts=10, observed=10)).id


def verified(incident_id: str, person: str = "mette") -> AckCheck:
    token = sign_ack(KEY, incident_id, "ack", T0 + timedelta(hours=1), person)
    check = verify_tap(KEY, token, incident_id, "ack", T0)
    assert check.ok
    return check


def decisions(engine: Engine, incident_id: str) -> list[tuple[str, str]]:
    with session_scope(engine) as session:
        query = select(AuditEvent).where(AuditEvent.subject == incident_subject(incident_id))
        return [(e.actor, e.action) for e in session.exec(query)]


def test_a_link_acts_once(any_engine: Engine) -> None:
    incident_id = opened(any_engine)
    check = verified(incident_id)
    with session_scope(any_engine) as session:
        assert acks.act_by_link(session, incident_id, "ack", check, T0) == "acted"
    with session_scope(any_engine) as session:
        assert acks.act_by_link(session, incident_id, "ack", check, T0) == "used"
    assert decisions(any_engine, incident_id) == [("mette", "acknowledged")]


def test_two_requests_racing_with_one_link_act_once(any_engine: Engine) -> None:
    incident_id = opened(any_engine)
    check = verified(incident_id)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def tap() -> None:
        start.wait()
        try:
            with session_scope(any_engine) as session:
                outcomes.append(acks.act_by_link(session, incident_id, "ack", check, T0))
        except QueueError as exc:  # the other one's acknowledgement came first
            outcomes.append(exc.kind)

    threads = [threading.Thread(target=tap) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["acted", "used"]
    assert decisions(any_engine, incident_id) == [("mette", "acknowledged")]


def test_the_tables_key_refuses_a_second_use_that_the_look_up_missed(
    any_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a request racing another meets: the use is not visible yet, the key holds."""
    incident_id = opened(any_engine)
    check = verified(incident_id)
    with session_scope(any_engine) as session:
        acks.act_by_link(session, incident_id, "ack", check, T0)
    monkeypatch.setattr(acks, "link_use", lambda session, token_id: None)
    with session_scope(any_engine) as session:
        assert acks.act_by_link(session, incident_id, "ack", check, T0) == "used"
    assert decisions(any_engine, incident_id) == [("mette", "acknowledged")]


def test_an_acknowledgement_refused_spends_nothing(any_engine: Engine) -> None:
    incident_id = opened(any_engine)
    with session_scope(any_engine) as session:
        act(session, incident_id, "ack", "mia", T0)
    with pytest.raises(QueueError) as refused, session_scope(any_engine) as session:
        acks.act_by_link(session, incident_id, "ack", verified(incident_id), T0)
    assert refused.value.kind == "invalid_transition"
    with session_scope(any_engine) as session:
        assert session.exec(select(AckLinkUse)).all() == []
        row = session.get(IncidentRow, incident_id)
        assert row is not None
        assert row.acknowledged_by == "mia"


def test_only_a_verified_one_tap_link_may_act(any_engine: Engine) -> None:
    incident_id = opened(any_engine)
    shared = sign_ack(KEY, incident_id, "ack", T0 + timedelta(hours=1))
    for check in (verify_tap(KEY, shared, incident_id, "ack", T0), AckCheck(False, "expired")):
        with (
            pytest.raises(ValueError, match="verified one-tap link"),
            session_scope(any_engine) as session,
        ):
            acks.act_by_link(session, incident_id, "ack", check, T0)
    assert decisions(any_engine, incident_id) == []
