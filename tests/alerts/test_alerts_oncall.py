"""Rotations across DST, weekly hand-offs, overrides, escalation timing, digests, grouping."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from alerts.grouping import (
    followup_decision,
    followup_step,
    growth,
    inhibit_decision,
    repeat_decision,
)
from alerts.oncall import IncidentState, business_open_at, due_steps, plan, who_is_on_call
from tests.support.fixtures.oncall import OPENED, oncall_config, policy, schedule, utc

# -- rotations ---------------------------------------------------------------------------


def test_daily_handoff_stays_at_nine_local_across_the_october_dst_change() -> None:
    sched = schedule()
    # Sun 25 Oct 2026 03:00 CEST -> 02:00 CET. 09:00 CET = 08:00 UTC (was 07:00 UTC).
    before = who_is_on_call(sched, utc(2026, 10, 25, 7, 59))
    after = who_is_on_call(sched, utc(2026, 10, 25, 8, 0))
    assert (before.person, after.person) == ("anna", "bo")
    assert before.since == utc(2026, 10, 24, 7, 0)
    assert before.until == utc(2026, 10, 25, 8, 0)
    assert before.until - before.since == timedelta(hours=25)
    assert before.reason == "rotation"


def test_daily_handoff_across_the_march_dst_change_is_a_23_hour_shift() -> None:
    sched = schedule(start=date(2026, 3, 20))
    # Sun 29 Mar 2026 02:00 CET -> 03:00 CEST. 09:00 CEST = 07:00 UTC (was 08:00 UTC).
    shift = who_is_on_call(sched, utc(2026, 3, 29, 6, 59))
    assert shift.since == utc(2026, 3, 28, 8, 0)
    assert shift.until == utc(2026, 3, 29, 7, 0)
    assert who_is_on_call(sched, utc(2026, 3, 29, 7, 0)).person != shift.person


def test_weekly_handoff_on_monday_morning() -> None:
    sched = schedule(rotation="weekly", start=date(2026, 10, 19), members=["anna", "bo", "carla"])
    assert who_is_on_call(sched, utc(2026, 10, 19, 6, 59)).person == "carla"  # previous week
    assert who_is_on_call(sched, utc(2026, 10, 19, 7, 0)).person == "anna"  # 09:00 CEST
    assert who_is_on_call(sched, utc(2026, 10, 25, 23, 0)).person == "anna"  # Sunday night
    assert who_is_on_call(sched, utc(2026, 10, 26, 7, 59)).person == "anna"  # 08:59 CET
    monday = who_is_on_call(sched, utc(2026, 10, 26, 8, 0))  # 09:00 CET, after DST
    assert monday.person == "bo"
    assert monday.until == utc(2026, 11, 2, 8, 0)
    assert who_is_on_call(sched, utc(2026, 11, 9, 8, 0)).person == "anna"  # wraps around


def test_overrides_cover_a_range_and_the_last_one_wins() -> None:
    sched = schedule(
        overrides=[
            {
                "person": "carla",
                "start": "2026-10-21T18:00",
                "end": "2026-10-22T09:00",
                "reason": "holiday",
            },
            {
                "person": "dan",
                "start": "2026-10-21T20:00:00+02:00",
                "end": "2026-10-21T21:00:00+02:00",
                "reason": "swap",
            },
        ]
    )
    assert who_is_on_call(sched, utc(2026, 10, 21, 15, 59)).reason == "rotation"
    holiday = who_is_on_call(sched, utc(2026, 10, 21, 16, 0))  # 18:00 CEST
    assert (holiday.person, holiday.reason) == ("carla", "override")
    assert who_is_on_call(sched, utc(2026, 10, 21, 18, 30)).person == "dan"
    assert who_is_on_call(sched, utc(2026, 10, 22, 7, 0)).reason == "rotation"  # 09:00 CEST


# -- escalation ---------------------------------------------------------------------------


def incident(**changes: object) -> IncidentState:
    fields: dict[str, object] = {
        "incident_id": "inc-7",
        "brand": "Nordlys",
        "kind": "storm",
        "severity": "critical",
        "opened_at": OPENED,
    }
    return IncidentState(**(fields | changes))  # type: ignore[arg-type]


def names(steps: list) -> list[tuple[str, str, str]]:  # type: ignore[type-arg]
    return [(s.step, s.recipient, s.reason) for s in steps]


def test_plan_pages_at_once_escalates_and_repeats_up_to_the_limit() -> None:
    steps = plan(policy(), incident(), OPENED, oncall_config())
    assert [(s.due - OPENED, s.step, s.recipient) for s in steps] == [
        (timedelta(0), "trigger", "bo"),
        (timedelta(minutes=15), "escalate:2", ""),
        (timedelta(minutes=15), "escalate:2", "director"),
        (timedelta(minutes=45), "repeat:1", ""),
        (timedelta(minutes=45), "repeat:1", "director"),
        (timedelta(minutes=75), "repeat:2", ""),
        (timedelta(minutes=75), "repeat:2", "director"),
    ]
    assert steps[0].reason == "first_notification"
    assert steps[0].channels == ("bo-mail", "console")
    assert steps[1].channels == ("pd", "console")
    assert steps[1].reason == "escalation_wait_elapsed"
    assert steps[-1].reason == "repeat_until_acknowledged"


def test_escalation_is_due_exactly_when_level_one_wait_runs_out() -> None:
    wait_over = OPENED + timedelta(minutes=15)
    just_before = due_steps(
        policy(), incident(), wait_over - timedelta(microseconds=1), oncall_config()
    )
    assert [s.step for s in just_before] == ["trigger"]
    at_wait = due_steps(policy(), incident(), wait_over, oncall_config())
    assert [s.step for s in at_wait] == ["trigger", "escalate:2", "escalate:2"]


def test_acknowledgement_stops_escalation_and_notifies_who_was_paged() -> None:
    acked = OPENED + timedelta(minutes=14, seconds=59)
    later = OPENED + timedelta(hours=3)
    steps = plan(policy(), incident(acknowledged_at=acked), later, oncall_config())
    assert names(steps) == [
        ("trigger", "bo", "first_notification"),
        ("acknowledge", "bo", "acknowledged"),
    ]
    assert steps[1].due == acked


def test_acknowledging_exactly_at_the_wait_still_stops_level_two() -> None:
    acked = OPENED + timedelta(minutes=15)
    steps = plan(policy(), incident(acknowledged_at=acked), acked, oncall_config())
    assert [s.step for s in steps] == ["trigger", "acknowledge"]


def test_resolve_after_escalation_tells_everyone_paged() -> None:
    resolved = OPENED + timedelta(minutes=20)
    steps = plan(policy(), incident(resolved_at=resolved), resolved, oncall_config())
    closing = [(s.step, s.recipient) for s in steps if s.due == resolved]
    assert closing == [("resolve", "bo"), ("resolve", ""), ("resolve", "director")]


def test_an_acknowledgement_in_the_future_of_now_is_ignored() -> None:
    steps = plan(
        policy(), incident(acknowledged_at=OPENED + timedelta(hours=1)), OPENED, oncall_config()
    )
    assert "acknowledge" not in [s.step for s in steps]


# -- severity routing and business hours ---------------------------------------------------


def test_single_flagged_post_at_night_waits_for_business_hours_as_a_digest() -> None:
    saturday_night = utc(2026, 10, 31, 22, 0)
    quiet = incident(kind="flagged_post", severity="warning", opened_at=saturday_night)
    steps = plan(policy(), quiet, saturday_night, oncall_config())
    assert names(steps) == [("digest:2026-11-02", "anna", "deferred_to_business_hours")]
    assert steps[0].due == utc(2026, 11, 2, 7, 0)  # Monday 08:00 CET
    assert due_steps(policy(), quiet, saturday_night, oncall_config()) == []


def test_single_flagged_post_in_business_hours_goes_out_now() -> None:
    tuesday_ten = utc(2026, 11, 3, 9, 0)
    quiet = incident(kind="flagged_post", severity="warning", opened_at=tuesday_ten)
    [step] = plan(policy(), quiet, tuesday_ten, oncall_config())
    assert (step.due, step.reason) == (tuesday_ten, "in_business_hours")


def test_critical_single_post_pages_at_night() -> None:
    loud = incident(kind="flagged_post", severity="critical")
    assert plan(policy(), loud, OPENED, oncall_config())[0].step == "trigger"


def test_business_hours_skip_weekends_holidays_and_after_closing() -> None:
    hours = oncall_config().business_hours.model_copy(update={"holidays": [date(2026, 11, 2)]})
    assert business_open_at(hours, utc(2026, 10, 31, 22, 0)) == utc(2026, 11, 3, 7, 0)
    assert business_open_at(hours, utc(2026, 11, 3, 16, 0)) == utc(2026, 11, 4, 7, 0)


# -- grouping decisions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "brand", "storms", "send", "reason"),
    [
        ("flagged_post", "Nordlys", {"Nordlys"}, False, "inhibited_by_storm"),
        ("thread", "Nordlys", {"Nordlys"}, False, "inhibited_by_storm"),
        ("thread", "Nordlys", {"Other"}, True, "no_open_storm"),
        ("flagged_post", "Nordlys", {"Other"}, True, "no_open_storm"),
        ("storm", "Nordlys", {"Nordlys"}, True, "is_a_storm"),
        ("volume_surge", "Nordlys", {"Nordlys"}, True, "is_a_storm"),
    ],
)
def test_inhibition(kind: str, brand: str, storms: set[str], send: bool, reason: str) -> None:
    decision = inhibit_decision(kind, brand, storms)
    assert (decision.send, decision.reason) == (send, reason)


@pytest.mark.parametrize(
    ("grew", "minutes_since", "send", "reason"),
    [
        (True, 14, False, "followup_too_soon"),
        (True, 15, True, "followup_due"),
        (False, 60, False, "no_growth"),
    ],
)
def test_followups_at_most_every_n_minutes(
    grew: bool, minutes_since: int, send: bool, reason: str
) -> None:
    last = OPENED
    decision = followup_decision(
        grew, last, last + timedelta(minutes=minutes_since), timedelta(minutes=15)
    )
    assert (decision.send, decision.reason) == (send, reason)
    assert followup_step(2) == "followup:3"


@pytest.mark.parametrize(
    ("after", "min_growth", "grew"),
    [
        ({"severity": 1, "peak": 10, "posts": 40}, 0.25, ()),
        ({"severity": 1, "peak": 12, "posts": 49}, 0.25, ()),  # under a quarter more
        ({"severity": 1, "peak": 12.5, "posts": 50}, 0.25, ("peak_rose", "posts_grew")),
        ({"severity": 2, "peak": 10, "posts": 40}, 0.25, ("severity_rose",)),
        ({"severity": 1, "peak": 10, "posts": 41}, 0.0, ("posts_grew",)),
        ({"severity": 1, "peak": 9, "posts": 30}, 0.0, ()),  # shrinking is not growth
    ],
)
def test_growth_names_what_grew(
    after: dict[str, float], min_growth: float, grew: tuple[str, ...]
) -> None:
    before = {"severity": 1, "peak": 10, "posts": 40}
    assert growth(before, after, min_growth) == grew


def test_repeat_limit() -> None:
    assert repeat_decision(1, 2).reason == "repeat_due"
    assert repeat_decision(2, 2).reason == "repeat_limit_reached"
    assert not repeat_decision(2, 2).send
