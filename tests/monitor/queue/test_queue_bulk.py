"""One triage action on many posts (the queue's bulk bar), on SQLite and PostgreSQL: each
post that allows it changes with its own audit event; the rest are counted by reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from monitor.errors import QueueError
from monitor.queue import service
from monitor.storage.db import session_scope
from tests.support.fixtures.clock import T0
from tests.support.seeds.queue_seed import SeedPost, seed

NOW = T0 + timedelta(hours=6)
POSTS = [
    SeedPost("a", "Kundeservicen hos Nordtel er håbløs, tre uger uden internet."),
    SeedPost("b", "Nordtel har lukket mit abonnement uden varsel.", complaint=0.7),
    SeedPost("c", "Nordtel: köer i telefon i två timmar, ingen svarar.", lang="sv"),
]


def test_each_post_changes_or_is_left_with_its_reason(any_engine: Engine) -> None:
    assert seed(any_engine, POSTS, NOW) == 3
    keys = [("a", "Nordtel"), ("b", "Nordtel"), ("c", "Nordtel")]
    with session_scope(any_engine) as s:
        service.act(s, "b", "Nordtel", "respond", "mette", NOW)
        service.act(s, "c", "Nordtel", "dismiss", "mette", NOW)
    with session_scope(any_engine) as s:
        ack = service.act_many(s, [*keys, ("a", "Nordtel"), ("zz", "Nordtel")], "ack", "mia", NOW)
    assert (ack.changed, ack.unchanged) == (1, 3)  # "a" twice: once
    assert ack.left == {
        "cannot acknowledge a post that is responded": 1,
        "cannot acknowledge a post that is dismissed": 1,
        "not in the queue": 1,
    }
    with session_scope(any_engine) as s:
        resolved = service.act_many(s, keys, "resolve", "mia", NOW + timedelta(minutes=1))
        assert (resolved.changed, resolved.left) == (
            2,
            {"cannot resolve a post that is dismissed": 1},
        )
        rows = {r.post_id: r.status for r in service.rows_for(s, keys)}
        assert rows == {"a": "resolved", "b": "resolved", "c": "dismissed"}
        history = service.history(s, service.post_subject("a", "Nordtel"))
        assert [(e.actor, e.action) for e in history][-2:] == [("mia", "ack"), ("mia", "resolve")]


@pytest.mark.parametrize(
    ("action", "keys", "assignee", "says"),
    [
        ("ack", [], None, "select at least one post first"),
        ("assign", [("a", "Nordtel")], " ", "assign needs an assignee"),
        ("respond", [("a", "Nordtel")], None, "action must be one of ack, assign, resolve"),
        ("ack", [("a", "Nordtel")] * (service.MAX_BULK + 1), None, "select at most 200"),
    ],
)
def test_a_request_wrong_for_every_post_is_refused_whole(
    sqlite_engine: Engine, action: str, keys: list[tuple[str, str]], assignee: str | None, says: str
) -> None:
    seed(sqlite_engine, POSTS, NOW)
    with session_scope(sqlite_engine) as s, pytest.raises(QueueError, match=says) as refused:
        service.act_many(s, keys, action, "mia", NOW, assignee=assignee)
    assert refused.value.kind == "invalid_input"
    with session_scope(sqlite_engine) as s:
        assert {r.status for r in service.rows_for(s, [("a", "Nordtel")])} == {"new"}
