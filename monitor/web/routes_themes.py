"""What an incident is about, as a fragment the incident page loads after it is shown.

``GET /incident-themes/{id}``: the incident's themes (``monitor.themes``) or the one
sentence saying why there are none. Separate from the incident page because grouping may
have to embed posts: the page itself never waits on the model.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from monitor.accounts import Principal
from monitor.queue import incidents
from monitor.storage.db import read_scope
from monitor.themes import incident_themes
from monitor.web.auth import reader
from monitor.web.context import WebContext, web_context
from monitor.web.routes_pages import post_url

router = APIRouter(include_in_schema=False)


@router.get("/incident-themes/{incident_id:path}")
def incident_themes_fragment(
    request: Request,
    incident_id: str,
    principal: Principal = Depends(reader),
    web: WebContext = Depends(web_context),
) -> Response:
    with read_scope(web.engine) as session:
        detail = incidents.get_incident(session, incident_id, web.clock())
    found, problem = incident_themes(detail.posts, detail.view.brand, web.encoder)
    return web.render(
        request,
        "_themes_list.html",
        themes=found,
        problem=problem,
        incident=detail.view,
        post_url=post_url,
    )
