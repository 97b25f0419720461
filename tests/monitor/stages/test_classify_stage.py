"""The classify stage: pending posts read once per brand, target-aware, cached by content
hash and model, and nothing lost when the model cannot load. A tiny real model (built in
the test, loaded through the production path) stands in for the 470 MB one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from classifiers.config import ClassifierSettings
from monitor.match.brands import BrandMatcher, BrandSpec
from monitor.settings import parse_settings
from monitor.stages.classify import ClassifyStage
from monitor.storage import repo
from monitor.storage.db import session_scope
from tests.support.fixtures.clock import T0
from tests.support.fixtures.models import tiny_classifier_settings
from tests.support.seeds.posts import record

MATCHER = BrandMatcher([BrandSpec("Nordtel", ("Nordtel",)), BrandSpec("Teleborg", ("Teleborg",))])
TEXT = (
    "Teleborg har lukket mit internet i tre uger og ingen svarer. "
    "Det er en skandale. Før var jeg hos Nordtel, og der var alt fint."
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> ClassifierSettings:
    return tiny_classifier_settings(tmp_path_factory.mktemp("tiny"))


def stored(engine: Engine) -> None:
    settings = parse_settings({"sources": [{"name": "blog", "kind": "feed", "url": "http://x/f"}]})
    with session_scope(engine) as s:
        sid = repo.sync_sources(s, settings, T0)["blog"].id
        assert sid is not None
        posts = [
            record("both", text=TEXT, brands=("Nordtel", "Teleborg"), title=None),
            record("plain", text="Nordtel svarer ikke.", title="Ventetid"),
        ]
        repo.store_posts(s, sid, posts, T0)


def test_each_post_is_read_once_per_brand_around_its_own_mentions(
    any_engine: Engine, tiny: ClassifierSettings
) -> None:
    stored(any_engine)
    stage = ClassifyStage(tiny, any_engine, MATCHER)
    first = stage.drain(T0)
    assert (first.classified, first.unavailable) == (3, None)
    with session_scope(any_engine) as s:
        readings = repo.readings_of(s, ["both", "plain"])
    nordtel, teleborg = readings[("both", "Nordtel")], readings[("both", "Teleborg")]
    assert "Nordtel" in nordtel.passage
    assert "Teleborg" not in nordtel.passage
    assert "Teleborg" in teleborg.passage
    assert "Nordtel" not in teleborg.passage
    assert TEXT[teleborg.passage_start : teleborg.passage_end] == teleborg.passage
    assert all(0.0 <= r.complaint <= 1.0 for r in readings.values())
    assert abs(nordtel.negative + nordtel.neutral + nordtel.positive - 1.0) < 1e-4

    assert stage.drain(T0).classified == 0, "an unchanged post is never classified twice"

    with session_scope(any_engine) as s:
        sid = repo.get_post(s, "plain").source_id  # type: ignore[union-attr]
        repo.store_posts(s, sid, [record("plain", text="Nordtel svarede endelig.")], T0)
    assert stage.drain(T0).classified == 1, "an edited post is read again"


def test_a_new_head_rereads_everything(
    any_engine: Engine, tiny: ClassifierSettings, tmp_path: Path
) -> None:
    stored(any_engine)
    ClassifyStage(tiny, any_engine, MATCHER).drain(T0)
    moved = tmp_path / "other-head.npz"
    moved.write_bytes(Path(str(tiny.head)).read_bytes() + b"")
    other = replace_head(tiny, moved)
    assert (
        ClassifyStage(other, any_engine, MATCHER).model_id
        == ClassifyStage(tiny, any_engine, MATCHER).model_id
    )
    retrained = tmp_path / "retrained.npz"
    from classifiers.head import load_head

    head = load_head(moved)
    replace(head, created_at="2026-12-01T00:00:00+00:00").save(retrained)
    assert (
        ClassifyStage(replace_head(tiny, retrained), any_engine, MATCHER).drain(T0).classified == 3
    )


def replace_head(settings: ClassifierSettings, head: Path) -> ClassifierSettings:
    return settings.model_copy(update={"head": str(head)})


def test_missing_model_reports_a_reason_and_loses_nothing(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    stored(sqlite_engine)
    broken = ClassifierSettings(model_dir=str(tmp_path / "no-such-model"))
    report = ClassifyStage(broken, sqlite_engine, MATCHER).drain(T0)
    assert report.classified == 0
    assert report.unavailable
    assert "no-such-model" in report.unavailable
    assert "\n" not in report.unavailable
    with session_scope(sqlite_engine) as s:
        assert len(repo.pending_readings(s, "any", 100)) == 3, "posts stay pending"
