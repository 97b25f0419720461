"""Bulk triage on the queue: tick posts, one action for all, back to the same filtered list
saying how many changed; an empty selection is refused with a sentence."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from monitor.queue import service
from monitor.storage.db import session_scope
from monitor.storage.models import AuditEvent, QueueItem
from tests.support.worlds.web import INCIDENT, World, assert_inert, build_template, open_world

KEYS = ["hostile/Nordtel", "plain/Nordtel"]
BACK = f"brand=Nordtel&incident={INCIDENT}&q=Nordtel"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("web"))


@pytest.fixture
def web(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from open_world(template, tmp_path, monkeypatch)


def bulk(client: TestClient, action: str, posts: list[str], **extra: str) -> Any:
    token = client.csrf  # type: ignore[attr-defined]
    form = {"action": action, "post": posts, "back": BACK, "csrf_token": token, **extra}
    return client.post("/queue/bulk", data=form)


def statuses(world: World) -> dict[str, tuple[str, str | None]]:
    with session_scope(world.engine) as session:
        return {i.post_id: (i.status, i.assignee) for i in session.exec(select(QueueItem))}


def audit(world: World) -> list[tuple[str, str, str]]:
    with session_scope(world.engine) as session:
        query = select(AuditEvent).where(col(AuditEvent.actor) != "stormwatch")
        return sorted((e.subject, e.actor, e.action) for e in session.exec(query))


def test_acknowledge_several_posts_and_come_back_to_the_same_filtered_list(web: World) -> None:
    client = web.login("mia")
    page = client.get("/queue?" + BACK).text
    boxes = re.findall(r'<input type="checkbox" class="pick" name="post" value="([^"]+)"', page)
    assert sorted(boxes) == KEYS
    assert '<form id="bulk" method="post" action="/queue/bulk">' in page
    assert_inert(page)

    done = bulk(client, "ack", KEYS)
    assert done.status_code == 303
    target = urlsplit(done.headers["location"])
    assert target.path == "/queue"
    assert dict(parse_qsl(target.query)) == {
        "brand": "Nordtel", "incident": INCIDENT, "q": "Nordtel",
        "done": "ack", "changed": "2", "left": "0",
    }  # fmt: skip
    assert statuses(web)["hostile"] == ("acknowledged", None)
    assert statuses(web)["plain"] == ("acknowledged", None)
    assert audit(web) == [
        ("post:hostile:Nordtel", "mia", "ack"),
        ("post:plain:Nordtel", "mia", "ack"),
    ]
    landed = client.get(done.headers["location"]).text
    assert '<p class="notice ok" role="status">Acknowledged 2 posts.</p>' in landed
    assert 'value="Nordtel" selected' in landed  # the filters are still set
    assert 'name="incident" value="' in landed

    again = client.get(bulk(client, "ack", KEYS).headers["location"]).text
    assert (
        "Acknowledged 0 posts. 2 were left as they were (already acknowledged or further along)."
        in again
    )


def test_assign_resolve_and_dismiss_in_bulk(web: World) -> None:
    client = web.login("mia")
    refused = bulk(client, "assign", KEYS)  # no one picked
    assert refused.status_code == 400
    assert "assign needs an assignee" in refused.text
    assert bulk(client, "assign", KEYS, assignee="mette").status_code == 303
    assert statuses(web)["plain"] == ("acknowledged", "mette")
    assert statuses(web)["hostile"] == ("acknowledged", "mette")

    assert bulk(client, "resolve", ["plain/Nordtel"]).status_code == 303
    done = bulk(client, "dismiss", KEYS)
    assert dict(parse_qsl(urlsplit(done.headers["location"]).query))["left"] == "1"
    assert statuses(web)["plain"][0] == "resolved"  # closed already: left as it was
    assert statuses(web)["hostile"][0] == "dismissed"
    landed = client.get(done.headers["location"]).text
    assert "Dismissed 1 post. 1 was left as it was (already closed)." in landed


def test_an_empty_selection_is_refused_and_the_list_keeps_its_filters(web: World) -> None:
    client = web.login("mia")
    before = statuses(web)
    refused = bulk(client, "ack", [])
    assert refused.status_code == 400
    assert '<p class="notice bad" role="alert">select at least one post first</p>' in refused.text
    assert 'value="Nordtel" selected' in refused.text
    assert 'id="q" name="q" type="search" value="Nordtel"' in refused.text
    assert statuses(web) == before
    unknown = bulk(client, "reopen", KEYS)
    assert unknown.status_code == 400
    assert "action must be one of ack, assign, resolve, dismiss" in unknown.text
    assert statuses(web) == before


def test_posts_not_in_the_queue_are_counted_and_a_full_page_fits_the_form(web: World) -> None:
    client = web.login("mia")
    missing = [f"{n:032x}/Nordtel" for n in range(150)]  # more fields than a plain form allows
    done = bulk(client, "ack", [*KEYS, *missing, "no-slash"])
    assert done.status_code == 303
    said = dict(parse_qsl(urlsplit(done.headers["location"]).query))
    assert (said["changed"], said["left"]) == ("2", "151")
    too_many = [f"{n:032x}/Nordtel" for n in range(service.MAX_BULK + 1)]
    refused = bulk(client, "ack", too_many)
    assert refused.status_code == 400
    assert f"select at most {service.MAX_BULK} posts at a time" in refused.text


def test_a_viewer_sees_no_bulk_bar_and_cannot_post_one(web: World) -> None:
    viewer = web.login("vic")
    page = viewer.get("/queue").text
    assert 'action="/queue/bulk"' not in page
    assert 'name="post"' not in page
    assert bulk(viewer, "ack", KEYS).status_code == 403
    manager = web.login("mia")
    forged = manager.post("/queue/bulk", data={"action": "ack", "post": KEYS, "csrf_token": "x"})
    assert forged.status_code == 403
    assert {s for s, _ in statuses(web).values()} == {"new"}


def test_the_api_does_the_same_and_names_each_reason(web: World) -> None:
    client = web.login("mia")
    headers = {"X-CSRF-Token": client.csrf}  # type: ignore[attr-defined]
    posts = [{"post_id": "plain", "brand": "Nordtel"}, {"post_id": "hostile", "brand": "Nordtel"}]
    assert client.post("/api/v1/queue/plain/Nordtel/resolve", headers=headers).status_code == 200
    answer = client.post(
        "/api/v1/queue/bulk", json={"action": "ack", "posts": posts}, headers=headers
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "action": "ack",
        "changed": 1,
        "left": {"cannot acknowledge a post that is resolved": 1},
    }
    empty = client.post("/api/v1/queue/bulk", json={"action": "ack", "posts": []}, headers=headers)
    assert (empty.status_code, empty.json()["error"]) == (400, "select at least one post first")
    assert (
        client.post("/api/v1/queue/bulk", json={"action": "ack", "posts": posts}).status_code == 403
    )
