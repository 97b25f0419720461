"""Storm themes: known themes found across languages, labelled by their own words, and shown
by ``stormwatch incidents show --themes`` (through a tiny real model and a missing one)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from typer.testing import CliRunner

from monitor import accounts
from monitor.cli import app
from monitor.settings import DatabaseSettings
from monitor.stages.detect import save_incident
from monitor.storage.db import make_engine, session_scope, upgrade
from monitor.themes import (
    ThemePost,
    adjusted_rand_index,
    cluster,
    find_themes,
    themes_for,
    themes_line,
)
from monitor.web.app import create_app
from tests.support.fixtures.clock import T0
from tests.support.seeds.queue_seed import SeedPost, seed
from tests.support.seeds.themed_posts import CONCEPTS, START, THEMES, ConceptEncoder, storm
from tests.support.worlds.web import CHEAP, EXPLANATION, Clock, World, build_template, seed_incident
from tests.support.worlds.web import INCIDENT as WEB_INCIDENT
from tests.support.worlds.web import settings as web_settings


def found_labels(posts: list[ThemePost], themes: list[object]) -> list[int]:
    where = {pid: k for k, t in enumerate(themes) for pid in t.post_ids}  # type: ignore[attr-defined]
    return [where[p.id] for p in posts]


@pytest.mark.parametrize(("n", "word_weight"), [(60, 0.35), (400, 0.5), (400, 0.7)])
def test_known_themes_are_found_across_languages(n: int, word_weight: float) -> None:
    s = storm(n)
    themes = themes_for(s.posts, ConceptEncoder(word_weight=word_weight).embed)
    ari = adjusted_rand_index(s.truth, found_labels(s.posts, themes))
    assert ari >= 0.8, (ari, [t.summary() for t in themes])
    assert len(themes) == 3
    for theme in themes:
        members = [s.truth[int(pid[1:])] for pid in theme.post_ids]
        defining = CONCEPTS[THEMES[max(set(members), key=members.count)]]
        assert set(theme.label.split()) & defining, (theme.label, theme.words)
        assert len(theme.langs) == 5  # the same theme in all five languages is one theme
        for lang, words in theme.words.items():
            assert set(words) & defining, (lang, words)


def test_a_theme_carries_its_size_share_start_and_representative_post() -> None:
    s = storm(200)
    themes = themes_for(s.posts, ConceptEncoder().embed)
    assert [t.size for t in themes] == sorted((t.size for t in themes), reverse=True)
    assert sum(t.size for t in themes) == 200
    assert sum(t.share for t in themes) == pytest.approx(1.0)
    by_id = {p.id: p for p in s.posts}
    for theme in themes:
        assert theme.first_at == min(by_id[i].at for i in theme.post_ids)
        assert theme.representative_id in theme.post_ids
        assert theme.representative_text == by_id[theme.representative_id].text
        assert sum(theme.langs.values()) == theme.size
    new = {THEMES[s.truth[int(t.post_ids[0][1:])]]: t.new for t in themes}
    assert new == {"outage": False, "billing": True, "agent": True}  # they began 45, 90 min in
    first_billing = s.posts[s.truth.index(THEMES.index("billing"))]
    billing = next(t for t in themes if first_billing.id in t.post_ids)
    assert billing.first_at == first_billing.at >= START + timedelta(minutes=45)


def test_the_page_line_names_the_largest_themes_and_counts_the_rest() -> None:
    s = storm(200)
    themes = themes_for(s.posts, ConceptEncoder().embed, ["Nordtel"])
    line = themes_line(themes, limit=2)
    first, second = themes[0], themes[1]
    assert line == (
        f"{first.size} about {first.label}, new: {second.size} about {second.label}, "
        f"{themes[2].size} more"
    )
    assert themes_line(themes) == ", ".join(
        ("new: " if t.new else "") + t.summary() for t in themes
    )
    assert themes_line([]) == ""


def test_one_shapeless_cloud_stays_one_theme_and_small_input_is_fine() -> None:
    rng = np.random.default_rng(1)
    centre = rng.standard_normal(384)  # e5-small's dimension
    for noise in (0.02, 0.05, 0.2, 1.0):
        cloud = centre / np.linalg.norm(centre) + noise * rng.standard_normal((300, 384))
        assert cluster(cloud.astype(np.float32)).max() == 0, noise
    s = storm(40)
    one = themes_for(s.posts, lambda texts: np.ones((len(texts), 8), dtype=np.float32))
    assert len(one) == 1
    assert one[0].size == 40
    assert one[0].share == 1.0
    assert themes_for([], ConceptEncoder().embed) == []
    single = [ThemePost("x", "Nordtel: internet outage in Odense", "en", START)]
    alone = themes_for(single, ConceptEncoder().embed)
    assert [t.label for t in alone] == ["internet nordtel odense"]  # ties: alphabetical


def test_clustering_is_deterministic_and_refuses_mismatched_input() -> None:
    s = storm(300)
    vectors = ConceptEncoder(word_weight=0.6).embed([p.text for p in s.posts])
    assert np.array_equal(cluster(vectors), cluster(vectors.copy()))
    with pytest.raises(ValueError, match="3 posts but 2 embeddings"):
        find_themes(s.posts[:3], vectors[:2])


def test_adjusted_rand_index_matches_known_values() -> None:
    assert adjusted_rand_index([0, 0, 1, 1], [1, 1, 0, 0]) == 1.0
    assert adjusted_rand_index([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(-0.5)
    # sklearn.metrics.adjusted_rand_score([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]) = 0.2424...
    assert adjusted_rand_index([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]) == pytest.approx(0.24242424)


# --- stormwatch incidents show --themes ------------------------------------------------------

runner = CliRunner()
INCIDENT = "Nordtel:volume:20261207T0200Z"
SEEDED = [
    ("o1", "Internettet er nede i Odense igen", "da"),
    ("o2", "Internet outage in Odense, the internet is down", "en"),
    ("o3", "Internet ligger nere i Odense, inget internet", "sv"),
    ("o4", "Internettet er nede i Odense, intet internet", "da"),
    ("b1", "Regningen er trukket to gange, dobbelt regning", "da"),
    ("b2", "Charged twice on my bill, double billing", "en"),
    ("b3", "Dubbel faktura, fakturan drogs två gånger", "sv"),
]


def themed_config(tmp_path: Path, classifier: str) -> Path:
    db = tmp_path / "themes.db"
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{db}"))
    upgrade(engine)
    posts = [
        SeedPost(pid, f"Nordtel: {text}", lang=lang, published_at=T0 - timedelta(minutes=50 - i))
        for i, (pid, text, lang) in enumerate(SEEDED)
    ]
    seed(engine, posts, T0)
    incident = dataclasses.replace(seed_incident(INCIDENT), post_ids=[p for p, _, _ in SEEDED])
    with session_scope(engine) as session:
        save_incident(session, incident, EXPLANATION, T0)
    engine.dispose()
    path = tmp_path / "sw.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{db}"\n\n[classifier]\n{classifier}\n')
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.fixtures.models import build_tiny_bert

    return build_tiny_bert(tmp_path_factory.mktemp("tiny") / "tiny-e5")


@pytest.fixture
def logs_on_stderr() -> Iterator[None]:
    """Log lines on stderr for this test: an earlier test in the same process may have set
    the daemon's logging (stdout), and a CLI's --json output must be read alone."""
    import sys

    from monitor.logs import configure
    from monitor.settings import parse_settings

    configure(parse_settings({}).log, stream=sys.stderr)
    yield
    configure(parse_settings({}).log)


def test_incidents_show_has_a_themes_section_through_the_real_encoder(
    tmp_path: Path, tiny_model: Path, logs_on_stderr: None
) -> None:
    config = themed_config(tmp_path, f'model_dir = "{tiny_model}"\nthreads = 1')
    result = runner.invoke(app, ["incidents", "show", INCIDENT, "--themes", "-c", str(config)])
    assert result.exit_code == 0, result.output
    # stdout only: a log line on stderr (logging configured by an earlier test) is not output
    head, _, section = result.stdout.partition("\nThemes\n")
    assert head.startswith(f"id               {INCIDENT}\n")
    assert section
    sizes = [int(line.split()[0]) for line in section.splitlines() if line[2:3].isdigit()]
    assert sum(sizes) == len(SEEDED), section
    assert "e.g. " in section
    assert " about " in section

    result = runner.invoke(
        app, ["incidents", "show", INCIDENT, "--themes", "--json", "-c", str(config)]
    )
    data = json.loads(result.stdout)  # logs go to stderr
    assert data["themes_error"] is None
    assert sorted(p for t in data["themes"] for p in t["post_ids"]) == sorted(
        p for p, _, _ in SEEDED
    )
    first = data["themes"][0]
    assert {"label", "words", "size", "share", "langs", "first_at", "representative"} <= set(first)
    assert first["representative"]["id"] in first["post_ids"]
    words = [w for t in data["themes"] for ws in t["words"].values() for w in ws]
    assert words
    assert "nordtel" not in words


def test_without_a_model_the_incident_still_shows_and_says_why(
    tmp_path: Path, logs_on_stderr: None
) -> None:
    config = themed_config(tmp_path, f'model_dir = "{tmp_path / "no-model"}"')
    result = runner.invoke(app, ["incidents", "show", INCIDENT, "--themes", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "opened_at        2026-11-02 09:00 UTC" in result.output
    assert "\nThemes\n  themes not available: [classifier] model_dir" in result.output
    result = runner.invoke(
        app, ["incidents", "show", INCIDENT, "--themes", "--json", "-c", str(config)]
    )
    data = json.loads(result.stdout)  # logs go to stderr
    assert data["themes"] is None
    assert "no config.json" in data["themes_error"]
    plain = runner.invoke(app, ["incidents", "show", INCIDENT, "--json", "-c", str(config)])
    assert "themes" not in json.loads(plain.stdout)  # not asked for: the model is not loaded


# --- the JSON API: GET /api/v1/incidents/{id}?themes=true -------------------------------------


def api_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_dir: Path) -> World:
    monkeypatch.setattr(accounts, "HASHER", CHEAP)
    path = tmp_path / "web.db"
    shutil.copy(build_template(tmp_path / "t"), path)
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{path}"))
    conf = web_settings()
    classifier = conf.classifier.model_copy(update={"model_dir": str(model_dir), "threads": 1})
    conf = conf.model_copy(update={"classifier": classifier})
    clock = Clock()
    return World(engine, conf, clock, create_app(conf, engine, clock=clock))


def test_the_api_adds_themes_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model: Path
) -> None:
    (tmp_path / "t").mkdir()
    world = api_world(tmp_path, monkeypatch, tiny_model)
    try:
        client = world.login("mia")
        url = "/api/v1/incidents/" + quote(WEB_INCIDENT, safe="")
        plain = client.get(url).json()
        assert "themes" not in plain
        assert "themes_error" not in plain
        data = client.get(url, params={"themes": "true"}).json()
        assert data["themes_error"] is None
        assert data["id"] == WEB_INCIDENT
        posts = sorted(p["post_id"] for p in plain["posts"])
        assert posts
        assert sorted(p for t in data["themes"] for p in t["post_ids"]) == posts
        assert {k: v for k, v in data.items() if k not in ("themes", "themes_error")} == plain
    finally:
        world.engine.dispose()


def test_the_api_says_why_there_are_no_themes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "t").mkdir()
    world = api_world(tmp_path, monkeypatch, tmp_path / "no-model")
    try:
        client = world.login("mia")
        url = "/api/v1/incidents/" + quote(WEB_INCIDENT, safe="")
        response = client.get(url, params={"themes": "true"})
        assert response.status_code == 200
        data = response.json()
        assert data["themes"] is None
        assert "no config.json" in data["themes_error"]
        assert data["posts"]  # the incident itself is all there
    finally:
        world.engine.dispose()


def test_a_few_stray_posts_do_not_hide_the_themes() -> None:
    s = storm(300)
    stray = [ThemePost(f"x{i}", f"zzz qqq {i}", "en", START) for i in range(3)]
    rng = np.random.default_rng(5)
    vectors = np.vstack(
        [
            ConceptEncoder(word_weight=0.5).embed([p.text for p in s.posts]),
            rng.standard_normal((3, 48)).astype(np.float32),  # unlike anything else
        ]
    )
    themes = find_themes([*s.posts, *stray], vectors)
    where = {pid: k for k, t in enumerate(themes) for pid in t.post_ids}
    assert adjusted_rand_index(s.truth, [where[p.id] for p in s.posts]) >= 0.8
    assert sum(t.size for t in themes) == 303  # the strays are in some theme, not lost
