"""The acknowledge link in each page (monitor.stages.page): a page to one person carries a
one-tap link bound to that person (``oncall.tap_link_minutes``), a page to a shared channel
(a PagerDuty service) the link that needs a login (``oncall.ack_link_minutes``); each
recipient of an escalation or a follow-up gets a link of their own."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy.engine import Engine

from alerts.ack import AckCheck, verify_ack, verify_tap
from monitor.stages.page import PagingStage
from tests.support.fixtures.clock import T0
from tests.support.servers.receivers import Receiver, http_receiver
from tests.support.worlds.paging import Storms, describe, paging_settings, signal

KEY = b"k" * 32  # paging_settings' [web] secret_key
LINK = re.compile(r"Acknowledge: (\S+)")


def links(people: Receiver, pd: Receiver) -> dict[tuple[str, str], str]:
    """(recipient, step) -> the acknowledge link its page carried."""
    found = {}
    for hit in people.hits:
        where, _, step = describe(hit)
        match = LINK.search(hit.json()["message"])
        if match:
            found[(where, step)] = match.group(1)
    for hit in pd.accepted():
        body = hit.json()
        if body["event_action"] == "trigger":
            found[("pd", body["payload"]["class"])] = body["links"][0]["href"]
    return found


def read(link: str) -> tuple[str, str, str]:
    """(path kind, incident id, token) of a link."""
    parts = urlsplit(link)
    segments = parts.path.split("/")
    kind, incident = (
        ("tap", segments[3]) if parts.path.startswith("/tap/") else ("login", segments[2])
    )
    return kind, unquote(incident), parse_qs(parts.query)["token"][0]


def check(link: str, minute: int) -> tuple[str, AckCheck]:
    kind, incident, token = read(link)
    verify = verify_tap if kind == "tap" else verify_ack
    return kind, verify(KEY, token, incident, "ack", T0 + timedelta(minutes=minute))


def test_each_recipient_gets_a_link_of_their_own_and_a_shared_channel_one_that_needs_login(
    sqlite_engine: Engine,
) -> None:
    storms = Storms(sqlite_engine)
    with http_receiver() as people, http_receiver(ok_status=202) as pd:
        stage = PagingStage(paging_settings(sqlite_engine, people.port, pd.port), sqlite_engine)
        grows = {0: 10, 10: 40}  # opens, then quadruples: a follow-up at minute 30
        for minute in range(0, 31):
            if minute in grows:
                size = grows[minute]
                storms.signal(signal("Acme", minute, posts=size, observed=size))
            stage.step(T0 + timedelta(minutes=minute))
        sent = links(people, pd)

    assert set(sent) >= {
        ("mette", "trigger"),
        ("pd", "trigger"),
        ("jonas", "escalate:2"),
        ("mette", "followup:1"),
        ("jonas", "followup:1"),
        ("pd", "followup:1"),
    }
    for (recipient, step), link in sent.items():
        kind, verdict = check(link, 0 if step == "trigger" else 15 if step == "escalate:2" else 30)
        assert verdict.ok, (recipient, step, verdict.reason)
        if recipient == "pd":
            assert (kind, verdict.person) == ("login", None), "nobody in particular reads it"
        else:
            assert (kind, verdict.person) == ("tap", recipient), (recipient, step)
    assert len(set(sent.values())) == len(sent), "no two recipients share a link"

    # A one-tap link lives an hour (tap_link_minutes), the shared one a day (ack_link_minutes).
    assert check(sent[("mette", "trigger")], 59)[1].ok
    assert check(sent[("mette", "trigger")], 60)[1].reason == "expired"
    assert check(sent[("pd", "trigger")], 24 * 60 - 1)[1].ok
