"""A post with syndicated copies: one queue item, its copies listed on the post page as
addresses that are never links (their URLs are untrusted like the rest of the post)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.queue import service
from monitor.storage import repo
from monitor.storage.db import session_scope
from monitor.storage.models import Reading
from tests.support.fixtures.clock import T0
from tests.support.seeds.posts import record
from tests.support.worlds.web import World, assert_inert, build_template, open_world, settings

ARTICLE = (
    "Nordtel har været nede i hele Jylland siden i morges. Kunderne fortæller, at "
    "kundeservice lægger på efter fyrre minutter i køen, og at ingen svarer i chatten."
)
COPY_URL = "javascript:alert('copy')"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("copies"))


@pytest.fixture
def web(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from open_world(template, tmp_path, monkeypatch)


def _store_article_and_copy(world: World) -> None:
    first = record("article1", ARTICLE, published_at=T0 - timedelta(minutes=20))
    copy = record("article2", ARTICLE.upper(), canonical_url=COPY_URL, published_at=T0)
    with session_scope(world.engine) as s:
        source = repo.sync_sources(s, settings(), T0)["blog"].id
        assert source is not None
        repo.store_posts(s, source, [first], T0 - timedelta(minutes=10))
        repo.store_posts(s, source, [copy], T0)
        readings = [
            Reading(
                post_id=p.id,
                brand="Nordtel",
                content_hash=p.content_hash,
                model="test",
                negative=0.9,
                neutral=0.05,
                positive=0.05,
                complaint=0.9,
                label="complaint",
                passage=p.text[:60],
                classified_at=T0,
            )
            for p in (first, copy)
        ]
        for r in readings:
            repo.save_reading(s, r)
        s.flush()
        service.flag(s, readings, 0.5, T0)


def test_the_queue_lists_the_article_once_and_its_page_lists_the_copy(web: World) -> None:
    _store_article_and_copy(web)
    client = web.login("mia")
    queue = client.get("/queue?brand=Nordtel").text
    assert "/posts/article1/Nordtel" in queue
    assert "/posts/article2/Nordtel" not in queue
    assert "+1 copy" in queue
    page = client.get("/posts/article1/Nordtel").text
    assert "Also published as (1)" in page
    assert "javascript:alert(&#39;copy&#39;)</code>" in page
    assert_inert(page)
    api = client.get("/api/v1/queue/article1/Nordtel").json()
    assert [c["post_id"] for c in api["copies"]] == ["article2"]
