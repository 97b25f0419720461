"""Grouping in the daemon's paging stage, on a real database with real local receivers.

Incidents are made the daemon's way (``IncidentBook`` signals saved with
``monitor.stages.detect.save_incident``); acknowledging and resolving go through the function the
CLI and the web UI call (``monitor.queue.incidents.act``). Time is injected: a tick is
``PagingStage.step(now)`` at a simulated minute, and nothing sleeps.

- an open storm holds back the same brand's thread pages (and only that brand's), records
  the hold in the incident's page history, and when it resolves the held incident pages
  once, with escalation counted from then: no burst of steps that fell due meanwhile;
- a thread paged before the storm still sends its resolve notice while held back;
- a growing storm gets ``followup:N`` pages at most every N minutes, to the people already
  paged, with what grew; also while acknowledged; never after it is resolved; idempotent
  across a second planner and a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from alerts.page import dedup_key_for
from alerts.store import OutboxRow
from monitor.detect.events import Signal
from monitor.detect.incidents import Incident
from monitor.queue.incidents import pages
from monitor.stages.page import PagingStage
from monitor.storage.db import session_scope
from tests.support.fixtures.clock import T0
from tests.support.servers.receivers import Hit, Receiver, http_receiver
from tests.support.worlds.paging import Storms, describe, paging_settings, signal


@dataclass
class Ticker:
    """Ticks the paging stage minute by minute; keeps (minute, where, incident, step)."""

    stage: PagingStage
    receivers: list[Receiver]
    seen: list[tuple[int, str, str, str]] = field(default_factory=list)
    counts: dict[int, int] = field(default_factory=dict)

    def tick(self, minute: int) -> None:
        self.stage.step(T0 + timedelta(minutes=minute))
        for number, receiver in enumerate(self.receivers):
            new = receiver.accepted()[self.counts.get(number, 0) :]
            self.counts[number] = self.counts.get(number, 0) + len(new)
            self.seen += [(minute, *describe(hit)) for hit in new]

    def run(self, minutes: range, events: dict[int, Callable[[], object]]) -> None:
        for minute in minutes:
            if minute in events:
                events[minute]()
            self.tick(minute)

    def of(self, incident: Incident) -> list[tuple[int, str, str]]:
        return sorted((m, where, step) for m, where, inc, step in self.seen if inc == incident.id)


def outbox(engine: Engine, incident: Incident) -> list[OutboxRow]:
    with session_scope(engine) as session:
        query = select(OutboxRow).where(OutboxRow.dedup_key == dedup_key_for(incident.id))
        return list(session.exec(query.order_by(OutboxRow.id)))  # type: ignore[arg-type]


# -- inhibition ------------------------------------------------------------------------------


def thread_signal(brand: str, minute: int, thread: str) -> Signal:
    return signal(brand, minute, posts=3, observed=12, kind="thread_velocity", thread=thread)


class Records(logging.Handler):
    """The paging logger's records (attached directly: the app may stop propagation)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def paging_log() -> Iterator[Records]:
    logger = logging.getLogger("stormwatch.paging")
    handler, level = Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_an_open_storm_holds_back_the_brands_thread_until_it_resolves(
    any_engine: Engine, paging_log: Records
) -> None:
    storms = Storms(any_engine)
    made: dict[str, Incident] = {}

    def open_threads() -> None:
        made["thread"] = storms.signal(thread_signal("Acme", 5, "t-9"))
        made["other"] = storms.signal(thread_signal("Bryg", 5, "t-1"))  # another brand

    with http_receiver() as people:
        ticker = Ticker(PagingStage(paging_settings(any_engine, people.port), any_engine), [people])
        ticker.run(
            range(0, 91),
            {
                0: lambda: made.__setitem__(
                    "storm", storms.signal(signal("Acme", 0, posts=30, observed=30))
                ),
                5: open_threads,
                20: lambda: storms.decide(made["storm"], "ack", 20),  # acknowledged: still open
                60: lambda: storms.decide(made["storm"], "resolve", 60),
            },
        )
        with session_scope(any_engine) as session:
            history = pages(session, made["thread"].id)  # what the incident page lists
        ticker.stage = PagingStage(paging_settings(any_engine, people.port), any_engine)
        ticker.run(range(91, 120), {})  # a restart changes nothing

    assert ticker.of(made["thread"]) == [(60, "mette", "trigger"), (75, "jonas", "escalate:2")], (
        "nothing while the storm was open (triggered or acknowledged); then paged once, "
        "escalating 15 minutes after that, not at once for the steps that fell due meanwhile"
    )
    assert ticker.of(made["other"]) == [(5, "mette", "trigger"), (20, "jonas", "escalate:2")]
    assert ticker.of(made["storm"]) == [
        (0, "mette", "trigger"),
        (15, "jonas", "escalate:2"),
        (20, "jonas", "acknowledge"),
        (20, "mette", "acknowledge"),
        (60, "jonas", "resolve"),
        (60, "mette", "resolve"),
    ]
    [held] = [h for h in history if h.step.startswith("inhibited:")]
    assert (held.step, held.status) == ("inhibited:1", "released")
    assert held.last_reason.startswith("released (no_open_storm)")
    rows = outbox(any_engine, made["thread"])
    assert [r.step for r in rows if r.status == "released"] == ["inhibited:1"]
    assert [r.due_at for r in rows if r.status == "released"] == [T0 + timedelta(minutes=60)]
    held_logs = [r for r in paging_log.records if r.getMessage() == "page held back"]
    assert [(r.incident, r.reason, r.storm) for r in held_logs] == [  # type: ignore[attr-defined]
        (made["thread"].id, "inhibited_by_storm", made["storm"].id)
    ], "the decision is logged once, with its named reason and the storm that holds it"


