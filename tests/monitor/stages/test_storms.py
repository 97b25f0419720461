"""The daemon's detect stage on a real database: readings in, incidents out, persisted,
rebuilt after a restart, and acknowledged from the CLI. Posts come from the scenario
simulator, arriving tick by tick as the crawler and classifier would store them."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from alerts.ack import verify_tap
from monitor.cli import app
from monitor.detect import simulate
from monitor.settings import parse_settings
from monitor.stages.detect import DetectStage, load_events
from monitor.stages.page import PagingStage
from monitor.storage import repo
from monitor.storage.db import session_scope
from monitor.storage.models import IncidentRow
from tests.support.fixtures.clock import STEP
from tests.support.seeds.posts import reading, record, store
from tests.support.worlds.paging import file_paging_settings


def test_storm_opens_one_persisted_incident_that_survives_a_restart_and_is_acked(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    scenario = simulate.storm(seed=2, tier="medium", peak=10.0, ramp_hours=0.5, warmup_days=7)
    onset = scenario.onsets()["Acme"]
    assert onset is not None
    cut = onset - timedelta(hours=2)
    events = sorted((e for e in scenario.events if e.brand == "Acme"), key=lambda e: e.at)
    store(sqlite_engine, [e for e in events if e.at <= cut], fetched=cut)  # the first crawl

    stage = DetectStage(sqlite_engine)
    stage.start(cut)
    now, opened = cut, []
    while now < onset + timedelta(hours=3):
        now += STEP
        store(sqlite_engine, [e for e in events if now - STEP < e.at <= now], fetched=None)
        opened += [u for u in stage.step(now) if u.action == "opened"]
    assert len(opened) == 1, [u.incident.id for u in opened]
    incident = opened[0].incident
    assert incident.origin == "live"
    assert onset <= incident.opened_at <= onset + timedelta(hours=2)

    with session_scope(sqlite_engine) as s:
        rows = list(s.exec(select(IncidentRow)).all())
    assert [r.id for r in rows] == [incident.id]
    assert rows[0].status == "triggered"
    assert "Acme" in rows[0].explanation

    restarted = DetectStage(sqlite_engine)
    restarted.start(now)
    assert restarted.book is not None
    assert [i.id for i in restarted.book.open_incidents()] == [incident.id]

    config = tmp_path / "sw.toml"
    config.write_text(f'[database]\nurl = "{sqlite_engine.url}"\n')
    acked = CliRunner().invoke(
        app, ["incidents", "ack", incident.id, "--by", "mette", "-c", str(config)]
    )
    assert acked.exit_code == 0
    assert "acknowledged" in acked.output
    restarted.step(now + STEP)
    assert restarted.book.get(incident.id).status == "acknowledged"
    listed = CliRunner().invoke(app, ["incidents", "list", "--json", "-c", str(config)])
    [row] = [json.loads(line) for line in listed.output.splitlines()]
    assert row["status"] == "acknowledged"
    assert row["acknowledged_by"] == "mette"
    shown = CliRunner().invoke(app, ["incidents", "show", incident.id, "-c", str(config)])
    assert shown.exit_code == 0
    assert "Acme" in shown.output
    assert CliRunner().invoke(app, ["incidents", "show", "nope", "-c", str(config)]).exit_code == 1


def test_an_opened_storm_pages_at_once_escalates_on_time_and_ack_stops_it(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    scenario = simulate.storm(seed=2, tier="medium", peak=10.0, ramp_hours=0.5, warmup_days=7)
    onset = scenario.onsets()["Acme"]
    assert onset is not None
    cut = onset - timedelta(hours=1)
    events = sorted((e for e in scenario.events if e.brand == "Acme"), key=lambda e: e.at)
    store(sqlite_engine, [e for e in events if e.at <= cut], fetched=cut)
    stage, paging = (
        DetectStage(sqlite_engine),
        PagingStage(file_paging_settings(tmp_path, sqlite_engine), sqlite_engine),
    )
    stage.start(cut)
    log = tmp_path / "pages.log"
    now, opened_at = cut, None
    while opened_at is None:
        now += STEP
        store(sqlite_engine, [e for e in events if now - STEP < e.at <= now], fetched=None)
        if any(u.action == "opened" for u in stage.step(now)):
            opened_at = now
        paging.step(now)

    def sent(step: str) -> list[dict[str, str]]:
        rows = [json.loads(line) for line in log.read_text().splitlines()]
        return [r for r in rows if r["step"] == step]

    [first] = sent("trigger")
    assert first["sent_at"] == opened_at.isoformat(), "paged on the tick the incident opened"
    link = urlsplit(first["ack_url"])
    assert link.path.startswith("/tap/ack/"), "a page to one person carries a one-tap link"
    token, incident_id = parse_qs(link.query)["token"][0], unquote(link.path.split("/")[3])
    check = verify_tap(b"k" * 32, token, incident_id, "ack", opened_at)
    assert (check.ok, check.person) == (True, "mette"), "bound to the person it went to"
    assert "Acme" in first["explanation"]
    assert "k" * 32 not in log.read_text(), "the signing key never appears in a page"

    for minutes in (5, 10, 14):
        paging.step(opened_at + timedelta(minutes=minutes))
    assert sent("escalate:2") == [], "not before level 1's wait runs out"
    paging.step(opened_at + timedelta(minutes=15))
    assert len(sent("escalate:2")) == 1, "exactly when the wait runs out"

    again = PagingStage(file_paging_settings(tmp_path, sqlite_engine), sqlite_engine)  # a restart
    again.step(opened_at + timedelta(minutes=16))
    assert len(sent("trigger")) == 1, "nothing sent twice"
    assert len(sent("escalate:2")) == 1, "nothing sent twice"

    acked_at = opened_at + timedelta(minutes=20)  # the manager acknowledges (simulated time)
    with session_scope(sqlite_engine) as s:
        [row] = s.exec(select(IncidentRow)).all()
        row.status, row.acknowledged_at = "acknowledged", acked_at
        s.add(row)
    for minutes in (20, 46, 61, 90):
        again.step(opened_at + timedelta(minutes=minutes))
    assert [
        r for r in map(json.loads, log.read_text().splitlines()) if r["step"].startswith("repeat")
    ] == []


def test_a_storm_that_began_just_before_the_first_crawl_pages_on_the_first_tick(
    sqlite_engine: Engine,
) -> None:
    """A fresh install starts 25 minutes into a storm: the half hour before the first crawl
    counts as now (the cut-over, monitor.stages.detect.FIRST_CRAWL_LOOKBACK), so the storm pages on
    the first tick (it paged 10 minutes later when all of it was history); the days-old
    backlog before it only teaches the baseline."""
    scenario = simulate.storm(seed=0, tier="high", peak=10.0, ramp_hours=0.5, warmup_days=7)
    onset = scenario.onsets()["Acme"]
    assert onset is not None
    crawl = onset + timedelta(minutes=25)
    events = [e for e in scenario.events if e.brand == "Acme" and e.at <= crawl]
    store(sqlite_engine, events, fetched=crawl)  # the first crawl: seven days and the storm

    stage = DetectStage(sqlite_engine)
    stage.start(crawl)
    [update] = [u for u in stage.step(crawl) if u.action == "opened"]
    assert update.pages
    assert update.incident.origin == "live"
    assert update.incident.onset_at >= crawl - timedelta(minutes=30), "paged on recent posts"
    assert stage.detector is not None, (
        "never on days-old backlog: the cut-over is half an hour before the first crawl"
    )
    assert stage.detector.live_since == crawl - timedelta(minutes=30), (
        "never on days-old backlog: the cut-over is half an hour before the first crawl"
    )


def _one_night(engine: Engine, authors: list[str]) -> list[str]:
    """A quiet brand's three weeks, then at night one complaint post per entry of `authors`
    within 20 minutes, stored as the crawler would; the actions the detect stage took."""
    night = datetime(2026, 3, 4, 1, 30, tzinfo=UTC)
    history = simulate.daily_history("Acme", night - timedelta(minutes=30), 21, 3, 17)
    store(engine, history, fetched=night - timedelta(minutes=30))
    stage = DetectStage(engine)
    stage.start(night - timedelta(minutes=30))
    times = [night - timedelta(minutes=20 - 4 * i) for i in range(len(authors))]
    posts = simulate.make_events("Acme", times, 1.0, prefix="night")
    store(engine, [replace(p, author=a) for p, a in zip(posts, authors, strict=True)], None)
    return [u.action for u in stage.step(night)]


def test_one_customer_posting_five_times_at_night_is_one_voice(sqlite_engine: Engine) -> None:
    """The stored post's author reaches the detectors: five posts by "Mette H" count once."""
    assert "opened" not in _one_night(sqlite_engine, ["Mette H"] * 5)


