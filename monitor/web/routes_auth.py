"""Logging in and out (pages and API), and ``/healthz``.

The login form has no session to carry a CSRF token yet, so it uses a double-submit
cookie: GET /login sets a random ``stormwatch_login_csrf`` cookie and puts the same value
in a hidden field; POST /login requires both to match (constant time) and the Origin to be
ours. A successful login always issues a fresh session token (any cookie sent before is
replaced, and its session revoked): no session fixation.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, RedirectResponse, Response

from monitor import accounts
from monitor.accounts import Principal
from monitor.errors import LoginRefused
from monitor.storage.db import session_scope
from monitor.web.auth import (
    clear_session_cookie,
    client_address,
    member,
    session_token,
    set_session_cookie,
)
from monitor.web.context import WebContext, web_context
from monitor.web.errors import WebError
from monitor.web.i18n import DEFAULT, translations
from monitor.web.security import (
    LOGIN_CSRF_COOKIE,
    new_login_token,
    safe_next,
    same_origin,
    tokens_match,
)

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["session"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/incidents", status_code=303)


@router.get("/login")
def login_form(
    request: Request, next: str = "", web: WebContext = Depends(web_context)
) -> Response:
    return _form(request, web, safe_next(next), status=200)


def _form(
    request: Request, web: WebContext, next_path: str, status: int, **values: Any
) -> Response:
    token = new_login_token()
    response = web.render(
        request, "login.html", status=status, login_token=token, next=next_path, **values
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/login",
        secure=web.secure_cookies,
        httponly=True,
        samesite="strict",
    )
    return response


@router.post("/login")
def login_submit(
    request: Request,
    name: str = Form("", max_length=200),
    password: str = Form("", max_length=1024),
    csrf_token: str = Form(""),
    next: str = Form(""),
    web: WebContext = Depends(web_context),
) -> Response:
    target = safe_next(next)
    if not same_origin(request, web.settings.web.public_url) or not tokens_match(
        request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token
    ):
        error = web.say(request, "The login form expired. Please try again.")
        return _form(request, web, target, status=403, error=error, name=name)
    try:
        token = _login(request, web, name, password)
    except LoginRefused as refused:
        status, headers = _refusal(refused)
        response = _form(
            request,
            web,
            target,
            status=status,
            error=_sentence(refused, web.locale(request)),
            name=name,
        )
        response.headers.update(headers)
        return response
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, token, web)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


def _login(request: Request, web: WebContext, name: str, password: str) -> str:
    """Log in (revoking the session of any cookie the browser already had)."""
    now = web.clock()
    with session_scope(web.engine) as session:
        token, _ = accounts.login(session, name, password, client_address(request), now, web.policy)
        old = session_token(request)
        if old:
            accounts.logout(session, old, now)
    return token


def _refusal(refused: LoginRefused) -> tuple[int, dict[str, str]]:
    if refused.reason == "rate_limited":
        return 429, {"Retry-After": str(int(refused.retry_after or 60))}
    return 401, {}


def _sentence(refused: LoginRefused, locale: str = DEFAULT) -> str:
    """Why the login was refused, in ``locale`` (the API's stays English)."""
    tr = translations(locale)
    if refused.reason == "rate_limited":
        wait = _wait_text(refused.retry_after or 60, locale)
        return tr.gettext("Too many failed logins. Try again in %(wait)s.") % {"wait": wait}
    return tr.gettext("Wrong user name or password.")


def _wait_text(seconds: float, locale: str = DEFAULT) -> str:
    """``8 s`` below a minute, else whole minutes rounded up."""
    if seconds < 60:
        return translations(locale).gettext("%(seconds)s s") % {
            "seconds": max(1, math.ceil(seconds))
        }
    return translations(locale).gettext("%(minutes)s min") % {"minutes": math.ceil(seconds / 60)}


@router.post("/logout")
def logout(
    request: Request,
    principal: Principal = Depends(member),
    web: WebContext = Depends(web_context),
) -> Response:
    _revoke(request, web)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, web)
    return response


def _revoke(request: Request, web: WebContext) -> None:
    token = session_token(request)
    if token:
        with session_scope(web.engine) as session:
            accounts.logout(session, token, web.clock())


# --- API ------------------------------------------------------------------------------------


class LoginBody(BaseModel):
    name: str = Field(max_length=200)
    password: str = Field(max_length=1024)


class Me(BaseModel):
    name: str
    role: str
    csrf_token: str = Field(description="Send it as X-CSRF-Token on every change.")
    can_triage: bool
    timezone: str | None = Field(
        None, description="The zone the user chose for pages (IANA); null: the default."
    )


def me_of(principal: Principal) -> Me:
    return Me(
        name=principal.name,
        role=principal.role,
        csrf_token=principal.csrf_token,
        can_triage=principal.can("triage"),
        timezone=principal.timezone,
    )


@api.post("/login", response_model=Me)
def api_login(
    request: Request, body: LoginBody, web: WebContext = Depends(web_context)
) -> Response:
    """Log in with JSON; sets the session cookie. A JSON body cannot be sent by a plain
    cross-site form, and the Origin (when sent) must be ours."""
    if not same_origin(request, web.settings.web.public_url):
        raise WebError(403, "csrf", "this request came from another site and was refused")
    try:
        token = _login(request, web, body.name, body.password)
    except LoginRefused as refused:
        status, headers = _refusal(refused)
        raise WebError(status, refused.reason, _sentence(refused), headers) from None
    with session_scope(web.engine) as session:
        principal = accounts.resolve_session(session, token, web.clock(), web.policy)
    assert principal is not None
    response = JSONResponse(me_of(principal).model_dump())
    set_session_cookie(response, token, web)
    return response


@api.post("/logout", status_code=204)
def api_logout(
    request: Request,
    principal: Principal = Depends(member),
    web: WebContext = Depends(web_context),
) -> Response:
    _revoke(request, web)
    response = Response(status_code=204)
    clear_session_cookie(response, web)
    return response
