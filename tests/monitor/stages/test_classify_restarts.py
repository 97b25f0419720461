"""The classify stage makes progress in a crash-looping daemon, and reads the storm first.

A first crawl left a backlog of 600 older posts (two brands, six days) and, published in
the last 50 minutes, a storm of 40 posts about one brand. The daemon is then killed ten
times, each time while it reads (a process dies at its 81st passage, mid-batch); each
process loads the tiny real model once (tests/classifiers/test_classifier_tiny.py: built
in the test, loaded through the production path). Readings must survive every kill,
the storm must be read by the first process, and the backlog must be done by the tenth.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from classifiers.base import Scores
from classifiers.config import ClassifierSettings
from classifiers.registry import load_classifier
from monitor.match.brands import BrandMatcher, BrandSpec
from monitor.parse.text import content_hash
from monitor.settings import parse_settings
from monitor.stages.classify import ClassifyStage, rising_brands
from monitor.storage import repo
from monitor.storage.db import session_scope
from monitor.storage.models import Reading
from tests.support.fixtures.clock import T0
from tests.support.fixtures.models import tiny_classifier_settings
from tests.support.seeds.posts import record

MATCHER = BrandMatcher([BrandSpec("Nordtel", ("Nordtel",)), BrandSpec("Teleborg", ("Teleborg",))])
BACKLOG, STORM, LIFE = 300, 40, 80  # posts per brand, storm posts, passages per process


class _Killed(BaseException):
    """kill -9 of the daemon: nothing after it runs, nothing uncommitted survives."""


class DiesMidBatch:
    """The real tiny classifier, in a process that is killed after ``life`` passages."""

    def __init__(self, real: Any, life: int) -> None:
        self.real, self.left = real, life

    def classify(
        self, texts: Sequence[str], langs: Sequence[str | None] | None = None
    ) -> list[Scores]:
        if len(texts) > self.left:
            raise _Killed
        self.left -= len(texts)
        return list(self.real.classify(texts, langs))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> ClassifierSettings:
    return tiny_classifier_settings(tmp_path_factory.mktemp("tiny"))


def first_crawl(engine: Engine) -> None:
    settings = parse_settings({"sources": [{"name": "blog", "kind": "feed", "url": "http://x/f"}]})
    posts = []
    for n in range(BACKLOG):
        at = T0 - timedelta(days=6) + timedelta(minutes=28 * n)
        for brand in ("Nordtel", "Teleborg"):
            text = f"{brand} opdaterer sine priser fra næste måned, nummer {n}."
            posts.append(post(f"{brand[:4]}-{n}", text, brand, at))
    for n in range(STORM):
        at = T0 - timedelta(minutes=50) + timedelta(minutes=n)
        text = f"Tak for ingenting, Nordtel. Tre uger uden internet, nummer {n}."
        posts.append(post(f"storm-{n}", text, "Nordtel", at))
    with session_scope(engine) as s:
        sid = repo.sync_sources(s, settings, T0)["blog"].id
        assert sid is not None
        repo.store_posts(s, sid, posts, T0)


def post(pid: str, text: str, brand: str, at: datetime) -> repo.PostRecord:
    return record(
        pid,
        text=text,
        brands=(brand,),
        published_at=at,
        title=None,
        content_hash=content_hash(None, text),
    )


def read(engine: Engine) -> set[str]:
    with session_scope(engine) as s:
        return {r.post_id for r in s.exec(select(Reading))}


def test_progress_across_ten_restarts_with_the_storm_read_first(
    sqlite_engine: Engine, tiny: ClassifierSettings
) -> None:
    first_crawl(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        assert rising_brands(s, T0) == ["Nordtel"], "the storm's brand is rising"
    loads, progress, kills = [], [], 0
    storm = {f"storm-{n}" for n in range(STORM)}
    for restart in range(10):
        now = T0 + timedelta(minutes=restart)

        def loader(settings: ClassifierSettings, process: int = restart) -> Any:
            loads.append(process)
            return DiesMidBatch(load_classifier(settings), LIFE)

        stage = ClassifyStage(tiny, sqlite_engine, MATCHER, loader=loader)
        stage.classifier()  # the daemon's warm-up, before the first crawl
        try:
            for tick in range(100):  # ticks until the kill, or until nothing is pending
                if not stage.run_once(now + timedelta(seconds=5 * tick)).classified:
                    break
        except _Killed:
            kills += 1
        progress.append(len(read(sqlite_engine)))
        if restart == 0:
            assert storm <= read(sqlite_engine), "the storm is read before the backlog"
    assert loads == list(range(10)), "the model is loaded once per process"
    assert kills >= 9, "killed mid-batch every time (the last may find the work done)"
    assert all(b - a >= 64 for a, b in zip([0, *progress], progress, strict=False)), progress
    assert progress[-1] == 2 * BACKLOG + STORM, "the backlog is done by the tenth process"


def test_without_a_storm_the_newest_posts_are_read_first(
    sqlite_engine: Engine, tiny: ClassifierSettings
) -> None:
    first_crawl(sqlite_engine)
    stage = ClassifyStage(tiny, sqlite_engine, MATCHER, commit_every=8)
    stage.run_once(T0 + timedelta(days=1), limit=16)  # a day later: nothing is rising
    assert read(sqlite_engine) == {f"storm-{n}" for n in range(STORM - 16, STORM)}


class ReadsAsSimulated:
    """The scenario's own complaint probability for each text (the classifier is not the
    point here: the storm must be read first and page once it is read)."""

    def __init__(self, by_text: dict[str, float]) -> None:
        self.by_text = by_text

    def classify(
        self, texts: Sequence[str], langs: Sequence[str | None] | None = None
    ) -> list[Scores]:
        out = []
        for text in texts:
            p = self.by_text.get(text, 0.05)
            out.append(Scores(negative=p, neutral=1 - p, positive=0.0, complaint=p))
        return out


def test_a_crash_looping_daemon_pages_the_storm_within_a_tick_of_reading_it(
    sqlite_engine: Engine,
) -> None:
    from monitor.detect import simulate
    from monitor.stages.detect import DetectStage
    from tests.support.seeds.posts import event_record, store

    scenario = simulate.storm(seed=0, tier="high", peak=10.0, ramp_hours=0.5, warmup_days=7)
    onset = scenario.onsets()["Acme"]
    assert onset is not None
    crawl = onset + timedelta(minutes=30)
    events = [e for e in scenario.events if e.brand == "Acme" and e.at <= crawl]
    read_until = onset - timedelta(hours=2)
    # a running install: the week before is read; the last two hours and the storm wait
    store(sqlite_engine, [e for e in events if e.at < read_until], fetched=read_until)
    backlog = [e for e in events if e.at >= read_until]
    records = [event_record(e) for e in backlog]
    settings = parse_settings({"sources": [{"name": "sim", "kind": "feed", "url": "http://x/f"}]})
    with session_scope(sqlite_engine) as s:
        sid = repo.sync_sources(s, settings, crawl)["sim"].id
        assert sid is not None
        repo.store_posts(s, sid, records, crawl)
    truth = {r.text: e.complaint for r, e in zip(records, backlog, strict=True)}
    storm_posts = {r.id for r, e in zip(records, backlog, strict=True) if e.at >= onset}
    matcher = BrandMatcher([BrandSpec("Acme", ("Acme",))])
    model = ClassifyStage(ClassifierSettings(), sqlite_engine, matcher).model_id
    with session_scope(sqlite_engine) as s:  # the week before was read by this same model
        for reading in s.exec(select(Reading)):
            reading.model = model
    opened_at = read_at = None
    for restart in range(10):
        now = crawl + timedelta(minutes=restart)
        stage = ClassifyStage(
            ClassifierSettings(),
            sqlite_engine,
            matcher,
            # each process dies at its 41st passage: after one commit of 16 titled posts
            loader=lambda _s: DiesMidBatch(ReadsAsSimulated(truth), 40),
            commit_every=16,
        )
        try:
            for tick in range(50):
                if not stage.run_once(now + timedelta(seconds=tick)).classified:
                    break
        except _Killed:
            pass
        if read_at is None and storm_posts <= read(sqlite_engine):
            read_at = restart
        detect = DetectStage(sqlite_engine)  # a new process: a new detect stage too
        opened = [u for u in detect.step(now) if u.action == "opened" and u.pages]
        if opened and opened_at is None:
            opened_at = restart
    assert read_at is not None, (read_at, opened_at)
    assert opened_at is not None, (read_at, opened_at)
    # paged by the second process's tick, while kills go on and before the storm's last
    # posts are read (measured: read by the 7th process, paged in the 2nd)
    assert opened_at <= min(read_at, 1), (read_at, opened_at)
