"""A person's decision is final for its paging round, whatever the detector does next.

The daemon's detect and paging stages run on a real database over a simulated storm that is
still signalling when a manager resolves it; pages go to real local receivers (a webhook per
person and a PagerDuty Events v2 receiver). Decisions go through the function the CLI and
the web UI call (``monitor.queue.incidents.act``). Time is injected; nothing sleeps.

- resolved, and reopened by the detector in the same tick: round 1's resolve notices reach
  everyone round 1 paged (PagerDuty's first alert is resolved), and round 2 pages afresh,
  saying the storm continues after it was resolved;
- acknowledged and resolved within one tick: both notices go out, acknowledge first;
- a decision made while a tick runs is not overwritten by that tick.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from alerts.page import dedup_key_for
from alerts.store import OutboxRow
from monitor.detect import simulate
from monitor.detect.events import PostEvent
from monitor.queue.incidents import act
from monitor.stages.detect import DetectStage
from monitor.stages.page import PagingStage
from monitor.storage.db import session_scope
from monitor.storage.models import IncidentRow
from tests.support.fixtures.clock import STEP
from tests.support.seeds.posts import store
from tests.support.servers.receivers import Hit, Receiver, http_receiver
from tests.support.worlds.paging import describe, paging_settings


@dataclass
class Storm:
    """A medium-volume storm on the daemon's detect and paging stages, tick by tick."""

    engine: Engine
    people: Receiver
    pd: Receiver
    events: list[PostEvent]
    now: datetime
    stage: DetectStage = field(init=False)
    paging: PagingStage = field(init=False)
    actions: list[tuple[datetime, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stage = DetectStage(self.engine)
        self.stage.start(self.now)
        settings = paging_settings(self.engine, self.people.port, self.pd.port)
        self.paging = PagingStage(settings, self.engine)

    def tick(self) -> None:
        self.now += STEP
        fresh = [e for e in self.events if self.now - STEP < e.at <= self.now]
        store(self.engine, fresh, fetched=None)
        self.actions += [(self.now, u.action) for u in self.stage.step(self.now)]
        self.paging.step(self.now)

    def until(self, action: str) -> datetime:
        while not any(a == action for _, a in self.actions):
            self.tick()
        return self.now

    def decide(self, action: str, at: datetime) -> None:
        with session_scope(self.engine) as session:
            [row] = session.exec(select(IncidentRow)).all()
            act(session, row.id, action, "mette", at)

    def incident_id(self) -> str:
        with session_scope(self.engine) as session:
            [row] = session.exec(select(IncidentRow)).all()
            return row.id


@pytest.fixture
def storm(sqlite_engine: Engine) -> Iterator[Storm]:
    scenario = simulate.storm(seed=2, tier="medium", peak=10.0, ramp_hours=0.5, warmup_days=7)
    onset = scenario.onsets()["Acme"]
    assert onset is not None
    cut = onset - timedelta(hours=1)
    events = sorted((e for e in scenario.events if e.brand == "Acme"), key=lambda e: e.at)
    store(sqlite_engine, [e for e in events if e.at <= cut], fetched=cut)  # the first crawl
    with http_receiver() as people, http_receiver(ok_status=202) as pd:
        yield Storm(sqlite_engine, people, pd, events, cut)


def steps(hits: list[Hit], key: str) -> list[tuple[str, str]]:
    """(where, step) of every request about the paging round ``key``, in arrival order."""
    found = []
    for hit in hits:
        where, incident, step = describe(hit)
        if where != "pd":  # a person's page names its round in the text
            incident = dedup_key_for(incident, _round(hit.json()["message"]))[11:]
        if "stormwatch-" + incident == key:
            found.append((where, step))
    return found


def _round(message: str) -> int:
    found = re.search(r"Round: (\d+)", message)
    return int(found.group(1)) if found else 1


def notices(engine: Engine, key: str, step: str) -> list[OutboxRow]:
    with session_scope(engine) as session:
        query = select(OutboxRow).where(OutboxRow.dedup_key == key, OutboxRow.step == step)
        return list(session.exec(query))


def test_resolve_and_reopen_in_one_tick_sends_the_resolve_and_pages_round_two(
    storm: Storm,
) -> None:
    opened = storm.until("opened")
    while storm.now < opened + timedelta(minutes=15):
        storm.tick()  # level 2 (jonas) is paged after 15 minutes
    incident = storm.incident_id()
    first, second = dedup_key_for(incident), dedup_key_for(incident, 2)
    assert sorted(steps(storm.people.accepted(), first)) == [
        ("jonas", "escalate:2"),
        ("mette", "trigger"),
    ]

    resolved_at = storm.now + timedelta(minutes=4, seconds=15)
    storm.decide("resolve", resolved_at)  # the storm is still signalling
    storm.tick()
    assert (storm.now, "reopened") in storm.actions, "the detector reopened it in that tick"

    people, pd = storm.people.accepted(), storm.pd.accepted()
    assert sorted(steps(people, first)) == [
        ("jonas", "escalate:2"),
        ("jonas", "resolve"),
        ("mette", "resolve"),
        ("mette", "trigger"),
    ], "round 1's resolve reached everyone it paged"
    assert steps(pd, first) == [("pd", "trigger/trigger"), ("pd", "resolve/-")], (
        "PagerDuty's first alert is resolved, not left acknowledged forever"
    )
    assert steps(people, second) == [("mette", "trigger")], "round 2 pages afresh"
    assert steps(pd, second) == [("pd", "trigger/trigger")], "as a new PagerDuty alert"
    [page] = [hit.json()["message"] for hit in people if "Step: trigger" in hit.json()["message"]][
        1:
    ]
    local = resolved_at.astimezone(paging_zone(storm)).strftime("%H:%M")
    assert f"The storm continues after it was resolved at {local}" in page
    assert "(round 2)" in page

    with session_scope(storm.engine) as session:
        row = session.get(IncidentRow, incident)
        assert row is not None, "round 2 is open"
        assert row.status == "triggered", "round 2 is open"
    storm.tick()
    storm.tick()
    assert len(notices(storm.engine, first, "resolve")) == 3, "each notice written once"


def test_acknowledge_and_resolve_in_one_tick_send_both_notices(storm: Storm) -> None:
    opened = storm.until("opened")
    while storm.now < opened + timedelta(minutes=15):
        storm.tick()
    first = dedup_key_for(storm.incident_id())
    storm.decide("ack", storm.now + timedelta(minutes=1))
    storm.decide("resolve", storm.now + timedelta(minutes=2))
    storm.tick()

    people = steps(storm.people.accepted(), first)
    for who in ("mette", "jonas"):
        mine = [step for where, step in people if where == who]
        assert mine[-2:] == ["acknowledge", "resolve"], (who, mine)
    assert steps(storm.pd.accepted(), first) == [
        ("pd", "trigger/trigger"),
        ("pd", "acknowledge/-"),
        ("pd", "resolve/-"),
    ]
    assert len(notices(storm.engine, first, "acknowledge")) == 3
    assert len(notices(storm.engine, first, "resolve")) == 3


def test_a_decision_made_while_a_tick_runs_is_not_overwritten(storm: Storm) -> None:
    storm.until("opened")
    incident = storm.incident_id()
    later = storm.now + STEP
    real = storm.stage._save

    def save_after_a_resolve(*args: object) -> None:
        storm.decide("resolve", later - timedelta(seconds=30))  # between sync and save
        real(*args)  # type: ignore[arg-type]

    storm.stage._save = save_after_a_resolve  # type: ignore[method-assign]
    storm.tick()
    storm.stage._save = real  # type: ignore[method-assign]
    with session_scope(storm.engine) as session:
        row = session.get(IncidentRow, incident)
        assert row is not None
        assert (row.status, row.resolved_at) == (
            "resolved",
            later - timedelta(seconds=30),
        )


def paging_zone(storm: Storm) -> object:
    from zoneinfo import ZoneInfo

    return ZoneInfo(storm.paging.config.oncall.business_hours.timezone)
