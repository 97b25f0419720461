"""One-tap acknowledge links from pages (monitor/web/routes_tap.py), in-process: no login,
a confirmation that changes nothing, one POST that acts once as the person paged, and a
page saying why for every link that cannot act."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlmodel import select

from alerts.ack import ack_url
from monitor.queue import incidents
from monitor.queue.acks import LINK_VIA
from monitor.storage.db import session_scope
from monitor.storage.models import AckLinkUse, IncidentRow
from tests.support.fixtures.pages import forged
from tests.support.worlds.web import (
    EXPLANATION,
    INCIDENT,
    KEY,
    PASSAGE,
    World,
    assert_inert,
    build_template,
    open_world,
)

TAP = "/tap/ack/Nordtel%3Avolume%3A20261102T0900Z"
HEADLINE = "Nordtel: 12 complaints in the last hour, 6x normal"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("onetap"))


@pytest.fixture
def web(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from open_world(template, tmp_path, monkeypatch)


def link(world: World, person: str | None = "mette", action: str = "ack", **kw: object) -> str:
    """The link as the paging stage puts it in a page to ``person`` (path and query)."""
    options = {"key": KEY.encode(), "incident": INCIDENT, "ttl": timedelta(hours=1)} | kw
    url = ack_url(
        "http://testserver",
        options["key"],  # type: ignore[arg-type]
        options["incident"],  # type: ignore[arg-type]
        world.clock(),
        options["ttl"],  # type: ignore[arg-type]
        action,
        person,
    )
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def token_of(path: str) -> str:
    return path.split("token=")[1]


def incident_row(world: World) -> IncidentRow:
    with session_scope(world.engine) as session:
        row = session.get(IncidentRow, INCIDENT)
        assert row is not None
        return row


def uses(world: World) -> list[AckLinkUse]:
    with session_scope(world.engine) as session:
        return list(session.exec(select(AckLinkUse)))


def history(world: World) -> list[tuple[str, str, str]]:
    with session_scope(world.engine) as session:
        events = incidents.get_incident(session, INCIDENT, world.clock()).history
    return [(e.actor, e.action, e.detail) for e in events if e.actor != "stormwatch"]


def test_the_link_opens_a_confirmation_without_a_login_that_changes_nothing(web: World) -> None:
    path = link(web)
    assert path.startswith(TAP + "?token=")
    client = web.client()  # a phone that never logged in
    page = client.get(path)
    assert page.status_code == 200
    assert HEADLINE in page.text
    assert "Nordtel" in page.text
    assert re.search(r'<time datetime="2026-11-02T08:00:00\+00:00">began ', page.text), "onset"
    assert re.search(r"Acknowledge this incident as <strong>mette</strong>\?", page.text)
    assert f'<form method="post" action="{TAP}"' in page.text
    assert_inert(page.text)
    for _ in range(3):  # mail scanners, link previews, reloads
        assert client.get(path).status_code == 200
    assert incident_row(web).status == "triggered"
    assert uses(web) == []


def test_the_confirmation_shows_the_headline_only_never_a_post(web: World) -> None:
    page = web.client().get(link(web)).text
    assert "Why:" not in page, "the explanation below the headline is not shown"
    assert PASSAGE not in page
    assert "Tre uger uden internet" not in page, "no post title"
    assert "/posts/" not in page, "no link to a post"
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in page, "the headline is text"
    assert EXPLANATION.splitlines()[1] not in page
    reading = web.client().get(f"/incidents/{TAP.rsplit('/', 1)[1]}")
    assert reading.status_code == 303, "reading the incident still needs a login"
    assert reading.headers["location"].startswith("/login")


def test_one_tap_acknowledges_as_the_person_paged_and_the_link_acts_once(web: World) -> None:
    path = link(web)
    client = web.client()
    done = client.post(TAP, data={"token": token_of(path)})
    assert done.status_code == 303
    assert done.headers["location"] == path, "Post/Redirect/Get, back to the link"
    row = incident_row(web)
    assert (row.status, row.acknowledged_by, row.acknowledged_at) == (
        "acknowledged",
        "mette",
        web.clock(),
    )
    assert history(web) == [("mette", "acknowledged", LINK_VIA)]
    shown = client.get(path)
    assert shown.status_code == 200
    assert "Acknowledged by mette with this link" in shown.text
    assert 'method="post"' not in shown.text, "nothing left to tap"

    web.clock.advance(minutes=1)
    again = client.post(TAP, data={"token": token_of(path)})  # a second tap, a replayed form
    assert again.status_code == 409
    assert "This link has already been used" in again.text
    assert HEADLINE not in again.text
    assert incident_row(web).acknowledged_at == row.acknowledged_at
    assert len(history(web)) == 1
    [use] = uses(web)
    assert (use.person, use.incident_id, use.action) == ("mette", INCIDENT, "ack")


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ("tamper", 400, "not issued by this Stormwatch"),
        ("expire", 400, "has expired"),
        ("other", 400, "belongs to another incident"),
        ("shared", 400, "sent to a shared channel, so it needs you to log in"),
        ("resolve", 400, "does not allow that action"),
        ("garbage", 400, "This link is damaged"),
        ("overflow", 400, "This link is damaged"),
        ("missing", 400, "This link is damaged"),
    ],
)
def test_a_link_that_cannot_act_says_why_shows_nothing_and_changes_nothing(
    web: World, change: str, status: int, message: str
) -> None:
    token = {
        "tamper": lambda: token_of(link(web, key=b"x" * 32)),
        "expire": lambda: token_of(link(web)),
        "other": lambda: token_of(link(web, incident="Nordtel:volume:20261102T1000Z")),
        "shared": lambda: token_of(link(web, person=None)),
        "resolve": lambda: token_of(link(web, action="resolve")),
        "garbage": lambda: "not-a-token",
        "overflow": lambda: forged(KEY.encode(), f'{{"i":"{INCIDENT}","a":"ack","e":1e999}}'),
        "missing": lambda: "",
    }[change]()
    if change == "expire":
        web.clock.advance(hours=1)  # the link's whole life
    client = web.client()
    for response in (
        client.get(TAP, params={"token": token}),
        client.post(TAP, data={"token": token}),
    ):
        assert response.status_code == status
        assert message in response.text
        assert HEADLINE not in response.text, "an address alone shows no incident"
        assert 'method="post"' not in response.text
    assert incident_row(web).status == "triggered"
    assert uses(web) == []
    assert history(web) == []


def test_an_incident_acknowledged_meanwhile_spends_nothing(web: World) -> None:
    path = link(web)
    mia = web.login("mia")
    mia.post(f"/incidents/{TAP.rsplit('/', 1)[1]}/ack", data={"csrf_token": mia.csrf})  # type: ignore[attr-defined]
    client = web.client()
    shown = client.get(path)
    assert "already acknowledged (by mia). Nothing to do." in shown.text
    assert 'method="post"' not in shown.text
    late = client.post(TAP, data={"token": token_of(path)})
    assert late.status_code == 409
    assert "already acknowledged (by mia)" in late.text
    assert incident_row(web).acknowledged_by == "mia"
    assert uses(web) == [], "the link is not spent on nothing"


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}],
)
def test_a_post_from_another_site_is_refused(web: World, headers: dict[str, str]) -> None:
    refused = web.client().post(TAP, data={"token": token_of(link(web))}, headers=headers)
    assert refused.status_code == 403
    assert incident_row(web).status == "triggered"
    assert uses(web) == []


def test_used_links_are_forgotten_once_expired(web: World) -> None:
    client = web.client()
    client.post(TAP, data={"token": token_of(link(web))})
    web.clock.advance(hours=2)
    resolve = link(web, action="resolve")
    assert client.post(resolve.split("?")[0], data={"token": token_of(resolve)}).status_code == 303
    assert incident_row(web).status == "resolved"
    assert [u.action for u in uses(web)] == ["resolve"], "the expired ack link's record is gone"
    assert [h[1] for h in history(web)] == ["acknowledged", "resolved"]


def test_an_incident_that_no_longer_exists_is_not_found(web: World) -> None:
    gone = "Nordtel:volume:20200101T0000Z"
    path = link(web, incident=gone)
    assert web.client().get(path).status_code == 404
    assert web.client().post(path.split("?")[0], data={"token": token_of(path)}).status_code == 404
    assert uses(web) == []
