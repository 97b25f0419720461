"""The HTML pages: incidents, the queue, one post, sources, on call, exports.

Every page needs a session (``reader``); every change needs a triage role and the CSRF
token (``triager``). A change answers with a redirect back to the page it came from
(Post/Redirect/Get) carrying ``done=<action>``, shown as a fixed sentence; a refused
change shows the page again with the refusal and its status code. GET never changes
anything — link previews fetch the acknowledge links in pages.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from babel.support import NullTranslations
from fastapi import APIRouter, Depends, Form, Query, Request
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

from alerts.ack import AckCheck, verify_ack
from monitor import accounts
from monitor.accounts import Principal
from monitor.errors import QueueError
from monitor.queue import health, incidents, service
from monitor.storage.db import read_scope, session_scope
from monitor.storage.models import IncidentRow
from monitor.web.auth import reader, triager
from monitor.web.chart import summary as chart_summary
from monitor.web.chart import volume_chart
from monitor.web.context import WebContext, web_context
from monitor.web.errors import QUEUE_STATUS, WebError
from monitor.web.format import heading, passage
from monitor.web.i18n import N_, translations
from monitor.web.params import MAX_PAGE_SIZE, QueueParams, queue_params, since_of, since_param
from monitor.web.security import http_url

router = APIRouter(include_in_schema=False)

RECENT_RESOLVED = 20
INCIDENT_PREVIEW = 5  # the most urgent posts on the incident page; the queue pages the rest
DONE = {
    "ack": N_("Acknowledged."),
    "assign": N_("Assigned."),
    "respond": N_("Marked as answered."),
    "resolve": N_("Resolved."),
    "dismiss": N_("Dismissed."),
    "reopen": N_("Reopened."),
    "note": N_("Note added."),
    "relabel": N_("Label corrected. Thank you — it trains the classifier."),
}
OPEN_ACTIONS = ("ack", "assign", "respond", "resolve", "dismiss")
CLOSED_ACTIONS = ("reopen",)


def _done(request: Request, web: WebContext, done: str) -> str | None:
    """What the redirect's ``done`` says happened, in the viewer's language."""
    return web.say(request, DONE[done]) if done in DONE else None


def incident_url(incident_id: str, suffix: str = "") -> str:
    return f"/incidents/{quote(incident_id, safe='')}{suffix}"


def post_url(post_id: str, brand: str) -> str:
    return f"/posts/{quote(post_id, safe='')}/{quote(brand, safe='')}"


# --- incidents -------------------------------------------------------------------------------


@router.get("/incidents")
def incidents_page(
    request: Request,
    brand: str = Query("", max_length=200),
    principal: Principal = Depends(reader),
    web: WebContext = Depends(web_context),
) -> Response:
    with read_scope(web.engine) as session:
        found = incidents.list_incidents(session, "all", brand or None, web.zone(request))
    live = [v for v in found if v.status != "resolved"]
    resolved = [v for v in found if v.status == "resolved"][:RECENT_RESOLVED]
    return web.render(request, "incidents.html", live=live, resolved=resolved, brand=brand)


def _incident_page(
    request: Request, web: WebContext, incident_id: str, template: str, status: int = 200, **kw: Any
) -> Response:
    zone, locale = web.zone(request), web.locale(request)
    with read_scope(web.engine) as session:
        detail = incidents.get_incident(session, incident_id, web.clock(), zone)
    return web.render(
        request,
        template,
        status=status,
        detail=detail,
        incident=detail.view,
        chart=volume_chart(detail.series, detail.view.onset_at, zone, web.clock(), locale),
        chart_text=chart_summary(detail.series, zone, locale),
        post_url=post_url,
        incident_url=incident_url,
        queue_query=QueueParams(status="all", incident=incident_id).query(),
        INCIDENT_PREVIEW=INCIDENT_PREVIEW,
        **kw,
    )


@router.get("/incidents/{incident_id:path}/summary")
def incident_summary(
    request: Request,
    incident_id: str,
    principal: Principal = Depends(reader),
    web: WebContext = Depends(web_context),
) -> Response:
    return _incident_page(request, web, incident_id, "summary.html")


def _confirm_page(
    request: Request, web: WebContext, incident_id: str, action: str, token: str, check: AckCheck
) -> Response:
    return _incident_page(
        request,
        web,
        incident_id,
        "incident_confirm.html",
        status=200 if check.ok else 400,
        action=action,
        token=token,
        check=check,
    )


def _check(web: WebContext, token: str, incident_id: str, action: str) -> AckCheck:
    return verify_ack(web.ack_key, token, incident_id, action, web.clock())


def _add_incident_action(action: str) -> None:
    path = f"/incidents/{{incident_id:path}}/{action}"

    def confirm(
        request: Request,
        incident_id: str,
        token: str = Query("", max_length=2000),
        principal: Principal = Depends(reader),
        web: WebContext = Depends(web_context),
    ) -> Response:
        """The page a link in a page opens: says what will happen, changes nothing.
        Without a token it is just the session's own confirmation."""
        check = _check(web, token, incident_id, action) if token else AckCheck(True, "valid")
        return _confirm_page(request, web, incident_id, action, token, check)

    def perform(
        request: Request,
        incident_id: str,
        token: str = Form("", max_length=2000),
        principal: Principal = Depends(triager),
        web: WebContext = Depends(web_context),
    ) -> Response:
        """Session, role and CSRF token always; the link's signature too when it came
        from a page (the incident page's own buttons carry no link token)."""
        if token:
            check = _check(web, token, incident_id, action)
            if not check.ok:
                return _confirm_page(request, web, incident_id, action, token, check)
        try:
            with session_scope(web.engine) as session:
                incidents.act(session, incident_id, action, principal.name, web.clock())
        except QueueError as exc:
            if exc.kind == "not_found":
                raise
            status = QUEUE_STATUS[exc.kind]
            return _incident_page(request, web, incident_id, "incident.html", status, error=exc)
        return RedirectResponse(incident_url(incident_id, f"?done={action}"), status_code=303)

    router.add_api_route(path, confirm, methods=["GET"], name=f"incident_{action}_confirm")
    router.add_api_route(path, perform, methods=["POST"], name=f"incident_{action}")


