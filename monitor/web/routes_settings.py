"""The user's own settings: the time zone every page shows times in and the language pages
are in.

Any logged-in user may set their own zone (a viewer too: it changes nothing but their
pages), with the session's CSRF token. Blank goes back to the default: the on-call
schedule's zone, else the zone the browser reports (``static/app.js`` sets it as a
cookie), else UTC; for the language, the browser's Accept-Language, else English.
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
from monitor.web.i18n import N_, NAMES, negotiate

router = APIRouter(include_in_schema=False)

# The language choice that follows the browser (a blank form value reads as "not sent").
AUTOMATIC = "auto"
# Where the zone came from, in words (marked for the catalogue, translated on the page).
ORIGINS = {
    "chosen": N_("your setting"),
    "schedule": N_("the on-call schedule's zone"),
    "browser": N_("the zone this browser reports"),
    "utc": N_("no zone is known"),
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
        origins={key: web.say(request, said) for key, said in ORIGINS.items()},
        languages=NAMES,
        chosen_language=principal.language or "",
        browser_language=negotiate(None, request.headers.get("accept-language")),
        **kw,
    )


@router.get("/settings")
def settings_page(
    request: Request,
    done: str = "",
    principal: Principal = Depends(reader),
    web: WebContext = Depends(web_context),
) -> Response:
    saved = {
        "timezone": web.say(request, "Saved. Every page now shows times in this zone."),
        "language": web.say(request, "Saved. Pages are now in this language."),
    }.get(done)
    return _page(request, web, principal, done=saved)


@router.post("/settings")
def settings_submit(
    request: Request,
    timezone: str = Form("", max_length=200),
    language: str | None = Form(None, max_length=20),
    principal: Principal = Depends(member),
    web: WebContext = Depends(web_context),
) -> Response:
    """Saves the zone, and the language when the form sends one (a form without the field
    leaves it as it was). The redirect's page is in the language just chosen."""
    if language is not None and language.strip() == AUTOMATIC:
        language = ""  # back to the browser's
    changed = language is not None and (language.strip() or None) != principal.language
    try:
        with session_scope(web.engine) as session:
            accounts.set_timezone(session, principal.name, timezone)
            if language is not None:
                accounts.set_language(session, principal.name, language)
    except AccountError as error:
        return _page(request, web, principal, 400, error=str(error), typed=timezone)
    done = "language" if changed else "timezone"
    return RedirectResponse(f"/settings?done={done}", status_code=303)