def test_five_customers_at_night_still_open_a_storm(sqlite_engine: Engine) -> None:
    assert "opened" in _one_night(sqlite_engine, ["Mette", "Lars", "Sanne", "Ole", "Bo"])


def test_a_stored_post_naming_two_brands_reaches_the_detectors_as_naming_both(
    sqlite_engine: Engine,
) -> None:
    """The stage tells the detectors which other brands a post names (from post_brands),
    so a competitor's storm can be told from ours (monitor/detect/competitors.py)."""
    at = datetime(2026, 3, 4, 1, 0, tzinfo=UTC)
    text = "Skiftede fra Nordtel til Sydnet, kæmpe fejl"
    both = record("both1", text, brands=("Nordtel", "Sydnet"))
    alone = record("alone1", "Nordtel er nede", brands=("Nordtel",))
    settings = parse_settings({"sources": [{"name": "sim", "kind": "feed", "url": "http://x/f"}]})
    with session_scope(sqlite_engine) as s:
        sid = repo.sync_sources(s, settings, at)["sim"].id
        assert sid is not None
        repo.store_posts(s, sid, [both, alone], at)
        for post, brand in [(both, "Nordtel"), (both, "Sydnet"), (alone, "Nordtel")]:
            s.add(reading(post, brand, at))
    with session_scope(sqlite_engine) as s:
        events = load_events(s)
    assert {(e.post_id, e.brand, e.also) for e in events} == {
        ("both1", "Nordtel", ("Sydnet",)),
        ("both1", "Sydnet", ("Nordtel",)),
        ("alone1", "Nordtel", ()),
    }