for _action in incidents.INCIDENT_ACTIONS:
    _add_incident_action(_action)


@router.get("/incidents/{incident_id:path}")
def incident_page(
    request: Request,
    incident_id: str,
    done: str = "",
    principal: Principal = Depends(reader),
    web: WebContext = Depends(web_context),
) -> Response:
    return _incident_page(
        request, web, incident_id, "incident.html", done=_done(request, web, done)
    )


# --- the queue -------------------------------------------------------------------------------


@router.get("/queue")
def queue_page(
    request: Request,
    params: QueueParams = Depends(queue_params),
    done: str = Query("", max_length=20),
    changed: int = Query(0, ge=0, le=service.MAX_BULK),
    left: int = Query(0, ge=0, le=service.MAX_BULK),
    principal: Principal = Depends(reader),
    web: WebContext = Depends(web_context),
) -> Response:
    return _queue_response(
        request, web, params, done=bulk_sentence(done, changed, left, web.locale(request))
    )


def _queue_response(
    request: Request,
    web: WebContext,
    params: QueueParams,
    status: int = 200,
    error: QueueError | None = None,
    done: str | None = None,
) -> Response:
    flt = params.to_filter(web.clock())
    with read_scope(web.engine) as session:
        facets = service.facets(session)
        incident = _incident_view(session, params.incident, web.zone(request))
        try:
            page = service.list_queue(session, flt)
        except QueueError as exc:
            page, error, status = service.QueuePage([], 0), exc, QUEUE_STATUS[exc.kind]
        assignees = _assignees(session, web)
    partial = bool(request.headers.get("hx-request")) and not request.headers.get(
        "hx-history-restore-request"
    )
    response = web.render(
        request,
        "_queue_results.html" if partial else "queue.html",
        status=status,
        page=page,
        params=params,
        facets=facets,
        error=error,
        done=done,
        assignees=assignees,
        bulk_actions=BULK_BUTTONS,
        post_url=post_url,
        incident=incident,
        incident_url=incident_url,
    )
    response.headers["Vary"] = "HX-Request, Accept-Language"
    return response


def _incident_view(
    session: Session, incident_id: str, zone: tzinfo
) -> incidents.IncidentView | None:
    """The incident a filtered queue is showing, to name it; None if none or unknown."""
    row = session.get(IncidentRow, incident_id) if incident_id else None
    return incidents.view(row, zone=zone) if row else None


def _assignees(session: Session, web: WebContext, current: str | None = None) -> list[str]:
    """Whom a post can be assigned to: the enabled users and the on-call people (and its
    current assignee), so a name is picked, never typed."""
    users = [u.name for u in accounts.list_users(session) if not u.disabled]
    people = [p.name for p in web.settings.oncall.people]
    return sorted({*users, *people, *([current] if current else [])})


# --- bulk actions on the queue -----------------------------------------------------------------

BULK_BUTTONS = {"ack": N_("Acknowledge"), "resolve": N_("Resolve"), "dismiss": N_("Dismiss")}


