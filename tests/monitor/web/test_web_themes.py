"""The incident page says what the storm is about: a section it includes loads the themes
after the page is shown (``/incident-themes/ID``), from the daemon's lent encoder; without a
model the section says why and the incident page is unchanged."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from classifiers.base import Encoder
from classifiers.cache import CachedEncoder
from monitor import accounts
from monitor.accounts import AccountPolicy
from monitor.settings import DatabaseSettings
from monitor.storage.db import make_engine
from monitor.web import create_app
from tests.support.seeds.themed_posts import ConceptEncoder
from tests.support.worlds.web import (
    CHEAP,
    HOSTILE_TEXT,
    INCIDENT,
    SHOWCASE_INCIDENT,
    Clock,
    World,
    assert_inert,
    build_showcase,
    build_template,
    settings,
)

SECTION = '<section class="themes"'


@pytest.fixture(scope="module")
def showcase(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_showcase(tmp_path_factory.mktemp("showcase"))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("web"))


def world(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lend: Callable[[], Encoder | None]
) -> Iterator[World]:
    monkeypatch.setattr(accounts, "HASHER", CHEAP)
    tmp_path.mkdir(exist_ok=True)
    shutil.copy(db, tmp_path / "web.db")
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path / 'web.db'}"))
    conf = settings()
    missing = conf.classifier.model_copy(update={"model_dir": str(tmp_path / "no-model")})
    conf = conf.model_copy(update={"classifier": missing})
    clock = Clock()
    app = create_app(conf, engine, clock=clock, policy=AccountPolicy(), encoder=lend)
    found = World(engine, conf, clock, app)
    try:
        yield found
    finally:
        for client in found.clients:
            client.close()
        engine.dispose()


def fragment_url(page: str) -> str:
    found = re.search(r'hx-get="(/incident-themes/[^"]+)" hx-trigger="load"', page)
    assert found, "the incident page does not load its themes"
    return found.group(1)


def sizes(fragment: str) -> list[int]:
    return [int(n) for n in re.findall(r"<strong>(\d+) about ", fragment)]


def test_the_incident_page_loads_its_storms_themes(
    showcase: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder = CachedEncoder(ConceptEncoder(word_weight=0.5))
    for w in world(showcase, tmp_path, monkeypatch, lambda: encoder):
        client: TestClient = w.login("vic")  # a viewer reads themes too
        page = client.get("/incidents/" + quote(SHOWCASE_INCIDENT, safe="")).text
        assert SECTION in page
        url = fragment_url(page)
        assert url == "/incident-themes/" + quote(SHOWCASE_INCIDENT, safe="")
        data = client.get("/api/v1/incidents/" + quote(SHOWCASE_INCIDENT, safe="")).json()
        fragment = client.get(url)
        assert fragment.status_code == 200
        assert "<html" not in fragment.text  # a fragment, swapped into the section
        assert sum(sizes(fragment.text)) == len(data["posts"]) > 0
        assert fragment.text.count('e.g. <a href="/posts/') == len(sizes(fragment.text))
        assert len(encoder.cache) > 0  # embedded through the lent encoder
        assert_inert(fragment.text)


def test_post_text_in_the_themes_is_escaped_and_a_missing_model_is_said(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for w in world(template, tmp_path, monkeypatch, lambda: None):  # no model lent, none on disk
        client = w.login("mia")
        page = client.get("/incidents/" + quote(INCIDENT, safe=""))
        assert page.status_code == 200
        fragment = client.get(fragment_url(page.text))
        assert fragment.status_code == 200
        assert "themes not available: [classifier] model_dir" in fragment.text
        assert sizes(fragment.text) == []

    lent = CachedEncoder(ConceptEncoder())
    for w in world(template, tmp_path / "lent", monkeypatch, lambda: lent):
        client = w.login("mia")
        fragment = client.get("/incident-themes/" + quote(INCIDENT, safe="")).text
        assert sum(sizes(fragment)) == 2  # the seeded incident's hostile and plain posts
        assert "<img" not in fragment
        assert_inert(fragment)
        assert HOSTILE_TEXT not in fragment  # only the passage the classifier read is shown


def test_themes_need_a_session_and_a_known_incident(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for w in world(template, tmp_path, monkeypatch, lambda: None):
        anonymous = w.client().get("/incident-themes/" + quote(INCIDENT, safe=""))
        assert anonymous.status_code in (303, 401)
        missing = w.login("mia").get("/incident-themes/nope")
        assert missing.status_code == 404
