"""The JSON API under /api/v1: same services and rules as the pages, one error shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.support.worlds.web import (
    HOSTILE_TITLE,
    INCIDENT,
    PASSAGE,
    PASSWORD,
    World,
    build_template,
    open_world,
)

INCIDENT_API = "/api/v1/incidents/" + quote(INCIDENT, safe="")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("web"))


@pytest.fixture
def web(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from open_world(template, tmp_path, monkeypatch)


def post(client: TestClient, path: str, body: dict[str, Any] | None = None) -> Any:
    headers = {"X-CSRF-Token": client.csrf}  # type: ignore[attr-defined]
    return client.post(path, json=body, headers=headers)


def test_login_with_json_then_me(web: World) -> None:
    client = web.client()
    wrong = client.post("/api/v1/login", json={"name": "mia", "password": "nope"})
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "Wrong user name or password.", "kind": "bad_credentials"}
    ok = client.post("/api/v1/login", json={"name": "mia", "password": PASSWORD})
    assert ok.status_code == 200
    assert ok.json()["role"] == "manager"
    me = client.get("/api/v1/me").json()
    assert me == {**ok.json(), "can_triage": True}
    as_form = web.client().post("/api/v1/login", data={"name": "mia", "password": PASSWORD})
    assert as_form.status_code == 400, "a cross-site form cannot log anyone in"
    client.csrf = me["csrf_token"]  # type: ignore[attr-defined]
    assert post(client, "/api/v1/logout").status_code == 204
    assert client.get("/api/v1/me").status_code == 401


def test_incidents_list_detail_and_ack(web: World) -> None:
    client = web.login("mia")
    [listed] = client.get("/api/v1/incidents").json()
    assert listed["id"] == INCIDENT
    assert listed["status"] == "triggered"
    detail = client.get(INCIDENT_API).json()
    assert {p["post_id"] for p in detail["posts"]} == {"hostile", "plain"}
    assert detail["series"]
    assert {"at", "observed", "expected", "upper"} <= set(detail["series"][0])
    acked = post(client, f"{INCIDENT_API}/ack")
    assert acked.status_code == 200
    assert acked.json()["acknowledged_by"] == "mia"
    again = post(client, f"{INCIDENT_API}/ack")
    assert again.status_code == 409
    assert again.json()["kind"] == "invalid_transition"
    assert post(client, f"{INCIDENT_API}/resolve").json()["status"] == "resolved"
    assert client.get("/api/v1/incidents").json() == []
    assert len(client.get("/api/v1/incidents", params={"status": "all"}).json()) == 1
    bad = client.get("/api/v1/incidents", params={"status": "sideways"})
    assert bad.status_code == 400
    assert bad.json()["kind"] == "invalid_input"
    assert client.get("/api/v1/incidents/nope").json()["kind"] == "not_found"


def test_queue_list_filters_and_item(web: World) -> None:
    client = web.login("vic")
    page = client.get("/api/v1/queue").json()
    assert (page["total"], page["limit"], page["offset"]) == (2, 50, 0)
    assert [r["urgency"] for r in page["rows"]] == sorted(
        (r["urgency"] for r in page["rows"]), reverse=True
    )
    found = client.get("/api/v1/queue", params={"q": "lukket", "lang": "da"}).json()
    assert [r["post_id"] for r in found["rows"]] == ["hostile"]
    item = client.get("/api/v1/queue/hostile/Nordtel").json()
    assert item["title"] == HOSTILE_TITLE, "JSON carries the raw text; escaping is the page's job"
    assert item["text"][item["passage_start"] : item["passage_end"]] == PASSAGE
    assert client.get("/api/v1/queue/nope/Nordtel").status_code == 404
    linked = client.get("/api/v1/queue", params={"incident": INCIDENT, "status": "all"}).json()
    assert {r["post_id"] for r in linked["rows"]} == {"hostile", "plain"}
    assert client.get("/api/v1/queue", params={"incident": "elsewhere"}).json()["total"] == 0
    invalid = client.get("/api/v1/queue", params={"limit": 0})
    assert invalid.status_code == 400
    assert invalid.json()["kind"] == "invalid_input"


def test_queue_actions(web: World) -> None:
    client = web.login("mia")
    base = "/api/v1/queue/plain/Nordtel"
    assert post(client, f"{base}/assign", {"assignee": "jonas"}).json()["assignee"] == "jonas"
    assert post(client, f"{base}/respond", {"note": "called back"}).json()["status"] == "responded"
    assert post(client, f"{base}/resolve").json()["status"] == "resolved"
    refused = post(client, f"{base}/respond")
    assert refused.status_code == 409
    assert refused.json()["kind"] == "invalid_transition"
    assert post(client, f"{base}/note").json()["kind"] == "invalid_input"
    assert post(client, f"{base}/relabel", {"label": "maybe"}).status_code == 400
    assert post(client, f"{base}/note", {"surprise": 1}).status_code == 400
    assert post(client, f"{base}/explode").status_code == 404
    assert post(client, "/api/v1/queue/nope/Nordtel/ack").status_code == 404
    history = client.get(base).json()["history"]
    assert [e["action"] for e in history] == ["flagged", "assign", "respond", "resolve"]
    assert history[1]["actor"] == "mia"
    times = client.get("/api/v1/response-times", params={"since": "7d"}).json()
    answered = next(t for t in times if t["post_id"] == "plain")
    assert answered["seconds"] == 600.0, "flagged at T0, answered ten minutes later"


@pytest.mark.parametrize(
    "path",
    [
        "/queue",
        "/api/v1/queue",
        "/exports/queue.csv",
        "/exports/response-times.csv",
        "/exports/incident-response-times.csv",
        "/api/v1/response-times",
    ],
)
@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_a_time_outside_utc_is_a_clear_400_on_every_filtered_view(
    web: World, path: str, since: str
) -> None:
    answer = web.login("vic").get(path, params={"since": since})
    assert answer.status_code == 400
    assert "outside the years 1–9999" in answer.text


def test_until_names_itself_when_refused(web: World) -> None:
    answer = web.login("vic").get(
        "/api/v1/response-times", params={"until": "9999-12-31T23:59-14:00"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("until:")


def test_sources_and_oncall(web: World) -> None:
    client = web.login("vic")
    sources = client.get("/api/v1/sources").json()
    assert [s["health"] for s in sources] == ["failing", "pending"]
    [level] = client.get("/api/v1/oncall").json()
    assert level["people"] == ["mette"]
    assert level["policy"] == "storms"


def test_openapi_describes_the_api(web: World) -> None:
    schema = web.login("vic").get("/api/openapi.json").json()
    paths = schema["paths"]
    assert "/api/v1/queue/{post_id}/{brand}/{action}" in paths or any(
        p.startswith("/api/v1/queue/{post_id}") for p in paths
    )
    queue = paths["/api/v1/queue"]["get"]
    assert {p["name"] for p in queue["parameters"]} >= {"brand", "status", "q", "since"}
    assert "ErrorBody" in schema["components"]["schemas"]
