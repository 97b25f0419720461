"""What every route needs: settings, database, clock, account policy, ack key, templates.

Templates are rendered by one ``jinja2.Environment`` with autoescape on for every file
(post titles, text, authors, URLs and source names are untrusted); no template uses
``|safe``. The only markup produced in Python is the SVG chart (``chart.py``), built from
numbers and escaped text.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import jinja2
from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.responses import HTMLResponse

from monitor.accounts import AccountPolicy, Principal
from monitor.queue.ranking import decayed
from monitor.settings import Settings
from monitor.web.format import (
    ViewerZone,
    ago,
    chance,
    duration,
    iso,
    language,
    num,
    pct,
    times_usual,
    viewer_zone,
    when,
)
from monitor.web.security import http_url

if TYPE_CHECKING:
    from classifiers.base import Encoder

# The zone the browser reports (Intl's resolvedOptions().timeZone), set by static/app.js:
# the default when neither the user nor an on-call schedule names one.
ZONE_COOKIE = "stormwatch_tz"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("monitor.web", "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=_when,
        iso=iso,
        pct=pct,
        num=num,
        seg=lambda value: quote(str(value), safe=""),
        href=http_url,
        duration=duration,
        times_usual=times_usual,
        chance=chance,
        language=language,
    )
    return env


@jinja2.pass_context
def _when(context: jinja2.runtime.Context, value: Any) -> str:
    """``when`` in the zone the page is rendered for (``zone`` in every page's values)."""
    return when(value, context.get("zone") or UTC)


@dataclass
class WebContext:
    settings: Settings
    engine: Engine
    clock: Callable[[], datetime]
    policy: AccountPolicy
    ack_key: bytes
    templates: jinja2.Environment = field(default_factory=_environment)
    _encoder: Encoder | None = field(default=None, repr=False)  # built on first use
    _encoder_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def encoder(self) -> Encoder:
        """The classifier's encoder for storm themes, built once (its model loads lazily)."""
        from classifiers.e5.backend import encoder_from_settings

        with self._encoder_lock:
            if self._encoder is None:
                self._encoder = encoder_from_settings(self.settings.classifier)
            return self._encoder

    def viewer_zone(self, request: Request, chosen: bool = True) -> ViewerZone:
        """The zone this request's pages show times in: the user's setting, else the
        on-call schedule's, else the browser's (its cookie), else UTC. ``chosen=False``:
        the default, what applies without the user's setting."""
        principal: Principal | None = getattr(request.state, "principal", None)
        return viewer_zone(
            principal.timezone if principal and chosen else None,
            [s.timezone for s in self.settings.oncall.schedules],
            request.cookies.get(ZONE_COOKIE),
        )

    def zone(self, request: Request) -> tzinfo:
        return self.viewer_zone(request).zone

    @property
    def secure_cookies(self) -> bool:
        return (self.settings.web.public_url or "").lower().startswith("https://")

    def render(
        self,
        request: Request,
        template: str,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        **values: Any,
    ) -> HTMLResponse:
        principal: Principal | None = getattr(request.state, "principal", None)
        now = self.clock()
        page = self.templates.get_template(template).render(
            principal=principal,
            path=request.url.path,
            now=now,
            zone=self.zone(request),
            ago=lambda value: ago(value, now),
            # the urgency the queue sorts by (faded with age), on every page the same number
            urgency_now=lambda row: f"{decayed(row.urgency, row.published_at, now):.2f}",
            **values,
        )
        return HTMLResponse(page, status_code=status, headers=dict(headers or {}))


def web_context(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.web
    return ctx
