"""Syndicated copies (issue 19): a post whose text an earlier post carried is stored linked to
the first one, and the queue shows one item with its copies; an edit is still an edit."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from monitor.queue import service
from monitor.storage import repo
from monitor.storage.db import session_scope
from monitor.storage.models import Post
from tests.support.fixtures.clock import T0
from tests.support.seeds.queue_seed import SEED_SETTINGS, SeedPost, seed
from tests.support.seeds.queue_seed import record as seed_record

NOW = T0 + timedelta(hours=6)
ARTICLE = (
    "Nordtel har været nede i hele Jylland siden i morges. Kunderne fortæller, at "
    "kundeservice lægger på efter fyrre minutter i køen, og at ingen svarer i chatten."
)


def _copies(engine: Engine) -> dict[str, str | None]:
    with session_scope(engine) as s:
        return {p.id: p.copy_of for p in s.exec(select(Post))}


def test_a_copy_under_another_address_is_linked_to_the_first_post(any_engine: Engine) -> None:
    seed(any_engine, [SeedPost("first", ARTICLE)], NOW - timedelta(hours=1))
    copy = ARTICLE.upper().replace(", ", " , ")  # another site's capitals and spacing
    seed(any_engine, [SeedPost("copy", copy, source="forum")], NOW)
    assert _copies(any_engine) == {"first": None, "copy": "first"}


def test_copies_in_one_crawl_batch_link_to_the_first_of_them(any_engine: Engine) -> None:
    posts = [SeedPost(f"p{i}", ARTICLE + " " * i) for i in range(3)]
    seed(any_engine, posts, NOW)
    assert _copies(any_engine) == {"p0": None, "p1": "p0", "p2": "p0"}


def test_short_texts_alike_are_different_posts(any_engine: Engine) -> None:
    seed(any_engine, [SeedPost(f"s{i}", "Nordtel er nede igen?!") for i in range(3)], NOW)
    assert set(_copies(any_engine).values()) == {None}


def test_the_queue_shows_one_item_with_its_copies(any_engine: Engine) -> None:
    seed(any_engine, [SeedPost("first", ARTICLE)], NOW - timedelta(hours=1))
    seed(any_engine, [SeedPost("copy1", ARTICLE.lower()), SeedPost("copy2", ARTICLE)], NOW)
    with session_scope(any_engine) as s:
        page = service.list_queue(s, service.QueueFilter(brand="Nordtel"))
        detail = service.get_item(s, "first", "Nordtel")
    assert [(r.post_id, r.copies) for r in page.rows] == [("first", 2)]
    assert page.total == 1
    assert [c.post_id for c in detail.copies] == ["copy1", "copy2"]
    assert detail.to_dict()["copies"][0]["url"].endswith("/p/copy1")


def test_an_edit_that_rewrites_a_copy_makes_it_a_post_of_its_own(sqlite_engine: Engine) -> None:
    seed(sqlite_engine, [SeedPost("first", ARTICLE)], NOW - timedelta(hours=1))
    seed(sqlite_engine, [SeedPost("copy", ARTICLE)], NOW)
    rewritten = seed_record(SeedPost("copy", ARTICLE + " Opdatering: det virker igen."), NOW)
    with session_scope(sqlite_engine) as s:
        source = repo.sync_sources(s, SEED_SETTINGS, NOW)["blog"].id
        assert source is not None
        result = repo.store_posts(s, source, [replace(rewritten, title="Opdateret")], NOW)
    assert result.updated == ["copy"]  # the same address: an edit of its own post
    assert _copies(sqlite_engine)["copy"] is None
