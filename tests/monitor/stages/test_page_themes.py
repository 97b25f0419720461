"""A storm's page says what the storm is about ("31 about internettet odense nede, ..."),
from the embeddings the classify stage left in its encoder's cache; without an encoder, or
with a cold cache, the page still goes out and a log line says why."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from alerts.page import Page, render_text
from alerts.store import OutboxRow
from classifiers.base import Encoder
from classifiers.cache import CachedEncoder
from monitor.match.brands import BrandMatcher
from monitor.stages.classify import ClassifyStage
from monitor.stages.detect import save_incident
from monitor.stages.page import PagingStage
from monitor.stages.page_themes import PageThemes
from monitor.storage.db import session_scope
from monitor.storage.models import IncidentRow
from tests.support.fixtures.clock import T0
from tests.support.seeds.queue_seed import SeedPost, seed
from tests.support.seeds.themed_posts import CONCEPTS, THEMES, ConceptEncoder, storm
from tests.support.worlds.paging import file_paging_settings
from tests.support.worlds.web import seed_incident

INCIDENT = "Nordtel:storm:20261102T0900Z"
POSTS = 60


def storm_world(engine: Engine) -> list[str]:
    """A live storm of ``POSTS`` themed posts in the database; returns their passages."""
    themed = storm(POSTS)
    posts = [
        SeedPost(p.id, p.text, lang=p.lang, published_at=T0 - timedelta(minutes=90 - i))
        for i, p in enumerate(themed.posts)
    ]
    seed(engine, posts, T0)
    incident = dataclasses.replace(
        seed_incident(INCIDENT), family="storm", post_ids=[p.id for p in posts]
    )
    with session_scope(engine) as session:
        save_incident(session, incident, "Nordtel: 60 complaints in the last hour", T0)
    return [p.text for p in themed.posts]


def trigger_pages(engine: Engine) -> list[Page]:
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxRow).where(col(OutboxRow.step) == "trigger")).all()
        return [Page.from_json(r.page) for r in rows]


def paging(
    tmp_path: Path, engine: Engine, encoder: Callable[[], Encoder | None], **kw: int
) -> PagingStage:
    return PagingStage(
        file_paging_settings(tmp_path, engine), engine, themes=PageThemes(encoder, **kw)
    )


def test_a_storm_page_names_its_themes_from_the_cached_embeddings(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    texts = storm_world(sqlite_engine)
    inner = ConceptEncoder(word_weight=0.5)
    encoder = CachedEncoder(inner)
    encoder.embed(texts)  # what the classify stage did when it read the posts
    calls = inner.calls

    paging(tmp_path, sqlite_engine, lambda: encoder).step(T0)

    [page] = trigger_pages(sqlite_engine)
    assert inner.calls == calls  # nothing embedded again at page time
    parts = page.themes.split(", ")
    assert len(parts) == 3, page.themes
    sizes = [int(part.removeprefix("new: ").split(" about ")[0]) for part in parts]
    assert sum(sizes) == POSTS
    assert sizes == sorted(sizes, reverse=True)
    outage = set(parts[0].split(" about ")[1].split())
    assert outage & CONCEPTS[THEMES[0]], parts[0]  # the largest theme is the outage
    assert "nordtel" not in page.themes.lower()  # the brand is in every post, never a label
    [sent] = [json.loads(line) for line in (tmp_path / "pages.log").read_text().splitlines()]
    assert sent["themes"] == page.themes  # what the channel delivered
    assert f"\n\nAbout: {page.themes}\n\n" in render_text(page)  # after the explanation


def test_without_an_encoder_the_page_goes_out_and_the_log_says_why(
    sqlite_engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storm_world(sqlite_engine)
    with caplog.at_level(logging.INFO, logger="stormwatch.paging"):
        paging(tmp_path, sqlite_engine, lambda: None).step(T0)
    [page] = trigger_pages(sqlite_engine)
    assert page.themes == ""
    assert json.loads((tmp_path / "pages.log").read_text())["themes"] == ""
    assert "About:" not in render_text(page)
    skipped = [r for r in caplog.records if r.getMessage() == "themes_skipped"]
    assert [(r.incident, r.reason) for r in skipped] == [(INCIDENT, "no_encoder")]  # type: ignore[attr-defined]


def test_a_cold_cache_sends_the_page_without_themes_and_warms_for_the_next(
    sqlite_engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    texts = storm_world(sqlite_engine)
    encoder = CachedEncoder(ConceptEncoder(word_weight=0.5))
    themes = PageThemes(lambda: encoder, max_embed=20)
    with caplog.at_level(logging.INFO, logger="stormwatch.paging"):
        PagingStage(file_paging_settings(tmp_path, sqlite_engine), sqlite_engine, themes).step(T0)
    [page] = trigger_pages(sqlite_engine)
    assert page.themes == ""
    [skipped] = [r for r in caplog.records if r.getMessage() == "themes_skipped"]
    assert skipped.reason == "not_embedded"  # type: ignore[attr-defined]
    assert skipped.detail == f"{len(set(texts))} of {POSTS} posts not embedded yet"  # type: ignore[attr-defined]
    assert len(encoder.cache) == 20  # embedded meanwhile, ready for the next page

    encoder.embed(texts)  # the rest, as the classify stage would have
    themes.reset()
    with session_scope(sqlite_engine) as session:
        row = session.get(IncidentRow, INCIDENT)
        assert row is not None
        line = themes.line(session, row, [f"p{i}" for i in range(POSTS)])
    assert line.count(" about ") == 3


def test_the_classify_stage_lends_its_loaded_encoder_and_never_loads_one(tmp_path: Path) -> None:
    from tests.support.fixtures.models import tiny_classifier_settings

    settings = tiny_classifier_settings(tmp_path)
    stage = ClassifyStage(settings, None, BrandMatcher([]))
    assert stage.loaded_encoder() is None  # not loaded: themes say so, nothing loads
    stage.classifier()
    encoder = stage.loaded_encoder()
    assert isinstance(encoder, CachedEncoder)
    stage.classifier().classify(["Nordtel er nede igen i Odense"])
    assert len(encoder.cache) == 1  # the passage the classifier read is there for themes
