"""The web UI's world, shared by the web tests: a seeded database (through the real store,
flag and incident code paths), a fake clock, logged-in clients, an HTML inspector, and the
showcase storm the browser tests and the README screenshots look at.

The seeded database is built once per test module and copied for each test (a copy of a
SQLite file costs far less than migrating and hashing passwords again).
"""

from __future__ import annotations

import math
import random
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from alerts.page import dedup_key_for
from alerts.store import OutboxRow
from monitor import accounts
from monitor.accounts import AccountPolicy
from monitor.detect.events import PostEvent, Signal
from monitor.detect.explain import explain
from monitor.detect.incidents import Incident, TimelineEntry
from monitor.parse.text import content_hash
from monitor.queue import service
from monitor.settings import DatabaseSettings, Settings, parse_settings
from monitor.stages.detect import save_incident
from monitor.storage import repo
from monitor.storage.db import make_engine, session_scope, upgrade
from monitor.storage.models import Reading, Source
from monitor.web import create_app
from tests.support.fixtures.clock import T0

NOW = T0 + timedelta(minutes=10)
KEY = "k" * 32
PASSWORD = "correct horse battery"
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
USERS = {"ada": "admin", "mia": "manager", "vic": "viewer"}
INCIDENT = "Nordtel:volume:20261102T0900Z"
HOSTILE_SOURCE = '<script>alert("source")</script>'
HOSTILE_TITLE = "<script>alert(1)</script> Nordtel nede"
HOSTILE_AUTHOR = '<b onmouseover="alert(2)">Mette</b>'
PASSAGE = "Nordtel har lukket mit internet!"
HOSTILE_TEXT = f"Hej. <img src=x onerror=alert(1)> {PASSAGE} Skandale."
HOSTILE_URL = "javascript:alert(1)"
EXPLANATION = "Nordtel: 12 complaints in the last hour, 6x normal <script>alert(3)</script>\nWhy: …"


def settings(policy_failures: int = 5, schedule_zone: str | None = "Europe/Copenhagen") -> Settings:
    """The web world's settings; ``schedule_zone`` None: no on-call schedule (pages then
    show times in the browser's zone)."""
    oncall: dict[str, object] = {"people": [{"name": "mette", "channels": ["pages"]}]}
    if schedule_zone:
        schedule = {
            "name": "duty",
            "rotation": "weekly",
            "start": "2026-01-05",
            "members": ["mette"],
            "timezone": schedule_zone,
        }
        oncall["schedules"] = [schedule]
        oncall["policies"] = [{"name": "storms", "levels": [{"schedules": ["duty"]}]}]
    return parse_settings(
        {
            "web": {"public_url": "http://testserver", "secret_key": KEY},
            "brands": [{"name": "Nordtel", "aliases": ["Nordtel"]}],
            "sources": [
                {"name": "blog", "kind": "feed", "url": "http://127.0.0.1:1/feed"},
                {"name": HOSTILE_SOURCE, "kind": "feed", "url": "http://127.0.0.1:1/evil"},
            ],
            "channels": [{"name": "pages", "url": "stdout://"}],
            "oncall": oncall,
        }
    )


def _record(pid: str, text: str, **kw: object) -> repo.PostRecord:
    values: dict[str, object] = {
        "id": pid,
        "canonical_url": f"http://127.0.0.1:1/p/{pid}",
        "kind": "post",
        "thread_id": pid,
        "parent_id": None,
        "external_id": None,
        "author": "Mette",
        "title": "Tre uger uden internet",
        "text": text,
        "published_at": T0 - timedelta(minutes=30),
        "lang": "da",
        "brands": ("Nordtel",),
        "brand_reason": "mention",
        "content_hash": content_hash(None, text),
    }
    values.update(kw)
    return repo.PostRecord(**values)  # type: ignore[arg-type]


def _reading(post: repo.PostRecord, complaint: float, start: int, end: int) -> Reading:
    return Reading(
        post_id=post.id,
        brand="Nordtel",
        content_hash=post.content_hash,
        model="test",
        negative=0.8,
        neutral=0.15,
        positive=0.05,
        complaint=complaint,
        label="complaint",
        passage=post.text[start:end],
        passage_source="mention",
        passage_start=start,
        passage_end=end,
        classified_at=T0,
    )


