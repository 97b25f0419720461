"""PagerDuty Events API v2, spoken directly (trigger / acknowledge / resolve).

URL form: ``pagerduty://ROUTING_KEY`` (sends to ``https://events.pagerduty.com/v2/enqueue``)
or ``pagerduty://ROUTING_KEY@HOST[:PORT][/PATH][?tls=no&source=NAME&timeout=SECONDS]`` to
point it elsewhere (tests use a local receiver with ``tls=no``).

Every event carries the page's ``dedup_key``, stable per incident, so repeats and
escalations attach to the open alert, and ``acknowledge`` / ``resolve`` close it.
PagerDuty answers 202 when it accepted the event; 429 and 5xx are retried later; 400 (and
other 4xx) are not, because the same event would be refused again.
The routing key is never part of a reason, log line or exception text.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from alerts.channels.base import MASK, Delivery, Redactor, retryable_status
from alerts.errors import ChannelConfigError
from alerts.page import Page, render_subject, render_text, step_action

__all__ = ["PagerDutyChannel"]

log = logging.getLogger(__name__)
DEFAULT_HOST = "events.pagerduty.com"
DEFAULT_PATH = "/v2/enqueue"
_SEVERITIES = {"critical": "critical", "high": "error", "major": "error", "warning": "warning"}
_REASON_CHARS = 300


class PagerDutyChannel:
    """One PagerDuty service (its Events v2 integration routing key)."""

    schemes: ClassVar[tuple[str, ...]] = ("pagerduty",)

    def __init__(self, name: str, url: str, *, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        key = unquote(parts.username or ("" if "@" in parts.netloc else parts.netloc))
        if not key:
            raise ChannelConfigError(f"channel {name!r}: pagerduty:// needs a routing key")
        host = parts.hostname if "@" in parts.netloc else DEFAULT_HOST
        port = f":{parts.port}" if parts.port else ""
        scheme = "http" if query.get("tls", "yes").lower() in ("no", "false", "0") else "https"
        self.name = name
        self.endpoint = f"{scheme}://{host}{port}{parts.path or DEFAULT_PATH}"
        self.source = query.get("source", "stormwatch")
        self.timeout = float(query.get("timeout", timeout))
        self.masked_url = f"pagerduty://{MASK}@{host}{port}{parts.path or DEFAULT_PATH}"
        self._routing_key = key
        self._redact = Redactor({key})

    def send(self, page: Page, now: datetime) -> Delivery:
        try:
            with httpx.Client(timeout=self.timeout) as client:
                response = client.post(self.endpoint, json=self.event(page))
        except httpx.TimeoutException:
            return self._failed("timeout", retryable=True)
        except httpx.HTTPError as exc:
            return self._failed(f"connect_error: {type(exc).__name__}", retryable=True)
        if response.status_code == 202:
            return Delivery.accepted(f"accepted: {step_action(page.step)}")
        return self._failed(_describe(response), retryable=retryable_status(response.status_code))

    def event(self, page: Page) -> dict[str, Any]:
        """The Events v2 body for ``page`` (trigger carries payload and links)."""
        action = step_action(page.step)
        body: dict[str, Any] = {
            "routing_key": self._routing_key,
            "event_action": action,
            "dedup_key": page.dedup_key,
        }
        if action == "trigger":
            body["payload"] = self._payload(page)
            body["links"] = _links(page)
        return body

    def _payload(self, page: Page) -> dict[str, Any]:
        return {
            "summary": render_subject(page)[:1024],
            "source": self.source,
            "severity": _SEVERITIES.get(page.severity.lower(), "info"),
            "timestamp": page.created_at.isoformat(),
            "component": page.brand,
            "group": page.kind,
            "class": page.step,
            "custom_details": {"explanation": page.explanation, "text": render_text(page)},
        }

    def _failed(self, reason: str, *, retryable: bool) -> Delivery:
        safe = self._redact(reason)
        log.warning("channel %s failed: %s", self.name, safe)
        return Delivery.failed(safe, retryable=retryable)


def _links(page: Page) -> list[dict[str, str]]:
    links = [{"href": page.ack_url, "text": "Acknowledge"}] if page.ack_url else []
    return links + [{"href": p.url, "text": p.title[:100]} for p in page.top_posts[:5]]


def _describe(response: httpx.Response) -> str:
    try:
        data = response.json()
        detail = f"{data.get('message', '')} {'; '.join(map(str, data.get('errors', [])))}"
    except (ValueError, AttributeError):
        detail = response.text
    return f"http_{response.status_code}: {' '.join(detail.split())[:_REASON_CHARS]}".rstrip(": ")
