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
from markupsafe import Markup
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
    incident_headline,
    iso,
    language,
    num,
    pct,
    times_usual,
    viewer_zone,
    when,
)
from monitor.web.i18n import DEFAULT, negotiate, translations
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
        extensions=["jinja2.ext.i18n"],
    )
    # {% trans %} and _() call the request's gettext (in every page's values) with the
    # variables as keywords, so the catalogue's "%(name)s" is filled in after escaping.
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    env.policies["ext.i18n.trimmed"] = True  # msgids without the template's indentation
    env.filters.update(
        when=_when,
        iso=iso,
        pct=_localised(pct),
        num=_localised(num),
        seg=lambda value: quote(str(value), safe=""),
        href=http_url,
        duration=_localised(duration),
        times_usual=_localised(times_usual),
        chance=_localised(chance),
        language=_localised(language),
        headline=_localised(incident_headline),
    )
    return env


@jinja2.pass_context
def _when(context: jinja2.runtime.Context, value: Any) -> str:
    """``when`` in the zone and language the page is rendered for (``zone`` and
    ``locale`` in every page's values)."""
    return when(value, context.get("zone") or UTC, context.get("locale") or DEFAULT)


def _localised(function: Callable[..., str]) -> Callable[..., str]:
    """A format function as a filter that passes the page's ``locale`` in."""

    @jinja2.pass_context
    def filter_(context: jinja2.runtime.Context, *args: Any) -> str:
        return function(*args, locale=context.get("locale") or DEFAULT)

    return filter_


def _gettexts(locale: str) -> dict[str, Any]:
    """The newstyle ``gettext``/``ngettext`` a page's ``{% trans %}`` calls: the message
    from the locale's catalogue, made markup so the ``%(name)s`` values are escaped."""
    catalogue = translations(locale)

    def gettext(message: str, **values: Any) -> Markup:
        return Markup(catalogue.gettext(message)) % values  # every template autoescapes

    def ngettext(singular: str, plural: str, n: int, **values: Any) -> Markup:
        values.setdefault("num", n)
        return Markup(catalogue.ngettext(singular, plural, n)) % values

    def say(sentence: str) -> str:
        """One of our own sentences held in a value (a link's verdict): translated, and
        escaped like any value."""
        return catalogue.gettext(sentence)

    return {"gettext": gettext, "ngettext": ngettext, "say": say}


@dataclass
class WebContext:
    settings: Settings
    engine: Engine
    clock: Callable[[], datetime]
    policy: AccountPolicy
    ack_key: bytes
    templates: jinja2.Environment = field(default_factory=_environment)
    # the daemon's loaded encoder when it runs the web UI (monitor/daemon.py)
    lent_encoder: Callable[[], Encoder | None] | None = field(default=None, repr=False)
    _encoder: Encoder | None = field(default=None, repr=False)  # built on first use
    _encoder_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def encoder(self) -> Encoder:
        """The classifier's encoder for storm themes: the daemon's, once it has loaded one
        (its cache holds the passages just read), else our own, built once and cached (its
        model loads lazily)."""
        from classifiers.cache import CachedEncoder
        from classifiers.e5.backend import encoder_from_settings

        lent = self.lent_encoder() if self.lent_encoder is not None else None
        if lent is not None:
            return lent
        with self._encoder_lock:
            if self._encoder is None:
                self._encoder = CachedEncoder(encoder_from_settings(self.settings.classifier))
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

    def locale(self, request: Request) -> str:
        """The language this request's pages are in: the user's setting, else the
        browser's ``Accept-Language``, else English."""
        principal: Principal | None = getattr(request.state, "principal", None)
        chosen = principal.language if principal else None
        return negotiate(chosen, request.headers.get("accept-language"))

    def say(self, request: Request, message: str, **values: Any) -> str:
        """``message`` in the request's language, ``%(name)s`` filled from ``values``."""
        found = translations(self.locale(request)).gettext(message)
        return found % values if values else found

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
        locale = self.locale(request)
        page = self.templates.get_template(template).render(
            principal=principal,
            path=request.url.path,
            now=now,
            zone=self.zone(request),
            locale=locale,
            ago=lambda value: ago(value, now, locale),
            **_gettexts(locale),
            # the urgency the queue sorts by (faded with age), on every page the same number
            urgency_now=lambda row: num(decayed(row.urgency, row.published_at, now), 2, locale),
            **values,
        )
        return HTMLResponse(
            page,
            status_code=status,
            headers={"Content-Language": locale, "Vary": "Accept-Language", **(headers or {})},
        )


def web_context(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.web
    return ctx
