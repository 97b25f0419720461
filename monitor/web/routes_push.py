"""The public push endpoints (docs/push.md): hubs and platforms call them, no session.

- ``GET /push/websub/{token}``: a hub verifies a subscription (the challenge is echoed
  only for a subscription we asked for), ``POST``: a hub delivers the feed.
- ``GET /push/facebook``: Facebook verifies the webhook (``hub.verify_token``), ``POST``:
  a page's changes.

Every call is rate limited per client (``[push] rate`` / ``burst``: 429 with
Retry-After), every body capped (``[push] max_body``: 413) and every delivery's signature
checked before anything is read from it (403). The push service lives in the daemon
(``app.state.push``); a UI-only process answers 503.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from monitor.errors import FetchError, StorageError, WorkerError

if TYPE_CHECKING:  # the service is the daemon's; the web UI alone never loads the pipeline
    from monitor.push import PushService

router = APIRouter(prefix="/push", include_in_schema=False)


class Refused(Exception):
    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        self.status, self.reason, self.headers = status, reason, headers or {}


def _service(request: Request, kind: str) -> PushService:
    service: PushService | None = getattr(request.app.state, "push", None)
    if service is None:
        raise Refused(503, "push_not_running")
    client = request.client.host if request.client else "unknown"
    wait = service.buckets.take(client, service.clock().timestamp())
    if wait is not None:
        service.count(kind, "rate_limited")
        raise Refused(429, "rate_limited", {"Retry-After": str(math.ceil(wait))})
    return service


async def _delivery_body(request: Request, service: PushService, kind: str) -> bytes:
    try:
        return await _body(request, service.max_body)
    except Refused as refusal:
        service.count(kind, refusal.reason)
        raise


async def _body(request: Request, limit: int) -> bytes:
    """The body, refused past ``limit`` bytes whatever Content-Length said."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, "too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(status: int, reason: str, **extra: Any) -> Response:
    return JSONResponse({"status": reason, **extra}, status_code=status)


def _refused(refusal: Refused) -> Response:
    response = _answer(refusal.status, refusal.reason)
    response.headers.update(refusal.headers)
    return response


@router.get("/websub/{token}")
async def websub_verify(token: str, request: Request) -> Response:
    try:
        service = _service(request, "websub")
    except Refused as refusal:
        return _refused(refusal)
    params = dict(request.query_params)
    challenge = await service.websub.verify(token, params, service.clock())
    service.count("websub", "verified" if challenge is not None else "not_asked")
    if challenge is None:
        return _answer(404, "not_asked")
    return PlainTextResponse(challenge)


@router.post("/websub/{token}")
async def websub_deliver(token: str, request: Request) -> Response:
    try:
        service = _service(request, "websub")
        body = await _delivery_body(request, service, "websub")
    except Refused as refusal:
        return _refused(refusal)
    try:
        done = await service.websub.deliver(token, body, request.headers, service.clock())
    except (StorageError, WorkerError, FetchError):  # not stored: the hub delivers again later
        service.count("websub", "not_stored")
        return _answer(503, "not_stored")
    service.count("websub", done.reason)
    report = done.report
    counts = {"new": len(report.new), "updated": len(report.updated)} if report else {}
    return _answer(done.status, done.reason, **counts)


@router.get("/facebook")
async def facebook_verify(request: Request) -> Response:
    try:
        service = _service(request, "facebook")
    except Refused as refusal:
        return _refused(refusal)
    challenge = service.facebook_verify(dict(request.query_params))
    service.count("facebook", "verified" if challenge is not None else "verify_token_mismatch")
    if challenge is None:
        return _answer(403, "verify_token_mismatch")
    return PlainTextResponse(challenge)


@router.post("/facebook")
async def facebook_deliver(request: Request) -> Response:
    try:
        service = _service(request, "facebook")
        body = await _delivery_body(request, service, "facebook")
    except Refused as refusal:
        return _refused(refusal)
    try:
        done = await service.facebook_deliver(body, request.headers, service.clock())
    except (StorageError, WorkerError, FetchError):  # not stored: Facebook delivers again
        service.count("facebook", "not_stored")
        return _answer(503, "not_stored")
    service.count("facebook", done.reason)
    report = done.report
    counts = {"new": len(report.new), "updated": len(report.updated)} if report else {}
    return _answer(done.status, done.reason, **counts)
