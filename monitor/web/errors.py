"""One error shape for the web: ``WebError(status, kind, message)``.

API paths (``/api/...``) answer ``{"error": message, "kind": kind}``; pages answer an HTML
page with the same sentence, except 401, which sends a browser to the login page (with a
``next`` back to where it was, for GET requests). ``QueueError`` from the services maps
by kind: not_found 404, invalid_transition 409, invalid_input 400.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from monitor.errors import QueueError

if TYPE_CHECKING:
    from monitor.web.context import WebContext

QUEUE_STATUS = {"not_found": 404, "invalid_transition": 409, "invalid_input": 400}
HTTP_KINDS = {
    400: "invalid_input",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "invalid_transition",
    413: "too_large",
    429: "rate_limited",
}


class WebError(Exception):
    """A request refused with one sentence for people and a kind for programs."""

    def __init__(
        self, status: int, kind: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.kind = kind
        self.message = message
        self.headers = headers or {}
        super().__init__(message)


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_response(request: Request, error: WebError) -> Response:
    if is_api(request):
        body = {"error": error.message, "kind": error.kind}
        return JSONResponse(body, status_code=error.status, headers=error.headers)
    if error.status == 401:
        return login_redirect(request)
    web: WebContext = request.app.state.web
    # htmx swaps a 4xx into the part of the page it updates: the sentence alone, no layout
    template = "_error.html" if request.headers.get("hx-request") else "error.html"
    return web.render(request, template, status=error.status, headers=error.headers, error=error)


def login_redirect(request: Request) -> Response:
    target = "/login"
    if request.method in ("GET", "HEAD"):
        raw = request.scope.get("raw_path") or request.url.path.encode()
        here = raw.decode("latin-1") + (f"?{request.url.query}" if request.url.query else "")
        target += "?next=" + quote(here, safe="")  # as sent: an id may hold an escaped "/"
    if request.headers.get("hx-request"):  # htmx: reload the whole page at the login form
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every refusal into ``error_response``."""

    async def on_web_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, WebError)
        return error_response(request, exc)

    async def on_queue_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, QueueError)
        return error_response(request, WebError(QUEUE_STATUS[exc.kind], exc.kind, str(exc)))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        kind = HTTP_KINDS.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else kind
        headers = dict(exc.headers or {})
        return error_response(request, WebError(exc.status_code, kind, message, headers))

    async def on_invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(request, WebError(400, "invalid_input", _describe(exc)))

    app.add_exception_handler(WebError, on_web_error)
    app.add_exception_handler(QueueError, on_queue_error)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_invalid)


def _describe(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else err.get("msg", ""))
    return "; ".join(parts) or "invalid request"
