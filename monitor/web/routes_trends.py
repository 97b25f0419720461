"""The trends page: one brand over the last N days (``/trends?brand=B&days=N``), and each
of its charts' numbers as CSV (``/trends.csv?...&by=hour|day|source|lang``).

The rollup (monitor/reports/rollup.py) is brought up to date first, in its own short
transaction, then read; the daemon keeps it current, so usually a read-only check finds
nothing to do and the page takes no write lock.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from monitor.accounts import Principal
from monitor.reports.rollup import is_current, refresh
from monitor.reports.trends import MAX_DAYS, Trends, csv_of, trends
from monitor.storage.db import read_scope, session_scope
from monitor.web.auth import reader
from monitor.web.context import WebContext, web_context
from monitor.web.errors import WebError
from monitor.web.trend_chart import Point, bars_chart, series_chart

router = APIRouter(include_in_schema=False)

DEFAULT_DAYS = 30
ANSWER_TARGET = timedelta(hours=4)  # the service figures' "answered within"
HOURLY_TABLE_DAYS = 7  # longer spans show the hourly numbers as CSV only
By = Literal["hour", "day", "source", "lang"]


def _figures(web: WebContext, brand: str, days: int, zone: tzinfo) -> Trends:
    known = [b.name for b in web.settings.brands]
    if brand not in known:
        raise WebError(
            400, "invalid_input", f"unknown brand {brand!r} (one of: {', '.join(known)})"
        )
    now = web.clock()
    with read_scope(web.engine) as session:
        current = is_current(session, now)
    if not current:  # the write lock only when there is something to count
        with session_scope(web.engine) as session:
            refresh(session, now)
    with read_scope(web.engine) as session:
        return trends(session, brand, now - timedelta(days=days), now, zone, ANSWER_TARGET)


def _brand(web: WebContext, brand: str) -> str:
    if brand:
        return brand
    if not web.settings.brands:
        raise WebError(400, "invalid_input", "no brands are configured")
    return web.settings.brands[0].name


@router.get("/trends")
def trends_page(
    request: Request,
    brand: str = Query("", max_length=200),
    days: int = Query(DEFAULT_DAYS, ge=1, le=MAX_DAYS),
    principal: Principal = Depends(reader),
    web: WebContext = Depends(web_context),
) -> Response:
    brand = _brand(web, brand)
    zone = web.zone(request)
    found = _figures(web, brand, days, zone)
    marks = [(i.opened_at, f"{i.kind} ({i.severity}) {i.id}") for i in found.incidents]
    hourly = [Point(at, t.mentions, t.complaints) for at, t in found.hours.items()]
    daily = [
        Point(datetime.combine(day, datetime.min.time(), tzinfo=zone), t.mentions, t.complaints)
        for day, t in found.days.items()
    ]
    return web.render(
        request,
        "trends.html",
        t=found,
        brand=brand,
        days=days,
        brands=[b.name for b in web.settings.brands],
        day_chart=series_chart(
            daily,
            marks,
            zone,
            web.say(request, "%(brand)s: mentions and complaints per day", brand=brand),
        ),
        hour_chart=series_chart(
            hourly,
            marks,
            zone,
            web.say(request, "%(brand)s: mentions and complaints per hour", brand=brand),
            "%d %b %H:%M",
        ),
        source_chart=bars_chart(
            [(k, v.mentions, v.complaints) for k, v in sorted(found.by_source.items())],
            web.say(request, "%(brand)s: mentions and complaints by source", brand=brand),
        ),
        lang_chart=bars_chart(
            [(k, v.mentions, v.complaints) for k, v in sorted(found.by_lang.items())],
            web.say(request, "%(brand)s: mentions and complaints by language", brand=brand),
        ),
        hourly_rows=days <= HOURLY_TABLE_DAYS,
        csv=lambda by: "/trends.csv?" + urlencode({"brand": brand, "days": days, "by": by}),
    )


@router.get("/trends.csv")
def trends_csv(
    request: Request,
    brand: str = Query("", max_length=200),
    days: int = Query(DEFAULT_DAYS, ge=1, le=MAX_DAYS),
    by: By = Query("day"),
    principal: Principal = Depends(reader),
    web: WebContext = Depends(web_context),
) -> Response:
    brand = _brand(web, brand)
    found = _figures(web, brand, days, web.zone(request))
    rows = {
        "hour": [(at.isoformat(), t) for at, t in found.hours.items()],
        "day": [(day.isoformat(), t) for day, t in found.days.items()],
        "source": sorted(found.by_source.items()),
        "lang": sorted(found.by_lang.items()),
    }[by]
    filename = f"stormwatch-trends-{by}.csv"
    return Response(
        csv_of(rows, by),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