def _bulk_done(tr: NullTranslations, action: str, changed: int) -> str | None:
    """``Acknowledged 5 posts.``: one message per action, each with its plural forms."""
    said = {
        "ack": tr.ngettext("Acknowledged %(num)s post.", "Acknowledged %(num)s posts.", changed),
        "assign": tr.ngettext("Assigned %(num)s post.", "Assigned %(num)s posts.", changed),
        "resolve": tr.ngettext("Resolved %(num)s post.", "Resolved %(num)s posts.", changed),
        "dismiss": tr.ngettext("Dismissed %(num)s post.", "Dismissed %(num)s posts.", changed),
    }.get(action)
    return said % {"num": changed} if said else None


def bulk_sentence(action: str, changed: int, left: int, locale: str = "en") -> str | None:
    """``Acknowledged 5 posts. 2 were left as they were (already acknowledged or further
    along).`` from the redirect's numbers; None when the address carries no bulk action."""
    tr = translations(locale)
    sentence = _bulk_done(tr, action, changed)
    if sentence is None or not left:
        return sentence
    # Why a post was left as it was (the service refuses one whose status does not allow
    # the action: monitor/queue/service.py, the triage states).
    if action == "ack":
        rest = tr.ngettext(
            "%(num)s was left as it was (already acknowledged or further along).",
            "%(num)s were left as they were (already acknowledged or further along).",
            left,
        )
    else:
        rest = tr.ngettext(
            "%(num)s was left as it was (already closed).",
            "%(num)s were left as they were (already closed).",
            left,
        )
    return f"{sentence} {rest % {'num': left}}"


def _bulk_key(value: str) -> tuple[str, str]:
    """``post_id/brand`` (a post id has no slash; a brand may)."""
    post_id, _, brand = value.partition("/")
    return post_id, brand


@router.post("/queue/bulk")
def queue_bulk(
    request: Request,
    action: str = Form("", max_length=20),
    post: list[str] = Form([]),
    assignee: str = Form("", max_length=200),
    back: str = Form("", max_length=2000),
    principal: Principal = Depends(triager),
    web: WebContext = Depends(web_context),
) -> Response:
    """One action on the posts ticked in the queue, then back to the same filtered list
    (Post/Redirect/Get) saying how many changed."""
    params = _params_of(back) or QueueParams()
    keys = [_bulk_key(v) for v in post if len(v) <= 300]
    try:
        with session_scope(web.engine) as session:
            outcome = service.act_many(
                session, keys, action, principal.name, web.clock(), assignee=assignee or None
            )
    except QueueError as exc:
        return _queue_response(request, web, params, QUEUE_STATUS[exc.kind], error=exc)
    said = {"done": action, "changed": outcome.changed, "left": outcome.unchanged}
    query = "&".join(q for q in (params.query(), urlencode(said)) if q)
    return RedirectResponse(f"/queue?{query}", status_code=303)


def next_post(session: Session, back: str, key: tuple[str, str], now: datetime) -> str | None:
    """The link to the post after ``key`` in the queue it was opened from (its filters kept),
    so a storm is worked post by post; None without such a queue or at its end."""
    params = _params_of(back)
    if params is None:
        return None
    try:
        flt = replace(params.to_filter(now), limit=MAX_PAGE_SIZE)
    except WebError:  # a bad page or time in the address: no next link, the page still shows
        return None
    try:
        rows = service.list_queue(session, flt).rows
    except QueueError:
        return None
    keys = [(r.post_id, r.brand) for r in rows]
    later = keys[keys.index(key) + 1 :] if key in keys else keys
    following = next((k for k in later if k != key), None)
    return post_url(*following) + params.back() if following else None


def _params_of(back: str) -> QueueParams | None:
    values: dict[str, Any] = dict(parse_qsl(back_query(back)))
    if not values:
        return None
    try:
        for number in ("page", "limit"):
            if number in values:
                values[number] = int(values[number])
    except ValueError:
        return None
    return QueueParams(**values)


def back_query(value: str) -> str:
    """The queue's filters a post page was opened from, kept only as known filters (the
    value comes from the address bar: it goes back into a link, nothing else)."""
    known = set(QueueParams().__dict__)
    kept = [(k, v) for k, v in parse_qsl(value)[:20] if k in known and len(v) <= 200]
    return urlencode(kept)


@router.get("/queue/new")
def queue_new(
    request: Request,
    seen: str = Query("", max_length=40),
    params: QueueParams = Depends(queue_params),
    principal: Principal = Depends(reader),
    web: WebContext = Depends(web_context),
) -> Response:
    """Polled by an open queue or incident page: a bar saying how many posts were flagged
    since the page was drawn, linking to them; nothing moves on the page itself."""
    now = web.clock()
    after = since_of(seen, now, "seen") or now
    with read_scope(web.engine) as session:
        count = service.count_flagged_after(session, params.to_filter(now), after)
    return web.render(request, "_new_posts.html", count=count, params=params)


