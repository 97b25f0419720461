"""Resolving tells PagerDuty: the paging stage against a local PagerDuty-shaped receiver.

An incident's trigger, acknowledge and resolve each reach the Events v2 endpoint exactly
once, all with the incident's stable ``dedup_key``, whoever closes it: a manager with the
``stormwatch incidents ack/resolve`` command (which writes the incident row, nothing else)
or the detector when the storm goes quiet. Later ticks and a restart send nothing more.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from alerts.page import dedup_key_for
from monitor.cli import app
from monitor.stages.page import PagingStage
from monitor.storage.db import session_scope
from monitor.storage.models import IncidentRow
from tests.support.fixtures.clock import T0
from tests.support.servers.receivers import Receiver, http_receiver
from tests.support.worlds.paging import PD_KEY, Storms, paging_settings, signal


def events(pd: Receiver) -> list[tuple[str, str, str]]:
    """(action, dedup_key, routing_key) of every event PagerDuty accepted, in order."""
    bodies = [hit.json() for hit in pd.accepted()]
    assert {hit.path for hit in pd.accepted()} <= {"/v2/enqueue"}
    return [(b["event_action"], b["dedup_key"], b["routing_key"]) for b in bodies]


def decided(engine: Engine, incident_id: str) -> IncidentRow:
    with session_scope(engine) as session:
        row = session.get(IncidentRow, incident_id)
        assert row is not None
        return row


def test_ack_and_resolve_from_the_cli_reach_pagerduty_once_with_the_same_dedup_key(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    # the CLI stamps decisions with the wall clock, so the simulated day starts just before it
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    config = tmp_path / "sw.toml"
    config.write_text(f'[database]\nurl = "{sqlite_engine.url}"\n')
    cli = CliRunner()
    storms = Storms(sqlite_engine)
    with http_receiver() as people, http_receiver(ok_status=202) as pd:
        settings = paging_settings(sqlite_engine, people.port, pd.port)
        stage = PagingStage(settings, sqlite_engine)
        sig = signal("Acme", 0, posts=30, observed=30)
        window = (start - timedelta(hours=1), start)
        incident = storms.signal(replace(sig, at=start, window_start=window[0], window_end=start))
        stage.step(start)
        stage.step(start + timedelta(minutes=1))
        after_trigger = events(pd)

        acked = cli.invoke(
            app, ["incidents", "ack", incident.id, "--by", "mette", "-c", str(config)]
        )
        assert acked.exit_code == 0, acked.output
        acked_at = decided(sqlite_engine, incident.id).acknowledged_at
        assert acked_at is not None
        stage.step(acked_at)
        stage.step(acked_at + timedelta(seconds=30))
        after_ack = events(pd)

        resolved = cli.invoke(app, ["incidents", "resolve", incident.id, "-c", str(config)])
        assert resolved.exit_code == 0, resolved.output
        resolved_at = decided(sqlite_engine, incident.id).resolved_at
        assert resolved_at is not None
        stage.step(resolved_at)
        for later in (timedelta(minutes=5), timedelta(hours=2)):
            stage.step(resolved_at + later)
        PagingStage(settings, sqlite_engine).step(resolved_at + timedelta(hours=3))  # restart

    key = dedup_key_for(incident.id)
    assert after_trigger == [("trigger", key, PD_KEY)]
    assert after_ack == [("trigger", key, PD_KEY), ("acknowledge", key, PD_KEY)]
    assert events(pd) == [
        ("trigger", key, PD_KEY),
        ("acknowledge", key, PD_KEY),
        ("resolve", key, PD_KEY),
    ]
    assert [h.path for h in people.accepted()] == ["/mette", "/mette", "/mette"]


def test_a_storm_the_detector_resolves_as_quiet_is_resolved_in_pagerduty(
    any_engine: Engine,
) -> None:
    storms = Storms(any_engine)
    with http_receiver() as people, http_receiver(ok_status=202) as pd:
        stage = PagingStage(paging_settings(any_engine, people.port, pd.port), any_engine)
        incident = storms.signal(signal("Acme", 0, posts=30, observed=30))
        quiet = T0 + storms.book.config.quiet_period
        now = T0
        while now < quiet:
            stage.step(now)
            now += timedelta(minutes=5)
        before = events(pd)
        [update] = storms.book.tick(quiet)  # what DetectStage.step does, then saves
        assert update.reason == "quiet_period"
        storms.save(update.incident, quiet)
        stage.step(quiet)
        stage.step(quiet + timedelta(minutes=5))
    key = dedup_key_for(incident.id)
    assert before == [("trigger", key, PD_KEY)]
    assert events(pd) == [("trigger", key, PD_KEY), ("resolve", key, PD_KEY)]
    assert [h.path for h in people.accepted()] == ["/mette", "/jonas", "/mette", "/jonas"]


def test_a_reopened_incident_pages_afresh_and_pagerduty_opens_a_new_alert(
    any_engine: Engine,
) -> None:
    """Resolved as quiet, reopened by new signals within the cooldown: round 2 has its own
    dedup key (PagerDuty's alert for round 1 stays resolved) and its own escalation; the
    acknowledgement of round 1 does not silence it."""
    storms = Storms(any_engine)
    hour = timedelta(hours=1)
    with http_receiver() as people, http_receiver(ok_status=202) as pd:
        stage = PagingStage(paging_settings(any_engine, people.port, pd.port), any_engine)
        incident = storms.signal(signal("Acme", 0, posts=30, observed=30))
        stage.step(T0)
        storms.decide(incident, "ack", 5)
        stage.step(T0 + timedelta(minutes=5))
        [quiet] = storms.book.tick(T0 + 2 * hour)
        storms.save(quiet.incident, T0 + 2 * hour)
        stage.step(T0 + 2 * hour)
        again = storms.signal(signal("Acme", 180, posts=40, observed=35))
        for minutes in (180, 181, 195, 196):
            stage.step(T0 + timedelta(minutes=minutes))
        storms.decide(again, "resolve", 200)
        stage.step(T0 + timedelta(minutes=200))
        stage.step(T0 + timedelta(hours=5))
    assert again.id == incident.id
    assert storms.book.get(incident.id).status == "resolved"
    first, second = dedup_key_for(incident.id), dedup_key_for(incident.id, 2)
    assert second == f"{first}/2"
    assert events(pd) == [
        ("trigger", first, PD_KEY),
        ("acknowledge", first, PD_KEY),
        ("resolve", first, PD_KEY),
        ("trigger", second, PD_KEY),
        ("resolve", second, PD_KEY),
    ]
    paths = [h.path for h in people.accepted()]
    assert paths[:5] == [
        "/mette",  # trigger
        "/mette",  # acknowledge
        "/mette",  # resolve (quiet)
        "/mette",  # round 2 trigger
        "/jonas",  # round 2 escalate:2, 15 minutes later
    ]
    assert sorted(paths[5:]) == ["/jonas", "/mette"]  # round 2 resolve, to both paged


def test_a_history_incident_that_goes_live_is_paged_from_then_without_a_burst(
    any_engine: Engine,
) -> None:
    storms = Storms(any_engine)
    with http_receiver() as people:
        stage = PagingStage(paging_settings(any_engine, people.port), any_engine)
        old = replace(signal("Acme", 0, posts=30, observed=30), history=True)
        incident = storms.signal(old)
        stage.step(T0)
        stage.step(T0 + timedelta(hours=1))
        assert people.hits == [], "history incidents never page"
        live = storms.signal(signal("Acme", 180, posts=40, observed=35))
        assert live.origin == "live"
        assert live.id == incident.id
        stage.step(T0 + timedelta(minutes=180))
        went_live = [h.path for h in people.accepted()]
        stage.step(T0 + timedelta(minutes=195))
    assert went_live == ["/mette"], "the first page only, not the escalation that fell due"
    assert [h.path for h in people.accepted()] == ["/mette", "/jonas"]
