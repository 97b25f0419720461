"""The user's own settings: the time zone every page shows times in.

Any logged-in user may set their own zone (a viewer too: it changes nothing but their
pages), with the session's CSRF token. Blank goes back to the default: the on-call
schedule's zone, else the zone the browser reports (``static/app.js`` sets it as a
cookie), else UTC.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from monitor import accounts
from monitor.accounts import Principal
from monitor.clock import known_zones
from monitor.errors import AccountError
from monitor.storage.db import session_scope
from monitor.web.auth import member, reader
from monitor.web.context import WebContext, web_context

router = APIRouter(include_in_schema=False)

ORIGINS = {
    "chosen": "your setting",
    "schedule": "the on-call schedule's zone",
    "browser": "the zone this browser reports",
    "utc": "no zone is known",
}


def _page(
    request: Request, web: WebContext, principal: Principal, status: int = 200, **kw: Any
) -> Response:
    default = web.viewer_zone(request, chosen=False)
    return web.render(
        request,
        "settings.html",
        status=status,
        current=web.viewer_zone(request),
        default=default,
        chosen=principal.timezone or "",
        zones=known_zones(),
        origins=ORIGINS,
        **kw,
    )


@router.get("/settings")
def settings_page(
    request: Request,
    done: str = "",
    principal: Principal = Depends(reader),
    web: WebContext = Depends(web_context),
) -> Response:
    saved = "Saved. Every page now shows times in this zone." if done == "timezone" else None
    return _page(request, web, principal, done=saved)


@router.post("/settings")
def settings_submit(
    request: Request,
    timezone: str = Form("", max_length=200),
    principal: Principal = Depends(member),
    web: WebContext = Depends(web_context),
) -> Response:
    try:
        with session_scope(web.engine) as session:
            accounts.set_timezone(session, principal.name, timezone)
    except AccountError as error:
        return _page(request, web, principal, 400, error=str(error), typed=timezone)
    return RedirectResponse("/settings?done=timezone", status_code=303)
