"""PagerDuty's v3 webhooks, read: the signature check and the event (alerts.pagerduty_webhook)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts.errors import WebhookError
from alerts.pagerduty_webhook import parse_event, sign_body, verify_signature
from tests.support.fixtures.clock import T0
from tests.support.fixtures.pagerduty import OTHER_SECRET, SECRET, body_of, event, signature

KEY = SECRET.encode()


def test_the_documented_signature_is_accepted() -> None:
    body = body_of(event())
    assert sign_body(KEY, body) == signature(body, SECRET)
    assert verify_signature(KEY, body, signature(body, SECRET))


@pytest.mark.parametrize("order", ["ours_first", "ours_last"])
def test_during_a_rotation_any_matching_signature_will_do(order: str) -> None:
    body = body_of(event())
    secrets = (SECRET, OTHER_SECRET) if order == "ours_first" else (OTHER_SECRET, SECRET)
    assert verify_signature(KEY, body, signature(body, *secrets))
    assert verify_signature(KEY, body, signature(body, *secrets).replace(",", ", "))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "v1=",
        "v0={sig}",  # an unknown version
        "{sig}",  # no version
        "v1={other}",
        "v1={sig}00",
        "v1={upper}",
        "v1=é",
    ],
)
def test_anything_but_a_matching_v1_signature_is_refused(header: str | None) -> None:
    body = body_of(event())
    sig = signature(body, SECRET).removeprefix("v1=")
    other = signature(body, OTHER_SECRET).removeprefix("v1=")
    value = header.format(sig=sig, other=other, upper=sig.upper()) if header else header
    assert not verify_signature(KEY, body, value)


def test_a_signature_covers_every_byte_of_the_body() -> None:
    body = body_of(event("incident.acknowledged"))
    header = signature(body, SECRET)
    resolved = body.replace(b"incident.acknowledged", b"incident.resolved")
    assert not verify_signature(KEY, resolved, header)
    assert not verify_signature(KEY, body + b" ", header)
    assert not verify_signature(b"", body, header), "no secret, nothing authentic"


def test_the_documented_event_is_read() -> None:
    read = parse_event(body_of(event("incident.acknowledged", "stormwatch-Nordtel:storm:1/2")))
    assert read.event_type == "incident.acknowledged"
    assert (read.action, read.resource_type) == ("ack", "incident")
    assert read.incident_key == "stormwatch-Nordtel:storm:1/2"
    assert (read.id, read.pagerduty_id) == ("01DEN3T4W5QZ7N8QH4VC5PZ3XN", "PGR0VU2")
    assert read.occurred_at == T0 + timedelta(minutes=12, seconds=30, microseconds=169000)
    assert read.agent == "Mette Kjær"
    assert parse_event(body_of(event("incident.resolved"))).action == "resolve"


@pytest.mark.parametrize(
    ("event_type", "data_type"),
    [
        ("incident.unacknowledged", "incident"),  # an acknowledgement timed out
        ("incident.annotated", "incident_note"),
        ("incident.priority_updated", "incident"),
        ("service.updated", "service"),
        ("incident.acknowledged", "incident_note"),  # the right name on the wrong data
    ],
)
def test_events_that_do_not_decide_an_incident_have_no_action(
    event_type: str, data_type: str
) -> None:
    assert parse_event(body_of(event(event_type, data_type=data_type))).action is None


def test_pagerduty_itself_is_no_agent_and_missing_fields_read_as_empty() -> None:
    service = {"id": "PF9KMXH", "summary": "Stormwatch", "type": "service_reference"}
    assert parse_event(body_of(event("incident.resolved", agent=service))).agent == ""
    assert parse_event(body_of(event(agent=None))).agent == ""
    bare = parse_event(b'{"event": {"event_type": "incident.acknowledged", "data": 7}}')
    assert (bare.incident_key, bare.resource_type, bare.action, bare.occurred_at) == (
        "",
        "",
        None,
        None,
    )
    assert parse_event(body_of(event(incident_key=None))).incident_key == ""


def test_long_or_multiline_fields_are_cut_to_one_bounded_line() -> None:
    agent = dict(event()["event"]["agent"], summary="Mette\n\tKjær " + "x" * 400)
    read = parse_event(body_of(event(agent=agent, incident_key="k" * 1000)))
    assert read.agent.startswith("Mette Kjær x")
    assert "\n" not in read.agent
    assert len(read.agent) <= 255
    assert len(read.incident_key) == 255


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b"{}",
        b'{"event": []}',
        b'{"event": {"event_type": 7}}',
    ],
)
def test_a_body_that_is_not_a_v3_event_is_one_clear_error(body: bytes) -> None:
    with pytest.raises(WebhookError) as raised:
        parse_event(body)
    assert str(raised.value) in ("the body is not JSON", "the body has no event with an event_type")
