"""One tap from a page: the personal acknowledge link, without a login.

``GET /tap/{action}/{incident}?token=...`` is what the link in a page to one person opens:
the incident's headline, brand and when it began — never a post (reading posts still
needs a login) — and one button. It changes nothing: mail scanners and link previews
fetch links. ``POST`` to the same address, with the token in the form, acts as the person
the link was sent to, once (``monitor.queue.acks.act_by_link``), then shows the same page
again (Post/Redirect/Get), now saying who acted and when. A link that is damaged, expired,
for another incident or action, sent to a shared channel, or already used gets a page
that says which (400, or 409 for a second use) and changes nothing; such a page shows no
incident at all, since the address alone (an incident id) proves nothing.

CSRF: there is no session for a forged request to ride on. The POST must carry the token,
which is signed, bound to the incident, the person and the action, short-lived and spent
by its first use: a site that could forge the request would need the token, which is the
whole power already. Browsers' own cross-site signals (``Sec-Fetch-Site``, ``Origin``)
are checked as for every other change (``security.same_origin``).
"""

from __future__ import annotations

import logging
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

from alerts.ack import ACTIONS, TAP_PREFIX, AckCheck, verify_tap
from monitor.errors import QueueError
from monitor.queue import acks, incidents
from monitor.storage.db import read_scope, session_scope
from monitor.storage.models import IncidentRow
from monitor.web.context import WebContext, web_context
from monitor.web.errors import WebError
from monitor.web.security import same_origin

log = logging.getLogger("stormwatch.web")

router = APIRouter(include_in_schema=False)

VERBS = {"ack": "Acknowledge", "resolve": "Resolve"}
USED: AckCheck = AckCheck(False, "used")


def tap_path(action: str, incident_id: str) -> str:
    return f"{TAP_PREFIX}/{action}/{quote(incident_id, safe='')}"


def _check(web: WebContext, token: str, incident_id: str, action: str) -> AckCheck:
    return verify_tap(web.ack_key, token, incident_id, action, web.clock())


def _incident(session: Session, incident_id: str) -> incidents.IncidentView:
    row = session.get(IncidentRow, incident_id)
    if row is None:
        raise WebError(404, "not_found", "this incident no longer exists")
    return incidents.view(row)


def _page(
    request: Request, web: WebContext, action: str, check: AckCheck, status: int = 200, **kw: Any
) -> Response:
    values = {"incident": None, "use": None, "token": ""} | kw
    return web.render(
        request, "tap.html", status=status, action=action, verb=VERBS[action], check=check, **values
    )


def _shown(
    request: Request,
    web: WebContext,
    incident_id: str,
    action: str,
    check: AckCheck,
    token: str,
    status: int = 200,
) -> Response:
    """The page of a valid link: the incident's headline and what the link did or will do."""
    values = {"token": token, "target": tap_path(action, incident_id)}
    with read_scope(web.engine) as session:  # the use row is read while rendering
        incident = _incident(session, incident_id)
        use = acks.link_use(session, check.token_id)
        return _page(request, web, action, check, status, incident=incident, use=use, **values)


def _add_tap_action(action: str) -> None:
    path = f"{TAP_PREFIX}/{action}/{{incident_id:path}}"

    def confirm(
        request: Request,
        incident_id: str,
        token: str = Query("", max_length=2000),
        web: WebContext = Depends(web_context),
    ) -> Response:
        """What the link will do (or did), and one button; changes nothing."""
        check = _check(web, token, incident_id, action)
        if not check.ok:
            return _page(request, web, action, check, 400)
        return _shown(request, web, incident_id, action, check, token)

    def perform(
        request: Request,
        incident_id: str,
        token: str = Form("", max_length=2000),
        web: WebContext = Depends(web_context),
    ) -> Response:
        """Acts as the person the link was sent to, once."""
        if not same_origin(request, web.settings.web.public_url):
            raise WebError(403, "csrf", "this request came from another site and was refused")
        check = _check(web, token, incident_id, action)
        if not check.ok:
            return _page(request, web, action, check, 400)
        outcome = _act(web, incident_id, action, check)
        if outcome == "used":
            return _page(request, web, action, USED, 409)
        if outcome == "moot":  # decided first by someone else: the page says by whom
            return _shown(request, web, incident_id, action, check, token, 409)
        log.info(
            "incident decided with a one-tap link",
            extra={"incident": incident_id, "action": action, "person": check.person},
        )
        return RedirectResponse(f"{tap_path(action, incident_id)}?token={token}", status_code=303)

    router.add_api_route(path, confirm, methods=["GET"], name=f"tap_{action}_confirm")
    router.add_api_route(path, perform, methods=["POST"], name=f"tap_{action}")


def _act(
    web: WebContext, incident_id: str, action: str, check: AckCheck
) -> Literal["acted", "used", "moot"]:
    """``acted``; else nothing changed: the link had acted (``used``) or the incident was
    already decided (``moot``)."""
    try:
        with session_scope(web.engine) as session:
            return acks.act_by_link(session, incident_id, action, check, web.clock())
    except QueueError as exc:
        if exc.kind == "not_found":
            raise WebError(404, "not_found", "this incident no longer exists") from None
        return "moot"


for _action in ACTIONS:
    _add_tap_action(_action)
