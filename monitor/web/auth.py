"""Who is asking, and may they do this: the dependencies every route declares.

- ``reader``: a valid server-side session (cookie ``stormwatch_session``), else 401 (the
  error handler turns that into a redirect to the login page for HTML routes).
- ``member``: ``reader`` plus a state change's proof: same origin and the session's CSRF
  token (form field ``csrf_token`` or header ``X-CSRF-Token``). Logout needs only this.
- ``triager``: ``member`` whose role may triage (manager, admin); a viewer gets 403.

The CSRF check comes before the role check, so a forged request learns nothing about the
victim's role.
"""

from __future__ import annotations

from fastapi import Depends, Request
from starlette.responses import Response

from monitor import accounts
from monitor.accounts import Principal
from monitor.storage.db import session_scope
from monitor.web.context import WebContext, web_context
from monitor.web.errors import WebError
from monitor.web.security import CHANGING_METHODS, same_origin, submitted_csrf

SESSION_COOKIE = "stormwatch_session"


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE)


def reader(request: Request, web: WebContext = Depends(web_context)) -> Principal:
    """The logged-in principal (any role may read)."""
    token = session_token(request)
    principal = None
    if token:
        with session_scope(web.engine) as session:
            principal = accounts.resolve_session(session, token, web.clock(), web.policy)
    if principal is None or not principal.can("read"):
        raise WebError(401, "unauthenticated", "log in first")
    request.state.principal = principal
    return principal


async def member(
    request: Request,
    principal: Principal = Depends(reader),
    web: WebContext = Depends(web_context),
) -> Principal:
    """A logged-in principal whose state-changing request proves it came from our pages."""
    await require_proof(request, principal, web)
    return principal


async def triager(principal: Principal = Depends(member)) -> Principal:
    if not principal.can("triage"):
        raise WebError(403, "forbidden", f"your role ({principal.role}) can only read")
    return principal


async def require_proof(request: Request, principal: Principal, web: WebContext) -> None:
    if request.method not in CHANGING_METHODS:
        return
    if not same_origin(request, web.settings.web.public_url):
        raise WebError(403, "csrf", "this request came from another site and was refused")
    if not accounts.check_csrf(principal, await submitted_csrf(request)):
        raise WebError(403, "csrf", "the form has expired; reload the page and try again")


def set_session_cookie(response: Response, token: str, web: WebContext) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(web.policy.absolute_timeout.total_seconds()),
        path="/",
        secure=web.secure_cookies,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, web: WebContext) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=web.secure_cookies, httponly=True, samesite="lax"
    )


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None