def _signal() -> Signal:
    return Signal(
        kind="volume_surge",
        brand="Nordtel",
        severity="critical",
        reason="volume_surge",
        at=T0,
        window_start=T0 - timedelta(hours=1),
        window_end=T0,
        observed=12.0,
        expected=2.0,
        ratio=6.0,
        post_ids=("hostile", "plain"),
    )


def seed(engine: Engine) -> None:
    """Two flagged posts (one hostile), a comment, an open incident, three users."""
    start = HOSTILE_TEXT.index(PASSAGE)
    hostile = _record(
        "hostile",
        HOSTILE_TEXT,
        title=HOSTILE_TITLE,
        author=HOSTILE_AUTHOR,
        canonical_url=HOSTILE_URL,
    )
    plain = _record("plain", "Nordtel svarer ikke. Jeg har ventet i to timer.")
    comment = _record(
        "comment", "Samme her, Nordtel er nede.", kind="comment", thread_id="plain", title=None
    )
    readings = [_reading(hostile, 0.95, start, start + len(PASSAGE)), _reading(plain, 0.7, 0, 20)]
    with session_scope(engine) as session:
        sources = repo.sync_sources(session, settings(), T0)
        repo.store_posts(session, _id(sources["blog"].id), [hostile, plain, comment], T0)
        for reading in readings:
            repo.save_reading(session, reading)
        session.flush()
        service.flag(session, readings, 0.5, T0)
        save_incident(session, seed_incident(INCIDENT), EXPLANATION, T0)
        for name, role in USERS.items():
            accounts.add_user(session, name, role, PASSWORD, T0)
        bad = {
            "id": sources[HOSTILE_SOURCE].id,
            "last_error": "<img src=x onerror=alert(4)>",
            "last_error_kind": "parse",
            "consecutive_failures": 1,
        }
        repo.update_sources(session, [bad])


def seed_incident(incident_id: str) -> Incident:
    """The seeded volume surge on Nordtel (the hostile and the plain post), as ``incident_id``."""
    signal = _signal()
    return Incident(
        id=incident_id,
        brand="Nordtel",
        family="volume",
        kind="volume_surge",
        severity="critical",
        status="triggered",
        origin="live",
        opened_at=T0,
        onset_at=T0 - timedelta(hours=1),
        last_signal_at=T0,
        first=signal,
        peak=signal,
        last=signal,
        post_ids=["hostile", "plain"],
        timeline=[TimelineEntry(T0, "opened", "volume_surge", "<i>x</i>")],
    )


def _id(value: int | None) -> int:
    assert value is not None
    return value


def build_template(directory: Path) -> Path:
    path = directory / "template.db"
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{path}"))
    upgrade(engine)
    previous, accounts.HASHER = accounts.HASHER, CHEAP
    try:
        seed(engine)
    finally:
        accounts.HASHER = previous
    engine.dispose()  # checkpoints the WAL: the file alone is the database
    return path


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class World:
    engine: Engine
    settings: Settings
    clock: Clock
    app: FastAPI
    clients: list[TestClient] = field(default_factory=list)

    def client(self) -> TestClient:
        client = TestClient(self.app, base_url="http://testserver", follow_redirects=False)
        self.clients.append(client)
        return client

    def login(self, name: str, client: TestClient | None = None) -> TestClient:
        """A client logged in as ``name`` through the login form; its CSRF token is set
        as ``client.csrf``."""
        client = client or self.client()
        form = client.get("/login")
        response = client.post(
            "/login",
            data={"name": name, "password": PASSWORD, "csrf_token": login_token(form.text)},
        )
        assert response.status_code == 303, response.text
        client.csrf = client.get("/api/v1/me").json()["csrf_token"]  # type: ignore[attr-defined]
        return client


def login_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF field in the login form"
    return found.group(1)


