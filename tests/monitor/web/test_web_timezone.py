"""Times in the viewer's zone: a per-user setting, else the on-call schedule's zone, else the
browser's (its cookie), else UTC; the API always answers ISO 8601 with the offset."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from monitor.detect.explain import explain
from monitor.stages.detect import save_incident
from monitor.storage.db import session_scope
from monitor.storage.models import User
from monitor.web.context import ZONE_COOKIE
from tests.support.worlds.web import (
    INCIDENT,
    World,
    assert_inert,
    build_template,
    open_world,
    seed_incident,
    settings,
)

INCIDENT_PATH = "/incidents/" + quote(INCIDENT, safe="")
# The seeded storm began at 08:00 UTC on 2 November (T0 09:00 less an hour).
SINCE = {
    "UTC": "since 2026-11-02 08:00 UTC",
    "Europe/Copenhagen": "since 2026-11-02 09:00 CET",
    "America/New_York": "since 2026-11-02 03:00 EST",
    "Asia/Tokyo": "since 2026-11-02 17:00 JST",
    "Europe/London": "since 2026-11-02 08:00 GMT",
}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("web"))


def _world(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zone: str | None
) -> Iterator[World]:
    for world in open_world(template, tmp_path, monkeypatch, settings(schedule_zone=zone)):
        with session_scope(world.engine) as session:  # an explanation as the detector writes it
            incident = seed_incident(INCIDENT)
            save_incident(session, incident, explain(incident, []).text, world.clock())
        yield world


@pytest.fixture
def web(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """On-call schedule in Copenhagen (the default schedule zone)."""
    yield from _world(template, tmp_path, monkeypatch, "Europe/Copenhagen")


@pytest.fixture
def no_schedule(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from _world(template, tmp_path, monkeypatch, None)


def csrf(page: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found
    return found.group(1)


def set_zone(client: TestClient, zone: str) -> Any:
    token = csrf(client.get("/settings").text)
    return client.post("/settings", data={"timezone": zone, "csrf_token": token})


def stored_zone(world: World, name: str) -> str | None:
    with session_scope(world.engine) as session:
        return session.exec(select(User).where(col(User.name) == name)).one().timezone


def test_pages_default_to_the_schedules_zone_and_a_user_picks_their_own(web: World) -> None:
    client = web.login("mia")
    page = client.get(INCIDENT_PATH).text
    assert SINCE["Europe/Copenhagen"] in page  # the headline, not only the facts
    assert "UTC" not in page.split("<h1>")[1].split("</h1>")[0]

    done = set_zone(client, "America/New_York")
    assert (done.status_code, done.headers["location"]) == (303, "/settings?done=timezone")
    assert stored_zone(web, "mia") == "America/New_York"
    settings_page = client.get("/settings?done=timezone").text
    assert "Saved. Every page now shows times in this zone." in settings_page
    assert 'value="America/New_York"' in settings_page
    for path in ("/incidents", INCIDENT_PATH, f"/queue?incident={quote(INCIDENT)}"):
        page = client.get(path).text
        assert SINCE["America/New_York"] in page, path
        assert SINCE["Europe/Copenhagen"] not in page, path
    assert "EST" in client.get("/posts/plain/Nordtel").text
    assert "02 Nov 03:00" in client.get(INCIDENT_PATH).text  # the chart's axis too
    assert SINCE["Europe/Copenhagen"] in web.login("ada").get(INCIDENT_PATH).text, "hers only"

    assert set_zone(client, "  ").status_code == 303  # blank: back to the default
    assert stored_zone(web, "mia") is None
    assert SINCE["Europe/Copenhagen"] in client.get(INCIDENT_PATH).text


def test_an_unknown_zone_is_refused_with_a_sentence_and_nothing_changes(web: World) -> None:
    client = web.login("mia")
    assert set_zone(client, "Europe/Copenhagen").status_code == 303
    for bad in ("Mars/Olympus", "../../etc/passwd", "posixrules", "<script>x</script>"):
        refused = set_zone(client, bad)
        assert refused.status_code == 400, bad
        assert "unknown time zone" in refused.text
        assert "use an IANA name like Europe/Copenhagen" in refused.text
        assert_inert(refused.text)
    assert stored_zone(web, "mia") == "Europe/Copenhagen"


def test_the_setting_needs_the_sessions_token_and_a_viewer_may_set_their_own(
    web: World,
) -> None:
    viewer = web.login("vic")
    forged = viewer.post("/settings", data={"timezone": "Asia/Tokyo", "csrf_token": "nope"})
    assert forged.status_code == 403
    assert stored_zone(web, "vic") is None
    assert set_zone(viewer, "Asia/Tokyo").status_code == 303
    assert SINCE["Asia/Tokyo"] in viewer.get("/incidents").text
    assert viewer.get("/api/v1/me").json()["timezone"] == "Asia/Tokyo"
    assert web.client().get("/settings").status_code in (303, 307), "no session: login first"


def test_without_a_schedule_pages_use_the_browsers_zone_else_utc(no_schedule: World) -> None:
    client = no_schedule.login("mia")
    assert SINCE["UTC"] in client.get("/incidents").text
    client.cookies.set(ZONE_COOKIE, "Asia/Tokyo")
    assert SINCE["Asia/Tokyo"] in client.get("/incidents").text
    page = client.get("/settings").text
    assert "the zone this browser reports" in page
    client.cookies.set(ZONE_COOKIE, "Not/AZone")  # forged or stale: passed over
    assert SINCE["UTC"] in client.get("/incidents").text
    assert set_zone(client, "Europe/London").status_code == 303  # the user's own wins
    client.cookies.set(ZONE_COOKIE, "Asia/Tokyo")
    assert SINCE["Europe/London"] in client.get("/incidents").text


def test_the_schedules_zone_comes_before_the_browsers(web: World) -> None:
    client = web.login("mia")
    client.cookies.set(ZONE_COOKIE, "Asia/Tokyo")
    assert SINCE["Europe/Copenhagen"] in client.get("/incidents").text
    assert "the on-call schedule&#39;s zone" in client.get("/settings").text


# --- the API: ISO 8601 with the offset, whatever the viewer's zone ----------------------------

ISO_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _times(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _times(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for n, inner in enumerate(value):
            yield from _times(inner, f"{path}[{n}]")
    elif isinstance(value, str) and ISO_LIKE.match(value):
        yield path, value


def test_the_api_answers_every_time_as_iso_8601_with_its_offset(web: World) -> None:
    client = web.login("mia")
    assert set_zone(client, "Asia/Tokyo").status_code == 303  # pages only: the API stays UTC
    seen = []
    for path in (
        "/api/v1/incidents?status=all",
        "/api/v1/incidents/" + quote(INCIDENT, safe=""),
        "/api/v1/queue?status=all",
        "/api/v1/queue/plain/Nordtel",
        "/api/v1/sources",
        "/api/v1/oncall",
        "/api/v1/response-times",
    ):
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text)
        for where, text in _times(answer.json()):
            moment = datetime.fromisoformat(text)
            assert "T" in text, (path, where, text)
            assert moment.utcoffset() is not None, (path, where, text)
            seen.append((path, where))
    assert len({p for p, _ in seen}) >= 5, seen
    incident = client.get("/api/v1/incidents/" + quote(INCIDENT, safe="")).json()
    assert incident["onset_at"] == "2026-11-02T08:00:00+00:00"
    assert SINCE["UTC"] in incident["headline"]