def test_the_hold_is_visible_while_the_storm_is_open(any_engine: Engine) -> None:
    storms = Storms(any_engine)
    with http_receiver() as people:
        stage = PagingStage(paging_settings(any_engine, people.port), any_engine)
        storm = storms.signal(signal("Acme", 0, posts=30, observed=30))
        stage.step(T0)
        thread = storms.signal(thread_signal("Acme", 5, "t-9"))
        for minute in (5, 6, 30):
            stage.step(T0 + timedelta(minutes=minute))
    with session_scope(any_engine) as session:
        [held] = pages(session, thread.id)
    assert (held.step, held.status, held.sent_at) == ("inhibited:1", "inhibited", None)
    assert held.last_reason == f"inhibited_by_storm: {storm.id}"
    assert [describe(h)[1:] for h in people.hits] == [
        (storm.id, "trigger"),
        (storm.id, "escalate:2"),
    ]


def test_a_thread_paged_before_the_storm_still_resolves_in_pagerduty_while_held(
    any_engine: Engine,
) -> None:
    storms = Storms(any_engine)
    made: dict[str, Incident] = {}
    with http_receiver() as people, http_receiver(ok_status=202) as pd:
        settings = paging_settings(any_engine, people.port, pd.port)
        ticker = Ticker(PagingStage(settings, any_engine), [people, pd])
        thread = thread_signal("Acme", 0, "t-9")
        ticker.run(
            range(0, 61),
            {
                0: lambda: made.__setitem__("thread", storms.signal(thread)),
                5: lambda: made.__setitem__(
                    "storm", storms.signal(signal("Acme", 5, posts=30, observed=30))
                ),
                30: lambda: storms.decide(made["thread"], "resolve", 30),
            },
        )
    assert ticker.of(made["thread"]) == [
        (0, "mette", "trigger"),
        (0, "pd", "trigger/trigger"),
        (30, "mette", "resolve"),  # no escalate:2 at minute 15: held back
        (30, "pd", "resolve/-"),
    ]
    [held] = [r for r in outbox(any_engine, made["thread"]) if r.step.startswith("inhibited:")]
    assert held.status == "released"
    assert "resolved while held back" in held.last_reason
    assert [s for _, _, s in ticker.of(made["storm"])] == [
        "trigger",
        "trigger/trigger",
        "escalate:2",
    ]


# -- follow-ups ------------------------------------------------------------------------------