def open_world(
    template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    conf: Settings | None = None,
    **policy: object,
) -> Iterator[World]:
    """The app over a copy of ``template``, with ``conf`` (default :func:`settings`)."""
    monkeypatch.setattr(accounts, "HASHER", CHEAP)
    path = tmp_path / "web.db"
    shutil.copy(template, path)
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{path}"))
    clock = Clock()
    conf = conf or settings()
    app = create_app(conf, engine, clock=clock, policy=AccountPolicy(**policy))  # type: ignore[arg-type]
    world = World(engine, conf, clock, app)
    try:
        yield world
    finally:
        for client in world.clients:
            client.close()
        engine.dispose()


class Tags(HTMLParser):
    """Every start tag and its attributes, as a browser would see them."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_inert(page: str) -> None:
    """No script but ours, no event handler attribute, no javascript: link or form."""
    for tag, attrs in Tags(page).tags:
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/"), attrs
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        for name in ("href", "src", "action", "formaction"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("javascript:", "data:", "vbscript:")), (tag, attrs)
        assert tag not in ("img", "iframe", "object", "embed", "b"), (tag, attrs)
    assert not re.search(r"<[^>]*\bon\w+\s*=", page)


# --- a realistic showcase world: the browser tests and the README screenshots -----------------
#
# Four brands; posts in Danish, Swedish, Norwegian and English; a Nordtel complaint storm
# after eight ordinary days (the chart's band) with an open incident; posts at several
# triage stages; one hostile post whose every field tries to run script. It is a template
# of its own: the seed above, which the other web tests count on, is untouched.

SHOWCASE_INCIDENT = "Nordtel:storm:20261102T0840Z"
PWN_SOURCE = "<script>window.__pwned=4</script>nyhedsfeed"
PWN_TITLE = "<script>window.__pwned=1</script> Kvik Bank spærrer kort"
PWN_PASSAGE = "Kvik Bank har spærret mit kort uden grund!"
PWN_TEXT = (
    f'Hej <img src=x onerror="window.__pwned=2"> {PWN_PASSAGE} Læs mere: '
    '<a href="javascript:window.__pwned=3">klik her</a> eller javascript:window.__pwned=3 '
    '<svg onload="window.__pwned=6"></svg>'
)
PWN_AUTHOR = '<img src=x onerror="window.__pwned=5">Mallory'
PWN_URL = "javascript:window.__pwned=3"
PWN_ASSIGNEE = '<b onmouseover="window.__pwned=7">x</b>'

SHOWCASE_SOURCES = {
    "trustpilot-dk": ("html", "https://dk.trustpilot.example/review/"),
    "reddit-denmark": ("reddit", "https://www.reddit.com/r/Denmark/comments/"),
    "reddit-norge": ("reddit", "https://www.reddit.com/r/norge/comments/"),
    "flashback": ("html", "https://www.flashback.example/t/"),
    "nordtel-forum": ("discourse", "https://forum.nordtel.example/t/"),
    PWN_SOURCE: ("feed", "http://127.0.0.1:1/evil/"),
}


@dataclass(frozen=True)
class ShowPost:
    id: str
    brand: str
    lang: str
    source: str
    minutes: int  # published this many minutes after T0 (09:00 UTC; the clock says 09:10)
    complaint: float
    author: str | None
    title: str | None
    text: str
    thread: str | None = None  # a comment in this post's thread
    passage: str | None = None  # what the classifier read (default: the brand's sentence)


def _storm() -> list[ShowPost]:
    p = ShowPost
    return [
        p("s01", "Nordtel", "da", "trustpilot-dk", -75, 0.93, "Jens P.",
          "Nordtel nede i hele Aarhus",
          "Nordtel har været nede i Aarhus siden kvart i otte. Både fiber og mobildata er væk, "
          "og kundeservicen tager ikke telefonen."),
        p("s02", "Nordtel", "da", "reddit-denmark", -70, 0.71, "u/fynbo_88",
          "Nogen andre uden net?",
          "Er Nordtel nede for andre end mig? Ingen mobildata i Odense siden i morges."),
        p("s03", "Nordtel", "sv", "flashback", -62, 0.90, "skanepaul", "Nordtel nere i Malmö",
          "Nordtel ligger nere i Malmö och ingen på kundtjänst svarar. Tredje gången i år."),
        p("s04", "Nordtel", "nb", "reddit-norge", -55, 0.86, "oslo_gutt", "Nordtel-brudd i Oslo?",
          "Ingen dekning fra Nordtel i Oslo sentrum. Kundeservice sier de ikke vet noe."),
        p("s05", "Nordtel", "da", "nordtel-forum", -50, 0.95, "Mette K.", "Håbløs ventetid",
          "Har ventet 47 minutter i telefonkø hos Nordtel. Det er håbløst, og chatten lukker "
          "bare ned."),
        p("s06", "Nordtel", "en", "trustpilot-dk", -44, 0.92, "Sarah W.", "Nordtel down for hours",
          "Nordtel has been down in Aalborg for three hours and nobody at customer service "
          "picks up. Working from home is impossible."),
        p("s07", "Nordtel", "da", "trustpilot-dk", -38, 0.88, "Lars B.",
          "Dobbelt træk og intet net",
          "Nordtel har lige trukket 349 kr. to gange for marts, og nu virker nettet heller ikke. "
          "Kundeservice henviser bare til en FAQ."),
        p("s08", "Nordtel", "sv", "flashback", -33, 0.90, "Anna L.", "Dubbeldebiterad och utan nät",
          "Dubbeldebiterad av Nordtel och utan mobildata, samma dag. Helt oacceptabelt."),
        p("s09", "Nordtel", "da", "reddit-denmark", -30, 0.94, "u/vejlenser",
          "Nordtel: fiber nede i hele Jylland",
          "Nordtel har lukket ned for hele Vejle. Ingen besked på driftssiden, og kundeservicen "
          "er umulig at få fat i."),
        p("c1", "Nordtel", "da", "reddit-denmark", -26, 0.78, "u/horsens_heidi", None,
          "Samme her i Horsens. Håbløst, Nordtel.", thread="s09"),
        p("c2", "Nordtel", "da", "reddit-denmark", -22, 0.45, "u/kolding", None,
          "Også nede i Kolding hos Nordtel.", thread="s09"),
        p("c3", "Nordtel", "da", "reddit-denmark", -15, 0.35, "u/rolig_nu", None,
          "Ring til Nordtels kundeservice og bed om kompensation, det virkede sidst.",
          thread="s09"),
        p("s10", "Nordtel", "nb", "reddit-norge", -24, 0.89, "kari_n", "Fiber nede på Lillestrøm",
          "Nordtel har vært nede i timevis. Helt uakseptabelt når man jobber hjemmefra."),
        p("s11", "Nordtel", "en", "nordtel-forum", -18, 0.83, "Tom H.",
          "No data since this morning",
          "Nordtel mobile data has been dead since 7:45. Your status page still says all "
          "systems operational."),
        p("s12", "Nordtel", "da", "trustpilot-dk", -12, 0.91, "Birgitte S.", "Skifter selskab",
          "Tak for ingenting, Nordtel. Tredje nedbrud i år, og jeg skifter selskab i morgen."),
        p("s13", "Nordtel", "sv", "flashback", -8, 0.87, "Johan", "Ingen information",
          "Nordtel svarar inte i telefon och chatten är stängd. Hur svårt kan det vara att "
          "informera kunderna?"),
        p("s14", "Nordtel", "da", "nordtel-forum", -5, 0.85, "Kiosken på hjørnet", "Erstatning?",
          "Får vi erstatning for i dag, Nordtel? Min butik har ikke kunnet tage imod kort "
          "siden klokken otte."),
        p("s15", "Nordtel", "nb", "reddit-norge", 3, 0.90, "drammenser", "Nordtel nede igjen",
          "Nordtel er nede igjen, både mobil og fiber i Drammen."),
        p("s16", "Nordtel", "da", "reddit-denmark", 6, 0.80, "u/trætte_tim", "Mobilen er død",
          "Jeg er så træt af Nordtel. Mobilen har ikke haft data siden i morges."),
    ]  # fmt: skip


def _others() -> list[ShowPost]:
    p = ShowPost
    return [
        p("o1", "Kvik Bank", "da", "trustpilot-dk", -130, 0.81, "Peter J.", "Appen logger mig ud",
          "Kvik Bank-appen logger mig ud hver gang jeg prøver at betale en regning. "
          "Kundeservice siger, jeg skal geninstallere den."),
        p("o2", "Kvik Bank", "en", "reddit-denmark", -25, 0.90, "u/expat_cph",
          "Card blocked abroad",
          "Kvik Bank blocked my card in Lisbon this morning and the phone line opens at 10. "
          "Stuck without money."),
        p("o3", "Hemma Energi", "sv", "flashback", -400, 0.84, "Erik S.", "Fakturan dubbelt så hög",
          "Fakturan från Hemma Energi är dubbelt så hög som i oktober, och ingen kan förklara "
          "varför."),
        p("o4", "Hemma Energi", "sv", "flashback", -15, 0.93, "Lena", "Strömavbrott i Uppsala",
          "Strömavbrott i hela Uppsala och Hemma Energi säger ingenting. Kundtjänst har 90 "
          "minuters kö."),
        p("o5", "FjordAir", "nb", "reddit-norge", -600, 0.90, "Ingrid", "Kansellert uten varsel",
          "FjordAir kansellerte flyet mitt til Tromsø uten varsel, og det er ingen ledige "
          "plasser før torsdag."),
        p("o6", "FjordAir", "nb", "reddit-norge", -90, 0.58, "fjellgeit",
          "Sitter fast på Gardermoen",
          "Noen andre som sitter fast på Gardermoen? Kaffe, kryssord og FjordAir-lounge. "
          "Ferien har begynt!"),
        p("o7", "FjordAir", "en", "trustpilot-dk", -2000, 0.86, "Chris M.", "Lost luggage",
          "FjordAir lost my suitcase on the way to Bergen. Five days, three emails, zero answers."),
        p("pwn", "Kvik Bank", "da", PWN_SOURCE, -2900, 0.52, PWN_AUTHOR, PWN_TITLE, PWN_TEXT,
          passage=PWN_PASSAGE),
    ]  # fmt: skip


SHOWCASE_POSTS = _storm() + _others()
SHOWCASE_THRESHOLD = 0.5
SHOWCASE_QUEUED = [p for p in SHOWCASE_POSTS if p.complaint >= SHOWCASE_THRESHOLD]
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")
_BACKGROUND_TEXTS = [
    ("da", "Router til et stort hus", "Vi har Nordtel fiber. Hvilken router bruger I?"),
    ("da", "5G i Vejle", "Nordtel har fået 5G her. Nogen der har prøvet det?"),
    ("sv", "Fiber i sommarstugan", "Någon som har Nordtels fiber på Österlen?"),
    ("nb", "Hytta i Hemsedal", "Nordtel har fått bedre dekning i Hemsedal i år."),
    ("en", "Moving to Copenhagen", "Any tips for signing up with Nordtel as a newcomer?"),
    ("da", "Lidt langsomt i aften", "Nordtel-nettet er lidt langsomt i aften, men det går."),
]


def showcase_passage(post: ShowPost) -> tuple[int, int]:
    """The span the classifier read: the first sentence naming the brand."""
    if post.passage:
        start = post.text.index(post.passage)
        return start, start + len(post.passage)
    spans = [(m.start(), m.end()) for m in _SENTENCE.finditer(post.text) if m.group().strip()]
    named = [s for s in spans if post.brand.lower() in post.text[s[0] : s[1]].lower()]
    start, end = (named or spans)[0]
    while post.text[start] == " ":
        start += 1
    return start, end


def showcase_url(post: ShowPost) -> str:
    return PWN_URL if post.id == "pwn" else SHOWCASE_SOURCES[post.source][1] + post.id


def _background() -> list[ShowPost]:
    """Ordinary Nordtel chatter, more by day: what the chart's 'ordinary range' is made of."""
    rng = random.Random(7)
    start = T0 - timedelta(days=8, hours=3)  # the baseline starts a week before the chart
    posts: list[ShowPost] = []
    for hour in range(int((NOW - start).total_seconds() // 3600) + 1):
        at = start + timedelta(hours=hour)
        daytime = max(0.0, math.sin(math.pi * (at.hour - 6) / 17))
        mean = (1.0 + 6.0 * daytime) * rng.uniform(0.7, 1.3)
        for _ in range(int(mean) + (rng.random() < mean % 1)):
            minute = at + timedelta(minutes=rng.randrange(60))
            if minute > NOW:
                continue
            lang, title, text = rng.choice(_BACKGROUND_TEXTS)
            posts.append(
                ShowPost(
                    f"bg{len(posts):04d}",
                    "Nordtel",
                    lang,
                    "nordtel-forum",
                    int((minute - T0).total_seconds() // 60),
                    round(rng.uniform(0.1, 0.48), 2),
                    None,
                    title,
                    text,
                )
            )
    return posts


def _show_record(post: ShowPost) -> repo.PostRecord:
    return _record(
        post.id,
        post.text,
        canonical_url=showcase_url(post),
        kind="comment" if post.thread else "post",
        thread_id=post.thread or post.id,
        parent_id=post.thread,
        author=post.author,
        title=post.title,
        published_at=T0 + timedelta(minutes=post.minutes),
        lang=post.lang,
        brands=(post.brand,),
    )


def _show_reading(post: ShowPost) -> Reading:
    start, end = showcase_passage(post)
    negative = round(0.15 + 0.8 * post.complaint, 3)
    positive = 0.05 if post.complaint >= SHOWCASE_THRESHOLD else 0.2
    return Reading(
        post_id=post.id,
        brand=post.brand,
        content_hash=content_hash(None, post.text),
        model="nordic-sentiment-v3",
        negative=negative,
        neutral=round(1 - negative - positive, 3),
        positive=positive,
        complaint=post.complaint,
        label="complaint" if post.complaint >= SHOWCASE_THRESHOLD else "not_complaint",
        passage=post.text[start:end],
        passage_source="mention",
        passage_start=start,
        passage_end=end,
        classified_at=T0 + timedelta(minutes=post.minutes + 1),
    )


def _show_signal(
    posts: list[ShowPost], severity: str, at: datetime, p_value: float, storm: list[str]
) -> Signal:
    """A Nordtel volume surge over the hour before ``at``, with numbers from the posts."""
    start = at - timedelta(hours=1)
    posts = [p for p in posts if p.brand == "Nordtel"]

    def weighed(begin: datetime, end: datetime) -> float:
        return sum(p.complaint for p in posts if begin <= T0 + timedelta(minutes=p.minutes) < end)

    observed = weighed(start, at)
    expected = sum(weighed(start - timedelta(days=d), at - timedelta(days=d)) for d in range(1, 8))
    expected /= 7
    inside = [
        p.id for p in posts if p.id in storm and start <= T0 + timedelta(minutes=p.minutes) < at
    ]
    return Signal(
        kind="volume_surge",
        brand="Nordtel",
        severity=severity,  # type: ignore[arg-type]
        reason="volume_surge",
        at=at,
        window_start=start,
        window_end=at,
        observed=round(observed, 1),
        expected=round(expected, 2),
        ratio=round(observed / expected, 1),
        p_value=p_value,
        mentions=len(inside),
        share_negative=0.9,
        post_ids=tuple(inside),
        thread_id="s09",
    )


def _detail(signal: Signal) -> str:
    return (
        f"{signal.kind}: {signal.observed:g} observed vs {signal.expected:.2f} expected "
        f"({signal.ratio:g}x) in {int(signal.window.total_seconds() // 60)} min"
    )


def _showcase_incident(posts: list[ShowPost]) -> tuple[Incident, str]:
    storm = [p.id for p in SHOWCASE_QUEUED if p.brand == "Nordtel"]
    opened, escalated = T0 - timedelta(minutes=20), T0 + timedelta(minutes=5)
    first = _show_signal(posts, "warning", opened, 2.4e-07, storm)
    peak = _show_signal(posts, "critical", escalated, 3.1e-11, storm)
    incident = Incident(
        id=SHOWCASE_INCIDENT,
        brand="Nordtel",
        family="storm",
        kind="volume_surge",
        severity="critical",
        status="triggered",
        origin="live",
        opened_at=opened,
        onset_at=first.window_start,
        last_signal_at=escalated,
        first=first,
        peak=peak,
        last=peak,
        kinds=["volume_surge"],
        post_ids=storm,
        thread_ids=["s09"],
        timeline=[
            TimelineEntry(opened, "opened", "volume_surge", _detail(first)),
            TimelineEntry(escalated, "escalated", "severity_increased", _detail(peak)),
        ],
        signal_count=6,
    )
    events = [
        PostEvent(
            post_id=p.id,
            brand=p.brand,
            at=T0 + timedelta(minutes=p.minutes),
            complaint=p.complaint,
            negative=0.15 + 0.8 * p.complaint,
            thread_id=p.thread or p.id,
            is_comment=p.thread is not None,
            source=p.source,
            lang=p.lang,
            title=p.title,
            text_snippet=p.text,
            url=showcase_url(p),
        )
        for p in SHOWCASE_POSTS
        if p.id in storm
    ]
    return incident, explain(incident, events).text


def _pages() -> list[OutboxRow]:
    sent = [("trigger", "mette", 20), ("escalate:2", "jonas", 5)]
    return [
        OutboxRow(
            incident_id=SHOWCASE_INCIDENT,
            dedup_key=dedup_key_for(SHOWCASE_INCIDENT),
            step=step,
            recipient=who,
            channels='["sms", "email"]',
            status="sent",
            due_at=T0 - timedelta(minutes=before),
            created_at=T0 - timedelta(minutes=before),
            sent_at=T0 - timedelta(minutes=before - 1),
            sent_via="sms",
            page="{}",
        )
        for step, who, before in sent
    ]


def seed_showcase(engine: Engine) -> None:
    background = _background()
    everything = SHOWCASE_POSTS + background
    incident, explanation = _showcase_incident(everything)
    with session_scope(engine) as session:
        for name, (kind, url) in SHOWCASE_SOURCES.items():
            session.add(Source(name=name, kind=kind, url=url, last_success_at=NOW))
        session.flush()
        ids = {s.name: _id(s.id) for s in session.exec(select(Source))}
        for name in SHOWCASE_SOURCES:
            mine = [p for p in everything if p.source == name]
            repo.store_posts(session, ids[name], [_show_record(p) for p in mine], T0)
        readings = {p.id: _show_reading(p) for p in everything}
        for reading in readings.values():
            repo.save_reading(session, reading)
        session.flush()
        for post in sorted(SHOWCASE_QUEUED, key=lambda p: p.minutes):
            flagged = min(T0 + timedelta(minutes=post.minutes + 2), NOW)
            service.flag(session, [readings[post.id]], SHOWCASE_THRESHOLD, flagged)
        save_incident(session, incident, explanation, NOW)
        session.add_all(_pages())
        for pid, brand, action, minutes, extra in [
            ("s01", "Nordtel", "assign", 1, {"assignee": "jonas"}),
            ("s03", "Nordtel", "ack", 3, {}),
            ("o3", "Hemma Energi", "assign", -300, {"assignee": "mia"}),
            ("o3", "Hemma Energi", "respond", -290,
             {"note": "Ringet op: fejl i måleraflæsningen, kreditnota sendt."}),
            ("pwn", "Kvik Bank", "assign", -2000, {"assignee": PWN_ASSIGNEE}),
        ]:  # fmt: skip
            at = T0 + timedelta(minutes=minutes)
            service.act(session, pid, brand, action, "mia", at, **extra)  # type: ignore[arg-type]
        for name, role in USERS.items():
            accounts.add_user(session, name, role, PASSWORD, T0)


def build_showcase(directory: Path) -> Path:
    path = directory / "showcase.db"
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{path}"))
    upgrade(engine)
    previous, accounts.HASHER = accounts.HASHER, CHEAP
    try:
        seed_showcase(engine)
    finally:
        accounts.HASHER = previous
    engine.dispose()
    return path
