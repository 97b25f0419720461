"""What operators look at: the health of every source and who is on call."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from alerts.oncall import who_is_on_call
from monitor.settings import Settings
from monitor.sources.api import quota_used
from monitor.storage import repo
from monitor.storage.models import Source


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def source_health(source: Source, unhealthy_after: int) -> str:
    """``ok``; ``degraded`` (the last document was read only in part: see last_warning);
    ``failing`` (recent errors); ``unhealthy`` (failing repeatedly, backing off: a blind
    spot); ``pending`` (never crawled); ``disabled``."""
    if not source.enabled:
        return "disabled"
    if source.consecutive_failures >= unhealthy_after:
        return "unhealthy"
    if source.consecutive_failures:
        return "failing"
    if source.last_success_at is None:
        return "pending"
    return "degraded" if source.last_warning else "ok"


def source_dict(
    source: Source, unhealthy_after: int, now: datetime | None = None
) -> dict[str, Any]:
    stale = (
        (now - source.last_success_at).total_seconds() if now and source.last_success_at else None
    )
    return {
        "name": source.name,
        "kind": source.kind,
        "url": source.url,
        "enabled": source.enabled,
        "health": source_health(source, unhealthy_after),
        "last_attempt_at": _iso(source.last_attempt_at),
        "last_success_at": _iso(source.last_success_at),
        "seconds_since_success": stale,
        "last_error": source.last_error,
        "last_error_kind": source.last_error_kind,
        "last_error_at": _iso(source.last_error_at),
        "consecutive_failures": source.consecutive_failures,
        "warnings": source.warnings,
        "last_warning": source.last_warning,
        "next_due_at": _iso(source.next_due_at),
        "posts_stored": source.posts_stored,
        # platform quota units spent today (YouTube), from the marks the crawl saved
        "quota_used_today": quota_used(source.cursor, now) if now else None,
    }


def sources(session: Session, settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """Every source, worst health first, so blind spots are at the top."""
    order = {"unhealthy": 0, "failing": 1, "degraded": 2, "pending": 3, "ok": 4, "disabled": 5}
    unhealthy = settings.crawl.unhealthy_after
    rows = [source_dict(s, unhealthy, now) for s in repo.list_sources(session)]
    return sorted(rows, key=lambda r: (order[r["health"]], r["name"]))


def oncall(settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """Who would be paged now, for each escalation policy and level, and until when."""
    config = settings.oncall
    schedules = {s.name: s for s in config.schedules}
    rows: list[dict[str, Any]] = []
    for policy in config.policies:
        for number, level in enumerate(policy.levels, 1):
            shifts = [who_is_on_call(schedules[name], now) for name in level.schedules]
            rows.append(
                {
                    "policy": policy.name,
                    "brands": list(policy.brands) or ["(all)"],
                    "level": number,
                    "people": [s.person for s in shifts] + list(level.people),
                    "until": _iso(min((s.until for s in shifts), default=None)),
                    "next": [who_is_on_call(schedules[s.schedule], s.until).person for s in shifts],
                    "channels": list(level.channels),
                    "after_minutes": sum(lv.wait_minutes for lv in policy.levels[: number - 1]),
                }
            )
    return rows
