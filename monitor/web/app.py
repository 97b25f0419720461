"""``create_app``: the web UI and JSON API as one FastAPI application.

Public without a session: ``/login``, ``/static/*``, ``/healthz``, a page's one-tap
links (``/tap/...``: the link's signed token is the permission, routes_tap.py),
``/hooks/pagerduty`` (a signed webhook, routes_hooks.py) and the push endpoints
(``/push/...``: signed deliveries, routes_push.py). Everything else needs one (pages
redirect to the login form, the API answers 401). The OpenAPI document is at
``/api/openapi.json`` for logged-in users; no docs UI is served (it would load from a CDN).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI
from sqlalchemy.engine import Engine
from starlette.staticfiles import StaticFiles

from alerts.pagerduty_webhook import MAX_BODY_BYTES as WEBHOOK_MAX_BYTES
from monitor.accounts import AccountPolicy, Principal
from monitor.settings import Settings
from monitor.web import (
    errors,
    routes_api,
    routes_auth,
    routes_hooks,
    routes_pages,
    routes_push,
    routes_settings,
    routes_tap,
    routes_themes,
    routes_trends,
)
from monitor.web.auth import reader
from monitor.web.context import WebContext
from monitor.web.security import MAX_BODY_BYTES, SecurityHeaders, own_host_names
from monitor.web.server import split_bind

if TYPE_CHECKING:
    from classifiers.base import Encoder

log = logging.getLogger("stormwatch.web")

STATIC = Path(__file__).parent / "static"
# max_fields: the queue's bulk form carries a field per ticked post, a page at most 200.
FORM_LIMITS: Any = {"max_fields": 250, "max_files": 0, "max_part_size": 100_000}


def utc_now() -> datetime:
    return datetime.now(UTC)


def ack_key_of(settings: Settings) -> bytes | None:
    """The acknowledge-link key exactly as the paging stage derives it (monitor.stages.page)."""
    key = settings.web.secret_key
    return key.reveal().encode() if key else None


def create_app(
    settings: Settings,
    engine: Engine,
    *,
    clock: Callable[[], datetime] = utc_now,
    policy: AccountPolicy | None = None,
    ack_key: bytes | None = None,
    encoder: Callable[[], Encoder | None] | None = None,
) -> FastAPI:
    """The application. ``ack_key``: pass the paging stage's key when ``[web] secret_key``
    is unset (it is then random per process, and links only verify in that process).
    ``encoder``: the daemon's loaded encoder, lent for storm themes (its cache holds the
    passages the classify stage read)."""
    key = ack_key or ack_key_of(settings)
    if key is None:
        log.warning("[web] secret_key is not set: acknowledge links from pages will not verify")
        key = secrets.token_bytes(32)
    app = FastAPI(
        title="Stormwatch",
        summary="Complaint storms: incidents, the triage queue, sources and on-call.",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served below, behind a session
    )
    app.state.web = WebContext(settings, engine, clock, policy or AccountPolicy(), key)
    app.state.web.lent_encoder = encoder
    errors.install(app)
    routers = (
        routes_auth.router,
        routes_auth.api,
        routes_api.router,
        routes_tap.router,
        routes_pages.router,
        routes_settings.router,
    )
    for router in routers:
        # Per route, so the refusal passes through SecurityHeaders (an app-wide limit
        # would answer from outside it). Catches bodies without Content-Length too.
        app.include_router(router, max_body_size=MAX_BODY_BYTES, form_limits=FORM_LIMITS)
    app.include_router(routes_hooks.router, max_body_size=WEBHOOK_MAX_BYTES)
    for mine in (routes_themes.router, routes_trends.router):  # issue 23's pages
        app.include_router(mine, max_body_size=MAX_BODY_BYTES, form_limits=FORM_LIMITS)
    app.include_router(routes_push.router)  # public; its own body cap and rate limit
    _openapi_route(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    web = settings.web
    hosts = own_host_names(split_bind(web.bind)[0], web.public_url, web.allowed_hosts)
    app.add_middleware(SecurityHeaders, hosts=hosts)
    return app


def _openapi_route(app: FastAPI) -> None:
    @app.get("/api/openapi.json", include_in_schema=False)
    def openapi(principal: Principal = Depends(reader)) -> dict[str, Any]:
        return app.openapi()