def _actions(status: str) -> tuple[str, ...]:
    if status in ("resolved", "dismissed"):
        return CLOSED_ACTIONS
    return OPEN_ACTIONS[1:] if status != "new" else OPEN_ACTIONS


def _post_page(
    request: Request,
    web: WebContext,
    post_id: str,
    brand: str,
    status: int = 200,
    back: str = "",
    **kw: Any,
) -> Response:
    with read_scope(web.engine) as session:
        item = service.get_item(session, post_id, brand)
        assignees = _assignees(session, web, item.row.assignee)
        following = next_post(session, back, (post_id, brand), web.clock())
    return web.render(
        request,
        "post.html",
        assignees=assignees,
        status=status,
        item=item,
        row=item.row,
        passage=passage(item.text, item.passage_start, item.passage_end),
        heading=heading(item.row.title, [t.title for t in item.thread], item.text),
        link=http_url(item.row.url),
        actions=_actions(item.row.status),
        action_url=post_url(post_id, brand),
        post_url=post_url,
        incident_url=incident_url,
        back=back_query(back),
        next_post=following,
        **kw,
    )


@router.get("/posts/{post_id}/{brand:path}")
def post_page(
    request: Request,
    post_id: str,
    brand: str,
    done: str = "",
    back: str = Query("", max_length=2000),
    principal: Principal = Depends(reader),
    web: WebContext = Depends(web_context),
) -> Response:
    undo = done == "dismiss"  # a dismissal is one tap away from being undone
    return _post_page(
        request, web, post_id, brand, back=back, done=_done(request, web, done), undo=undo
    )


@router.post("/posts/{post_id}/{brand:path}/{action}")
def post_action(
    request: Request,
    post_id: str,
    brand: str,
    action: str,
    assignee: str = Form("", max_length=200),
    note: str = Form("", max_length=service.MAX_NOTE),
    label: str = Form("", max_length=40),
    back: str = Form("", max_length=2000),
    principal: Principal = Depends(triager),
    web: WebContext = Depends(web_context),
) -> Response:
    if action not in service.ACTIONS:
        raise WebError(404, "not_found", f"there is no action {action!r}")
    try:
        with session_scope(web.engine) as session:
            service.act(
                session,
                post_id,
                brand,
                action,
                principal.name,
                web.clock(),
                assignee=assignee or None,
                note=note or None,
                label=label or None,
            )
    except QueueError as exc:
        if exc.kind == "not_found":
            raise
        return _post_page(request, web, post_id, brand, QUEUE_STATUS[exc.kind], back, error=exc)
    query = urlencode({"done": action} | ({"back": kept} if (kept := back_query(back)) else {}))
    return RedirectResponse(post_url(post_id, brand) + "?" + query, status_code=303)


# --- operators -------------------------------------------------------------------------------


@router.get("/sources")
def sources_page(
    request: Request,
    principal: Principal = Depends(reader),
    web: WebContext = Depends(web_context),
) -> Response:
    with read_scope(web.engine) as session:
        rows = health.sources(session, web.settings, web.clock())
    return web.render(request, "sources.html", sources=rows)


@router.get("/oncall")
def oncall_page(
    request: Request,
    principal: Principal = Depends(reader),
    web: WebContext = Depends(web_context),
) -> Response:
    return web.render(request, "oncall.html", rows=health.oncall(web.settings, web.clock()))


# --- exports ---------------------------------------------------------------------------------


def _csv(text: str, filename: str) -> Response:
    disposition = f'attachment; filename="{filename}"'
    return Response(
        text, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition}
    )


@router.get("/exports/queue.csv")
def export_queue(
    params: QueueParams = Depends(queue_params),
    principal: Principal = Depends(reader),
    web: WebContext = Depends(web_context),
) -> Response:
    flt = params.to_filter(web.clock())
    with read_scope(web.engine) as session:
        text = service.queue_csv(session, flt)
    return _csv(text, "stormwatch-queue.csv")


@router.get("/exports/response-times.csv")
def export_response_times(
    span: tuple[Any, Any] = Depends(since_param),
    principal: Principal = Depends(reader),
    web: WebContext = Depends(web_context),
) -> Response:
    with read_scope(web.engine) as session:
        text = service.response_times_csv(session, *span)
    return _csv(text, "stormwatch-response-times.csv")


@router.get("/exports/incident-response-times.csv")
def export_incident_response_times(
    span: tuple[Any, Any] = Depends(since_param),
    principal: Principal = Depends(reader),
    web: WebContext = Depends(web_context),
) -> Response:
    """Per incident: time to acknowledge and to the first answered post."""
    with read_scope(web.engine) as session:
        text = incidents.response_times_csv(session, span[0])
    return _csv(text, "stormwatch-incident-response-times.csv")
