"""The crawl pipeline end to end against the simulated web on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from monitor.canonical import post_id
from monitor.demo.sampleweb import SampleWeb
from monitor.storage import repo
from monitor.storage.db import session_scope
from tests.support.fixtures.clock import T0
from tests.support.worlds.crawl import crawl, good_sources, make_settings, should_store


@pytest.fixture(scope="module")
def web() -> Iterator[SampleWeb]:
    with SampleWeb() as site:
        yield site


def test_first_crawl_stores_every_expected_post_once_then_304s_then_edits(
    web: SampleWeb, sqlite_engine: Engine, tmp_path: Path
) -> None:
    settings = make_settings(web, tmp_path / "unused.db", good_sources(web))
    reports = crawl(settings, sqlite_engine)
    assert [r.error for r in reports if r.error] == []

    expected = web.expected()
    by_url = expected.by_url()
    wanted = {post_id(i.url): i for i in expected.items if should_store(i, by_url)}
    with session_scope(sqlite_engine) as s:
        stored = {p.id: p for p in repo.list_posts(s, limit=10_000)}
        brands = repo.brands_of(s, list(stored))
    assert set(stored) == set(wanted), "every expected post and comment, nothing else"
    assert sum(len(r.new) for r in reports) == len(wanted), "each stored exactly once"

    for pid, item in wanted.items():
        post = stored[pid]
        assert post.thread_id == post_id(item.thread)
        assert post.parent_id == (post_id(item.parent) if item.parent else None)
        assert post.kind == ("post" if item.thread == item.url else "comment")
        assert set(brands[pid]) >= set(item.brands)
    langs = [(stored[pid].lang, item.lang) for pid, item in wanted.items()]
    right = sum(1 for got, want in langs if got == want)
    wrong = [(got, want) for got, want in langs if got is not None and got != want]
    assert right / len(langs) >= 0.85, langs
    assert len(wrong) <= len(langs) * 0.05, langs

    web.clear_requests()
    again = crawl(settings, sqlite_engine, T0 + timedelta(minutes=15))
    assert sum(len(r.new) + len(r.updated) for r in again) == 0
    conditional = [
        r for r in web.requests if "if-none-match" in r.headers or "if-modified-since" in r.headers
    ]
    assert conditional
    assert all(r.status == 304 for r in conditional)
    assert sum(r.not_modified for r in again) == len(conditional)

    slug_url = next(i.url for i in expected.items if i.kind == "blog_post" and i.brands)
    web.edit_post(
        slug_url.rstrip("/").rsplit("/", 1)[-1], text="Nordtel har svaret. Tak for hjælpen!"
    )
    third = crawl(settings, sqlite_engine, T0 + timedelta(minutes=30))
    updated = [pid for r in third for pid in r.updated]
    assert updated == [post_id(slug_url)]
    with session_scope(sqlite_engine) as s:
        post = repo.get_post(s, post_id(slug_url))
        history = repo.post_edits(s, post_id(slug_url))
    assert post is not None
    assert post.text == "Nordtel har svaret. Tak for hjælpen!"
    assert post.edits == 1
    assert len(history) == 1
    assert history[0].old_text != post.text


def test_brand_owned_forum_counts_every_post_for_its_brand(
    web: SampleWeb, sqlite_engine: Engine, tmp_path: Path
) -> None:
    forum = {
        "name": "forum",
        "kind": "discourse",
        "url": web.base_url + "/forum/",
        "brand": "Nordtel",
    }
    settings = make_settings(web, tmp_path / "unused.db", [forum])
    [report] = crawl(settings, sqlite_engine)
    forum_items = [i for i in web.expected().items if i.source == "forum"]
    assert report.error is None
    assert len(report.new) == len(forum_items)
    with session_scope(sqlite_engine) as s:
        posts = repo.list_posts(s, limit=1000)
        brands = repo.brands_of(s, [p.id for p in posts])
    reasons = {p.brand_reason for p in posts}
    assert reasons == {"mention", "source"}
    assert all("Nordtel" in brands[p.id] for p in posts)
