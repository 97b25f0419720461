"""The web UI and JSON API: FastAPI, Jinja2 (autoescape everywhere) and htmx from the package.

- ``app.create_app(settings, engine, clock=..., policy=..., ack_key=...)``: the application;
- ``server.serve(app, bind, stop)``: uvicorn inside the daemon's event loop;
- ``security``: headers on every response, CSRF, origin and redirect checks;
- ``auth``: who is asking (session cookie) and may they change things;
- ``routes_auth`` (login/logout, /healthz), ``routes_pages`` (HTML), ``routes_api`` (/api/v1);
- ``routes_tap`` (a page's one-tap acknowledge link, no login), ``routes_hooks``
  (PagerDuty's signed webhook);
- ``chart``: the incident chart as server-side SVG; ``format``: how pages show
  times and numbers; ``params``: what a request asks for.

Post content is untrusted: it only ever reaches a page through autoescaped templates, and
links to originals only when their scheme is http(s).
"""

from monitor.web.app import create_app
from monitor.web.server import listen, serve

__all__ = ["create_app", "listen", "serve"]
