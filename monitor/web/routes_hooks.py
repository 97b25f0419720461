"""Webhooks other systems post to: ``POST /hooks/pagerduty`` (PagerDuty's v3 webhooks).

Acknowledging or resolving an incident in PagerDuty's app acknowledges or resolves it
here (``monitor.queue.acks.apply_pagerduty``); the other way round already holds, since
Stormwatch sends its decisions to PagerDuty (``alerts.channels.pagerduty``).

- Only with ``[web] pagerduty_webhook_secret`` set; otherwise 404, as if absent.
- The body is capped at PagerDuty's own limit (``alerts.pagerduty_webhook.MAX_BODY_BYTES``,
  413 beyond) and its signature checked on the raw bytes before anything reads it: 401
  when no ``v1`` signature matches, nothing changed, and neither the secret nor the
  signatures ever written to a log or an answer.
- An authentic body that is not a v3 event: 400 (PagerDuty drops a 4xx; retrying the same
  bytes cannot help). Every authentic event gets 200 — acted on, or ignored with a named
  reason — because PagerDuty retries anything else (PagerDuty developer docs, "Webhooks:
  Behavior").
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, Response

from alerts.errors import WebhookError
from alerts.pagerduty_webhook import SIGNATURE_HEADER, WebhookEvent, parse_event, verify_signature
from monitor.queue import acks
from monitor.storage.db import session_scope
from monitor.web.context import WebContext, web_context

log = logging.getLogger("stormwatch.web")

router = APIRouter(include_in_schema=False)


def _answer(status: int, **body: str | None) -> Response:
    return JSONResponse({k: v for k, v in body.items() if v is not None}, status_code=status)


@router.post("/hooks/pagerduty")
async def pagerduty(request: Request, web: WebContext = Depends(web_context)) -> Response:
    secret = web.settings.web.pagerduty_webhook_secret
    if secret is None:
        return _answer(404, error="no PagerDuty webhook is configured", kind="not_found")
    body = await request.body()
    if not verify_signature(secret.reveal().encode(), body, request.headers.get(SIGNATURE_HEADER)):
        log.warning("PagerDuty webhook refused", extra={"reason": "bad_signature"})
        return _answer(401, error="the signature does not match", kind="bad_signature")
    try:
        event = parse_event(body)
    except WebhookError as exc:
        log.warning("PagerDuty webhook refused", extra={"reason": "invalid_input"})
        return _answer(400, error=str(exc), kind="invalid_input")
    outcome = await asyncio.to_thread(_apply, web, event)
    log.info(
        "PagerDuty webhook",
        extra={
            "event": event.id,
            "event_type": event.event_type,
            "incident": outcome.incident_id,
            "reason": outcome.reason,
        },
    )
    result = "acted" if outcome.acted else "ignored"
    return _answer(200, result=result, reason=outcome.reason, incident=outcome.incident_id)


def _apply(web: WebContext, event: WebhookEvent) -> acks.PagerDutyOutcome:
    with session_scope(web.engine) as session:
        return acks.apply_pagerduty(session, event, web.clock())
