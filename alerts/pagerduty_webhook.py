"""PagerDuty's webhooks (v3), inbound: the signature check and the event, read.

PagerDuty signs each delivery's raw body with each signing secret of the subscription
(HMAC-SHA256, hex digest) and sends ``X-PagerDuty-Signature: v1=<hex>`` — several,
comma-separated, while a secret is being rotated; a delivery is authentic when any ``v1``
signature matches (PagerDuty developer docs, "Verifying Signatures"). The body is one
event: ``{"event": {"id", "event_type", "occurred_at", "agent", "data": {...}}}``.

What an event means to Stormwatch (``action``): ``incident.acknowledged`` -> ``ack`` and
``incident.resolved`` -> ``resolve``, the same pair Stormwatch sends to PagerDuty;
everything else (annotations, priority changes, ``incident.unacknowledged`` when an
acknowledgement times out) means nothing here. The incident is named by ``incident_key``,
which for an incident opened through the Events API v2 is the event's ``dedup_key`` —
the key Stormwatch sends (``alerts.page.dedup_key_for``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alerts.errors import WebhookError

__all__ = [
    "EVENT_ACTIONS",
    "MAX_BODY_BYTES",
    "SIGNATURE_HEADER",
    "WebhookEvent",
    "parse_event",
    "sign_body",
    "verify_signature",
]

SIGNATURE_HEADER = "X-PagerDuty-Signature"
# PagerDuty drops every webhook over 256 KB and guarantees delivery up to 55 KB
# (PagerDuty developer docs, "Webhooks: Behavior", "Size Limit"): nothing larger is real.
MAX_BODY_BYTES = 256 * 1024
EVENT_ACTIONS = {"incident.acknowledged": "ack", "incident.resolved": "resolve"}
_MAX_SIGNATURES = 8  # a rotation needs two; more is not PagerDuty
_TEXT_CHARS = 255  # PagerDuty's limit on a dedup_key; nothing read here is longer


@dataclass(frozen=True)
class WebhookEvent:
    """The fields of one v3 event that Stormwatch reads."""

    id: str
    event_type: str
    resource_type: str  # ``data.type``: ``incident`` for the events that act
    incident_key: str  # "" when the data carries none
    pagerduty_id: str  # PagerDuty's own incident id (``data.id``), for the log
    occurred_at: datetime | None
    agent: str  # who did it (a user's name), "" when PagerDuty itself (auto-resolve)

    @property
    def action(self) -> str | None:
        """``ack`` / ``resolve`` for the events that act on an incident, else None."""
        return EVENT_ACTIONS.get(self.event_type) if self.resource_type == "incident" else None


def sign_body(secret: bytes, body: bytes) -> str:
    """The ``X-PagerDuty-Signature`` value PagerDuty sends for ``body``."""
    return "v1=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether any ``v1`` signature in ``header`` is ``body``'s under ``secret`` (every
    candidate compared in constant time)."""
    if not header or not secret:
        return False
    expected = sign_body(secret, body).encode()
    found = False
    for candidate in header.split(",")[:_MAX_SIGNATURES]:
        found |= hmac.compare_digest(candidate.strip().encode(), expected)
    return found


def parse_event(body: bytes) -> WebhookEvent:
    """The event in an authentic delivery's body; WebhookError if it is not a v3 event."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookError("the body is not JSON") from None
    event = document.get("event") if isinstance(document, dict) else None
    if not isinstance(event, dict) or not isinstance(event.get("event_type"), str):
        raise WebhookError("the body has no event with an event_type")
    data = _object(event.get("data"))
    return WebhookEvent(
        id=_text(event.get("id")),
        event_type=_text(event["event_type"]),
        resource_type=_text(data.get("type")),
        incident_key=_text(data.get("incident_key")),
        pagerduty_id=_text(data.get("id")),
        occurred_at=_time(event.get("occurred_at")),
        agent=_agent(event.get("agent")),
    )


def _agent(value: Any) -> str:
    """A user's name; "" for PagerDuty itself or a service (auto-resolution)."""
    agent = _object(value)
    name = _text(agent.get("summary")) if agent.get("type") == "user_reference" else ""
    return " ".join(name.split())  # one line in the audit trail


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    """A string field as sent, cut to a length fit for a column; "" if not a string."""
    return value[:_TEXT_CHARS] if isinstance(value, str) else ""


def _time(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None
