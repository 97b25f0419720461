"""Who is on call, and the escalation plan of an incident: pure functions of ``now``.

- ``who_is_on_call(schedule, now)``: daily or weekly rotations handing off at a local
  wall-clock time in an IANA zone (so a 09:00 hand-off stays 09:00 across DST), with
  overrides (holiday cover, swaps) on top; the last matching override wins.
- ``plan(policy, incident, now, oncall)``: every step of the incident's paging, each with
  its due time, recipient, channels (fallback order) and a named reason:

  ``first_notification``   level 1, at once for urgent incidents (severity or kind);
  ``deferred_to_business_hours`` non-urgent: one ``digest:<date>`` step when business
                                 hours open in the business-hours zone (no escalation);
                                 ``in_business_hours`` when they already are;
  ``escalation_wait_elapsed``    level N+1 exactly when level N's wait runs out;
  ``repeat_until_acknowledged``  the last level again every ``repeat_minutes``, up to
                                 ``repeat_limit`` (then ``repeat_limit_reached``: no step);
  ``acknowledged`` / ``resolved``  closing steps to everyone already paged; steps due at
                                 or after the acknowledgement are dropped.

The caller enqueues ``due_steps(...)`` each tick; the outbox's unique
(dedup_key, step, recipient) makes that idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from alerts.config import (
    WEEKDAYS,
    BusinessHoursConfig,
    LevelConfig,
    OncallConfig,
    PolicyConfig,
    ScheduleConfig,
)
from alerts.errors import ScheduleError
from alerts.grouping import repeat_decision

__all__ = [
    "SHARED",
    "IncidentState",
    "OnCall",
    "Step",
    "business_open_at",
    "due_steps",
    "is_urgent",
    "plan",
    "who_is_on_call",
]

SHARED = ""  # recipient of a level's shared channels (PagerDuty service, Slack room)
_SHIFT_DAYS = {"daily": 1, "weekly": 7}
_CLOSING_REASONS = {"acknowledge": "acknowledged", "resolve": "resolved"}


@dataclass(frozen=True)
class IncidentState:
    """What escalation needs to know about an incident (the daemon maps its row to this)."""

    incident_id: str
    brand: str
    kind: str
    severity: str
    opened_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class OnCall:
    """The person on call for a schedule at a moment, their shift, and why."""

    person: str
    schedule: str
    since: datetime
    until: datetime
    reason: str  # "rotation" or "override"


@dataclass(frozen=True)
class Step:
    """One page to send: when, which step, to whom, through which channels, and why."""

    due: datetime
    step: str
    level: int
    recipient: str
    channels: tuple[str, ...]
    reason: str


def who_is_on_call(schedule: ScheduleConfig, now: datetime) -> OnCall:
    """The on-call person of ``schedule`` at ``now`` (an aware datetime)."""
    zone = ZoneInfo(schedule.timezone)
    for override in reversed(schedule.overrides):
        start, end = _aware(override.start, zone), _aware(override.end, zone)
        if start <= now < end:
            return OnCall(override.person, schedule.name, start, end, "override")
    number, since, until = _shift(schedule, now, zone)
    person = schedule.members[number % len(schedule.members)]
    return OnCall(person, schedule.name, since, until, "rotation")


def is_urgent(policy: PolicyConfig, incident: IncidentState) -> str | None:
    """The reason an incident pages at once (``urgent_severity`` / ``urgent_kind``), or None."""
    if incident.severity.lower() in {s.lower() for s in policy.urgent_severities}:
        return "urgent_severity"
    if incident.kind.lower() in {k.lower() for k in policy.urgent_kinds}:
        return "urgent_kind"
    return None


def business_open_at(hours: BusinessHoursConfig, now: datetime) -> datetime:
    """``now`` if business hours are open, else when they next open (aware)."""
    zone = ZoneInfo(hours.timezone)
    local = now.astimezone(zone)
    for offset in range(0, 370):
        day = local.date() + timedelta(days=offset)
        if not _workday(hours, day):
            continue
        opens = datetime.combine(day, hours.start, tzinfo=zone)
        closes = datetime.combine(day, hours.end, tzinfo=zone)
        if now < closes:
            return max(now, opens).astimezone(UTC)
    raise ScheduleError("business hours never open within a year; check days and holidays")


def plan(
    policy: PolicyConfig, incident: IncidentState, now: datetime, oncall: OncallConfig
) -> list[Step]:
    """Every step of ``incident`` under ``policy`` as known at ``now``, sorted by due time."""
    if is_urgent(policy, incident) is None:
        steps = _digest_steps(policy, incident, oncall)
    else:
        steps = _escalation_steps(policy, incident, oncall)
    return sorted(_close(steps, incident, now), key=lambda s: (s.due, s.level, s.recipient))


def due_steps(
    policy: PolicyConfig, incident: IncidentState, now: datetime, oncall: OncallConfig
) -> list[Step]:
    """The steps of ``plan`` that are due at ``now``."""
    return [step for step in plan(policy, incident, now, oncall) if step.due <= now]


def _escalation_steps(
    policy: PolicyConfig, incident: IncidentState, oncall: OncallConfig
) -> list[Step]:
    steps: list[Step] = []
    due = incident.opened_at
    for number, level in enumerate(policy.levels, start=1):
        name, reason = (
            ("trigger", "first_notification")
            if number == 1
            else (f"escalate:{number}", "escalation_wait_elapsed")
        )
        steps += _level_steps(policy, level, number, due, name, reason, oncall)
        if number < len(policy.levels):
            due += timedelta(minutes=level.wait_minutes)
    return steps + _repeat_steps(policy, due, oncall)


def _repeat_steps(policy: PolicyConfig, last_due: datetime, oncall: OncallConfig) -> list[Step]:
    steps: list[Step] = []
    number, level = len(policy.levels), policy.levels[-1]
    repeat = 0
    while repeat_decision(repeat, policy.repeat_limit).send:
        repeat += 1
        due = last_due + timedelta(minutes=policy.repeat_minutes * repeat)
        steps += _level_steps(
            policy, level, number, due, f"repeat:{repeat}", "repeat_until_acknowledged", oncall
        )
    return steps


def _digest_steps(
    policy: PolicyConfig, incident: IncidentState, oncall: OncallConfig
) -> list[Step]:
    due = business_open_at(oncall.business_hours, incident.opened_at)
    day = due.astimezone(ZoneInfo(oncall.business_hours.timezone)).date()
    reason = "in_business_hours" if due == incident.opened_at else "deferred_to_business_hours"
    return _level_steps(
        policy, policy.levels[0], 1, due, f"digest:{day.isoformat()}", reason, oncall
    )


def _level_steps(
    policy: PolicyConfig,
    level: LevelConfig,
    number: int,
    due: datetime,
    name: str,
    reason: str,
    oncall: OncallConfig,
) -> list[Step]:
    channels_of = {p.name: p.channels for p in oncall.people}
    steps = [
        Step(due, name, number, person, _chain(channels_of[person], policy), reason)
        for person in _recipients(level, due, oncall)
    ]
    if level.channels:
        steps.append(Step(due, name, number, SHARED, _chain(level.channels, policy), reason))
    return steps


def _recipients(level: LevelConfig, due: datetime, oncall: OncallConfig) -> list[str]:
    by_name = {s.name: s for s in oncall.schedules}
    people = [who_is_on_call(by_name[name], due).person for name in level.schedules]
    return list(dict.fromkeys(people + level.people))


def _chain(first: list[str], policy: PolicyConfig) -> tuple[str, ...]:
    return tuple(dict.fromkeys(first + policy.fallback_channels))


def _close(steps: list[Step], incident: IncidentState, now: datetime) -> list[Step]:
    ends = [
        (moment, name)
        for moment, name in (
            (incident.acknowledged_at, "acknowledge"),
            (incident.resolved_at, "resolve"),
        )
        if moment is not None and moment <= now
    ]
    if not ends:
        return steps
    cut = min(moment for moment, _ in ends)
    kept = [step for step in steps if step.due < cut]
    paged = dict.fromkeys((s.recipient, s.channels, s.level) for s in kept)
    closing = [
        Step(moment, name, level, who, channels, _CLOSING_REASONS[name])
        for moment, name in ends
        for who, channels, level in paged
    ]
    return kept + closing


def _shift(schedule: ScheduleConfig, now: datetime, zone: tzinfo) -> tuple[int, datetime, datetime]:
    length = _SHIFT_DAYS[schedule.rotation]
    local = now.astimezone(zone)
    days = (local.date() - schedule.start).days
    if local < datetime.combine(local.date(), schedule.handoff, tzinfo=zone):
        days -= 1
    number = days // length
    first = schedule.start + timedelta(days=number * length)
    return (
        number,
        _at(first, schedule.handoff, zone),
        _at(first + timedelta(days=length), schedule.handoff, zone),
    )


def _at(day: date, at: time, zone: tzinfo) -> datetime:
    # in UTC: subtracting two datetimes of one zone would compare wall clocks (23/25 h days)
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _aware(moment: datetime, zone: tzinfo) -> datetime:
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)).astimezone(UTC)


def _workday(hours: BusinessHoursConfig, day: date) -> bool:
    return WEEKDAYS[day.weekday()] in hours.days and day not in hours.holidays
