"""The JSON API under ``/api/v1``: the same services and rules as the pages.

Authentication is the session cookie (``POST /api/v1/login``); every change needs the
``X-CSRF-Token`` header (``GET /api/v1/me`` returns it) and a triage role. Errors are
``{"error": sentence, "kind": name}``: 400 invalid_input, 401 unauthenticated, 403
forbidden / csrf, 404 not_found, 409 invalid_transition, 429 rate_limited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from monitor.accounts import Principal
from monitor.queue import health, incidents, service
from monitor.storage.db import read_scope, session_scope
from monitor.themes import incident_themes
from monitor.web.auth import reader, triager
from monitor.web.context import WebContext, web_context
from monitor.web.errors import WebError
from monitor.web.params import QueueParams, queue_params, since_param
from monitor.web.routes_auth import Me, me_of


class ErrorBody(BaseModel):
    error: str = Field(description="One sentence for people.")
    kind: str = Field(description="A name for programs, e.g. not_found.")


class ActionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee: str | None = Field(None, max_length=200, description="For assign.")
    note: str | None = Field(None, max_length=service.MAX_NOTE)
    label: str | None = Field(None, description="For relabel: complaint | not_complaint.")


class PostKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    post_id: str = Field(max_length=100)
    brand: str = Field(max_length=200)


class BulkBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: str = Field(description="ack, assign, resolve or dismiss.", max_length=20)
    posts: list[PostKey] = Field(max_length=service.MAX_BULK)
    assignee: str | None = Field(None, max_length=200, description="For assign.")


class QueuePageBody(BaseModel):
    total: int
    limit: int
    offset: int
    rows: list[dict[str, Any]]


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409)
}
router = APIRouter(prefix="/api/v1", responses=ERRORS)
Dicts = list[dict[str, Any]]


@router.get("/me", response_model=Me, tags=["session"])
def me(principal: Principal = Depends(reader)) -> Me:
    return me_of(principal)


# --- incidents -------------------------------------------------------------------------------


@router.get("/incidents", tags=["incidents"])
def list_incidents(
    status: str = Query("open", max_length=20, description="open, all, or one status"),
    brand: str = Query("", max_length=200),
    principal: Principal = Depends(reader),
    web: WebContext = Depends(web_context),
) -> Dicts:
    with read_scope(web.engine) as session:
        return [v.to_dict() for v in incidents.list_incidents(session, status, brand or None)]


def _incident_action(action: str) -> Any:
    def perform(
        incident_id: str,
        principal: Principal = Depends(triager),
        web: WebContext = Depends(web_context),
    ) -> dict[str, Any]:
        with session_scope(web.engine) as session:
            return incidents.act(
                session, incident_id, action, principal.name, web.clock()
            ).to_dict()

    perform.__doc__ = f"{action.capitalize()} an incident (X-CSRF-Token required)."
    return perform


for _action in incidents.INCIDENT_ACTIONS:
    router.add_api_route(
        f"/incidents/{{incident_id:path}}/{_action}",
        _incident_action(_action),
        methods=["POST"],
        tags=["incidents"],
        name=f"api_incident_{_action}",
    )


@router.get("/incidents/{incident_id:path}", tags=["incidents"])
def get_incident(
    incident_id: str,
    themes: bool = Query(False, description="Also what the storm is about (themes)."),
    principal: Principal = Depends(reader),
    web: WebContext = Depends(web_context),
) -> dict[str, Any]:
    with read_scope(web.engine) as session:
        detail = incidents.get_incident(session, incident_id, web.clock())
    if not themes:
        return detail.to_dict()
    found, problem = incident_themes(detail.posts, detail.view.brand, web.encoder)
    themes_json = None if problem else [t.to_dict() for t in found]
    return {**detail.to_dict(), "themes": themes_json, "themes_error": problem or None}


# --- the queue -------------------------------------------------------------------------------


@router.get("/queue", response_model=QueuePageBody, tags=["queue"])
def list_queue(
    params: QueueParams = Depends(queue_params),
    principal: Principal = Depends(reader),
    web: WebContext = Depends(web_context),
) -> QueuePageBody:
    flt = params.to_filter(web.clock())
    with read_scope(web.engine) as session:
        page = service.list_queue(session, flt)
    rows = [r.to_dict() for r in page.rows]
    return QueuePageBody(total=page.total, limit=flt.limit, offset=flt.offset, rows=rows)


@router.get("/queue/{post_id}/{brand:path}", tags=["queue"])
def get_item(
    post_id: str,
    brand: str,
    principal: Principal = Depends(reader),
    web: WebContext = Depends(web_context),
) -> dict[str, Any]:
    with read_scope(web.engine) as session:
        return service.get_item(session, post_id, brand).to_dict()


@router.post("/queue/bulk", tags=["queue"])
def act_bulk(
    body: BulkBody,
    principal: Principal = Depends(triager),
    web: WebContext = Depends(web_context),
) -> dict[str, Any]:
    """One action on many posts: how many changed, and the posts left as they were by
    reason (``{"cannot acknowledge a post that is resolved": 2}``)."""
    keys = [(p.post_id, p.brand) for p in body.posts]
    with session_scope(web.engine) as session:
        outcome = service.act_many(
            session, keys, body.action, principal.name, web.clock(), assignee=body.assignee
        )
    return {"action": outcome.action, "changed": outcome.changed, "left": outcome.left}


@router.post("/queue/{post_id}/{brand:path}/{action}", tags=["queue"])
def act(
    post_id: str,
    brand: str,
    action: str,
    body: ActionBody | None = Body(None),
    principal: Principal = Depends(triager),
    web: WebContext = Depends(web_context),
) -> dict[str, Any]:
    """One triage action: ack, assign, respond, resolve, dismiss, reopen, note, relabel."""
    if action not in service.ACTIONS:
        raise WebError(404, "not_found", f"there is no action {action!r}")
    body = body or ActionBody()
    with session_scope(web.engine) as session:
        row = service.act(
            session,
            post_id,
            brand,
            action,
            principal.name,
            web.clock(),
            assignee=body.assignee,
            note=body.note,
            label=body.label,
        )
    return row.to_dict()


# --- operators -------------------------------------------------------------------------------


@router.get("/sources", tags=["operators"])
def sources(
    principal: Principal = Depends(reader), web: WebContext = Depends(web_context)
) -> Dicts:
    with read_scope(web.engine) as session:
        return health.sources(session, web.settings, web.clock())


@router.get("/oncall", tags=["operators"])
def oncall(principal: Principal = Depends(reader), web: WebContext = Depends(web_context)) -> Dicts:
    return health.oncall(web.settings, web.clock())


@router.get("/response-times", tags=["queue"])
def response_times(
    span: tuple[datetime | None, datetime | None] = Depends(since_param),
    principal: Principal = Depends(reader),
    web: WebContext = Depends(web_context),
) -> Dicts:
    with read_scope(web.engine) as session:
        return [r.to_dict() for r in service.response_times(session, *span)]