def test_a_growing_storm_gets_followups_at_most_every_n_minutes_never_new_pages(
    any_engine: Engine,
) -> None:
    storms = Storms(any_engine)
    made: dict[str, Incident] = {}
    second_planner: list[int] = []
    with http_receiver() as people, http_receiver(ok_status=202) as pd:
        settings = paging_settings(any_engine, people.port, pd.port, followup_minutes=30)
        ticker = Ticker(PagingStage(settings, any_engine), [people, pd])

        def grow(minute: int, **kw: Any) -> Callable[[], None]:
            return lambda: made.__setitem__("storm", storms.signal(signal("Acme", minute, **kw)))

        def restart() -> None:
            ticker.stage = PagingStage(settings, any_engine)

        def plan_twice() -> None:  # another planner on the same database, same tick
            second_planner.append(
                PagingStage(settings, any_engine).plan(T0 + timedelta(minutes=30))
            )

        ticker.run(
            range(0, 131),
            {
                0: grow(0, posts=10, observed=10),
                10: grow(10, posts=20, observed=20),  # grew, but only 10 minutes after the page
                30: plan_twice,
                40: grow(40, posts=22, observed=21),  # +10%: under followup_min_growth
                45: restart,
                50: grow(50, posts=23, observed=22, severity="critical"),
                65: lambda: storms.decide(made["storm"], "ack", 65),
                70: grow(70, posts=40, observed=40),
                92: grow(92, posts=80, observed=80),  # grew, too soon; resolved before due
                95: lambda: storms.decide(made["storm"], "resolve", 95),
            },
        )
        bodies = {describe(h)[2]: h.json() for h in people.hits if h.path == "/mette"}
        pd_events = [h.json() for h in pd.hits]

    assert ticker.of(made["storm"]) == [
        (0, "mette", "trigger"),
        (0, "pd", "trigger/trigger"),
        (15, "jonas", "escalate:2"),
        (30, "jonas", "followup:1"),
        (30, "mette", "followup:1"),
        (30, "pd", "trigger/followup:1"),
        (60, "jonas", "followup:2"),  # severity rose at 50: due 30 minutes after the last
        (60, "mette", "followup:2"),
        (60, "pd", "trigger/followup:2"),
        (65, "jonas", "acknowledge"),
        (65, "mette", "acknowledge"),
        (65, "pd", "acknowledge/-"),
        (90, "jonas", "followup:3"),  # acknowledged: growth news still goes out
        (90, "mette", "followup:3"),
        (90, "pd", "trigger/followup:3"),
        (95, "jonas", "resolve"),
        (95, "mette", "resolve"),
        (95, "pd", "resolve/-"),
    ]
    assert second_planner == [3], "the other planner wrote followup:1 once per recipient"
    assert {e["dedup_key"] for e in pd_events} == {dedup_key_for(made["storm"].id)}
    first = bodies["followup:1"]
    assert "(update 1)" in first["title"]
    assert (
        "Update: the storm is growing (peak_rose, posts_grew): 20 complaint posts (was 10); "
        "peak 20 (was 10); severity warning." in first["message"]
    )
    assert "severity critical (was warning)" in bodies["followup:2"]["message"]
    assert "40 complaint posts (was 23)" in bodies["followup:3"]["message"]
    steps = [r.step for r in outbox(any_engine, made["storm"])]
    assert steps.count("trigger") == 2
    assert not any(s.startswith("repeat") for s in steps)


def test_followups_need_someone_already_paged_and_an_open_storm(any_engine: Engine) -> None:
    """A storm that keeps signalling at the same size gets no follow-up."""
    storms = Storms(any_engine)
    with http_receiver() as people:
        stage = PagingStage(
            paging_settings(any_engine, people.port, followup_minutes=5), any_engine
        )
        steady = storms.signal(signal("Acme", 0, posts=10, observed=10))
        stage.step(T0)
        for minute in range(5, 40, 5):  # the same size again and again
            storms.signal(signal("Acme", minute, posts=10, observed=10))
            stage.step(T0 + timedelta(minutes=minute))
    assert [describe(h)[2] for h in people.hits] == ["trigger", "escalate:2"]
    assert storms.book.get(steady.id).signal_count == 8, "signals kept coming: no growth"


def test_an_acknowledged_storms_failed_followup_is_retried_and_resolving_cancels_it(
    any_engine: Engine,
) -> None:
    storms = Storms(any_engine)
    made: dict[str, Incident] = {}
    failed: set[str] = set()
    with http_receiver() as people:
        plain = people.answer

        def answer(hit: Hit) -> tuple[int, bytes]:  # each follow-up fails on its first try
            step = describe(hit)[2]
            if step.startswith("followup:") and step not in failed:
                failed.add(step)
                return 503, b"{}"
            return plain(hit)

        people.answer = answer  # type: ignore[method-assign]
        ticker = Ticker(PagingStage(paging_settings(any_engine, people.port), any_engine), [people])

        def grow(minute: int, posts: int) -> Callable[[], None]:
            sig = signal("Acme", minute, posts=posts, observed=posts)
            return lambda: made.__setitem__("storm", storms.signal(sig))

        ticker.run(
            range(0, 91),
            {
                0: grow(0, 10),
                5: lambda: storms.decide(made["storm"], "ack", 5),
                10: grow(10, 20),
                40: grow(40, 40),
                61: lambda: storms.decide(made["storm"], "resolve", 61),
            },
        )
    assert failed == {"followup:1", "followup:2"}
    assert ticker.of(made["storm"]) == [
        (0, "mette", "trigger"),
        (5, "mette", "acknowledge"),
        (31, "mette", "followup:1"),  # failed at 30, kept pending, retried (not cancelled)
        (61, "mette", "resolve"),
    ]
    rows = {r.step: r for r in outbox(any_engine, made["storm"])}
    assert rows["followup:1"].status == "sent"
    assert (rows["followup:2"].status, rows["followup:2"].last_reason) == (
        "cancelled",
        "cancelled: resolved",
    ), "failed at 60; the storm was resolved before its retry"
