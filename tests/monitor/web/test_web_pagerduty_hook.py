"""PagerDuty's v3 webhooks (POST /hooks/pagerduty), through a real HTTP client and the real
server on 127.0.0.1: a signed ``incident.acknowledged`` acknowledges the incident the
``incident_key`` names, as the PagerDuty user; everything else is refused or ignored with
a named reason and changes nothing; the secret never shows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from alerts.outbox import enqueue
from alerts.page import dedup_key_for
from monitor.detect.incidents import TimelineEntry
from monitor.queue.incidents import incident_subject
from monitor.settings import Secret, Settings
from monitor.stages.detect import save_incident
from monitor.storage.db import session_scope
from monitor.storage.models import AuditEvent, IncidentRow
from monitor.web import create_app
from tests.support.fixtures.pagerduty import OTHER_SECRET, SECRET, body_of, event, signature
from tests.support.fixtures.pages import make_page
from tests.support.servers.webapp import serving
from tests.support.worlds.web import (
    EXPLANATION,
    INCIDENT,
    World,
    build_template,
    open_world,
    seed_incident,
)

KEY = dedup_key_for(INCIDENT)  # what Stormwatch sent PagerDuty: PagerDuty's incident_key
HOOK = "/hooks/pagerduty"
EVENT_ID = "01DEN3T4W5QZ7N8QH4VC5PZ3XN"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("pagerduty"))


def with_secret(settings: Settings, secret: str | None) -> Settings:
    web = settings.web.model_copy(
        update={"pagerduty_webhook_secret": Secret(secret) if secret else None}
    )
    return settings.model_copy(update={"web": web})


def page_sent(world: World, key: str = KEY) -> None:
    """The incident was paged under ``key`` (a PagerDuty service is a shared recipient)."""
    page = make_page(INCIDENT, dedup_key=key)
    with session_scope(world.engine) as session:
        enqueue(session, page, world.clock(), channels=["pages"])


@dataclass
class Hook:
    world: World
    client: httpx.Client

    def post(self, document: dict[str, Any], *secrets: str, **headers: str) -> httpx.Response:
        body = body_of(document)
        sign = {"X-PagerDuty-Signature": signature(body, *secrets)} if secrets else {}
        kinds = {"Content-Type": "application/json"}
        return self.client.post(HOOK, content=body, headers=kinds | sign | headers)

    def row(self) -> IncidentRow:
        with session_scope(self.world.engine) as session:
            row = session.get(IncidentRow, INCIDENT)
            assert row is not None
            return row

    def audit(self) -> list[tuple[str, str, str]]:
        with session_scope(self.world.engine) as session:
            query = select(AuditEvent).where(AuditEvent.subject == incident_subject(INCIDENT))
            return [(a.actor, a.action, a.detail) for a in session.exec(query)]


def _serve(world: World, secret: str | None) -> Iterator[Hook]:
    app = create_app(with_secret(world.settings, secret), world.engine, clock=world.clock)
    with serving(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield Hook(world, client)


@pytest.fixture
def hook(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hook]:
    for world in open_world(template, tmp_path, monkeypatch):
        page_sent(world)
        yield from _serve(world, SECRET)


def test_acknowledged_in_pagerduty_is_acknowledged_here_as_that_user(hook: Hook) -> None:
    answer = hook.post(event("incident.acknowledged", KEY), SECRET)
    assert answer.status_code == 200
    assert answer.json() == {"result": "acted", "reason": "acted", "incident": INCIDENT}
    row = hook.row()
    assert (row.status, row.acknowledged_by, row.acknowledged_at) == (
        "acknowledged",
        "Mette Kjær (PagerDuty)",
        hook.world.clock(),
    )
    assert hook.audit() == [
        ("Mette Kjær (PagerDuty)", "acknowledged", f"in PagerDuty (event {EVENT_ID})")
    ]


def test_a_repeated_delivery_and_our_own_acknowledgement_coming_back_change_nothing(
    hook: Hook,
) -> None:
    hook.post(event("incident.acknowledged", KEY), SECRET)
    acked_at = hook.row().acknowledged_at
    hook.world.clock.advance(minutes=3)
    again = hook.post(event("incident.acknowledged", KEY), SECRET)  # at-least-once delivery
    assert again.status_code == 200
    assert again.json() == {
        "result": "ignored",
        "reason": "already_acknowledged",
        "incident": INCIDENT,
    }
    assert hook.row().acknowledged_at == acked_at
    assert len(hook.audit()) == 1


def test_resolved_in_pagerduty_is_resolved_here(hook: Hook) -> None:
    hook.post(event("incident.acknowledged", KEY), SECRET)
    hook.world.clock.advance(minutes=40)
    service = {"id": "PF9KMXH", "summary": "Stormwatch", "type": "service_reference"}
    resolved = hook.post(event("incident.resolved", KEY, agent=service), SECRET)
    assert resolved.json()["reason"] == "acted"
    row = hook.row()
    assert (row.status, row.resolved_at) == ("resolved", hook.world.clock())
    assert hook.audit()[-1] == ("PagerDuty", "resolved", f"in PagerDuty (event {EVENT_ID})")
    late = hook.post(event("incident.acknowledged", KEY), SECRET)
    assert late.json()["reason"] == "already_resolved"
    assert hook.row().status == "resolved"


@pytest.mark.parametrize(
    ("header", "why"),
    [
        (None, "no signature"),
        ("v1=" + "0" * 64, "a made-up signature"),
        ("other", "a delivery signed with another subscription's secret"),
        ("v1=" + SECRET, "the secret itself, unhashed"),
    ],
)
def test_a_delivery_without_our_signature_is_refused_and_changes_nothing(
    hook: Hook, header: str | None, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = body_of(event("incident.acknowledged", KEY))
    sent = {"other": signature(body, OTHER_SECRET)}.get(header or "", header)
    headers = {"Content-Type": "application/json"}
    if sent is not None:
        headers["X-PagerDuty-Signature"] = sent
    caplog.set_level("DEBUG")
    refused = hook.client.post(HOOK, content=body, headers=headers)
    assert refused.status_code == 401, why
    assert refused.json() == {"error": "the signature does not match", "kind": "bad_signature"}
    assert hook.row().status == "triggered"
    assert hook.audit() == []
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "bad_signature" in logged
    assert SECRET not in logged
    assert SECRET not in refused.text
    assert signature(body, SECRET).removeprefix("v1=") not in logged


def test_a_secret_being_rotated_signs_twice_and_either_will_do(hook: Hook) -> None:
    answer = hook.post(event("incident.acknowledged", KEY), OTHER_SECRET, SECRET)
    assert answer.json()["reason"] == "acted"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (event("incident.annotated", KEY, data_type="incident_note"), "not_an_incident_action"),
        (event("incident.unacknowledged", KEY), "not_an_incident_action"),
        (event("incident.priority_updated", KEY), "not_an_incident_action"),
        (event("service.updated", None, data_type="service"), "not_an_incident_action"),
        (event("incident.acknowledged", None), "no_incident_key"),
        (event("incident.acknowledged", "d3640fbd41094207a1c11e58e46b1662"), "unknown_incident"),
        (event("incident.acknowledged", KEY + "/2"), "unknown_incident"),
    ],
)
def test_events_that_do_not_decide_one_of_our_incidents_are_ignored_with_200(
    hook: Hook, document: dict[str, Any], reason: str
) -> None:
    answer = hook.post(document, SECRET)
    assert answer.status_code == 200, "PagerDuty retries anything else"
    assert answer.json() == {"result": "ignored", "reason": reason}
    assert hook.row().status == "triggered"
    assert hook.audit() == []


def test_an_earlier_rounds_alert_closed_in_pagerduty_leaves_this_round_alone(hook: Hook) -> None:
    reopened = hook.world.clock() - timedelta(minutes=5)
    incident = seed_incident(INCIDENT)
    incident.timeline.append(TimelineEntry(reopened, "reopened", "within_cooldown", ""))
    with session_scope(hook.world.engine) as session:
        save_incident(session, incident, EXPLANATION, reopened)
    page_sent(hook.world, dedup_key_for(INCIDENT, 2))
    old = hook.post(event("incident.acknowledged", KEY), SECRET)
    assert old.json() == {"result": "ignored", "reason": "past_round", "incident": INCIDENT}
    assert hook.row().status == "triggered"
    current = hook.post(event("incident.acknowledged", dedup_key_for(INCIDENT, 2)), SECRET)
    assert current.json()["reason"] == "acted"


@pytest.mark.parametrize("body", [b"not json", b"{}", b'{"event": {"id": "x"}}'])
def test_an_authentic_body_that_is_not_an_event_is_a_400(hook: Hook, body: bytes) -> None:
    headers = {"X-PagerDuty-Signature": signature(body, SECRET)}
    answer = hook.client.post(HOOK, content=body, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["kind"] == "invalid_input"
    assert hook.row().status == "triggered"


def test_a_body_over_pagerdutys_own_limit_is_refused_before_it_is_read(hook: Hook) -> None:
    document = event("incident.acknowledged", KEY)
    document["event"]["data"]["padding"] = "x" * (256 * 1024)
    body = body_of(document)
    sign = {"X-PagerDuty-Signature": signature(body, SECRET)}
    assert hook.client.post(HOOK, content=body, headers=sign).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(body), 16_384):
            yield body[start : start + 16_384]

    assert hook.client.post(HOOK, content=chunks(), headers=sign).status_code == 413
    assert hook.row().status == "triggered"


def test_without_a_secret_there_is_no_endpoint(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for world in open_world(template, tmp_path, monkeypatch):
        page_sent(world)
        for plain in _serve(world, None):
            answer = plain.post(event("incident.acknowledged", KEY), SECRET)
            assert answer.status_code == 404
            assert plain.row().status == "triggered"
            assert plain.client.get(HOOK).status_code == 405
