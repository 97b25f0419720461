"""Mastodon hashtag streams: Server-Sent Events decoding, and a stream dropped 100 times
mid-event that loses no post and stores none twice (the gap poll after each reconnect)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.errors import FetchError
from monitor.push.stream import Decoder, Event, HashtagStream
from monitor.storage.db import session_scope
from tests.support.fixtures.clock import T0
from tests.support.servers.fakeplatform import Reply, running
from tests.support.servers.mastodonstream import DroppingStream, dropping_stream
from tests.support.worlds.push import push_world


def test_events_are_whole_whatever_the_chunks() -> None:
    decoder = Decoder()
    assert decoder.feed(b":thump\n\nevent: upd") == []
    assert decoder.feed(b'ate\ndata: {"a":\r\ndata: 1}\r\n\r\nevent: delete\ndata: 7\n') == [
        Event("update", '{"a":\n1}')
    ]
    assert decoder.feed(b"\n") == [Event("delete", "7")]
    assert decoder.feed("data: \u00e6".encode()[:-1]) == []  # half a UTF-8 character
    assert decoder.feed("\u00e6".encode()[-1:] + b"\n\n") == [Event("message", "\u00e6")]


def test_an_endless_event_is_refused() -> None:
    with pytest.raises(FetchError, match="over a million"):
        Decoder().feed(b"data: " + b"x" * 1_000_001)


def test_a_stream_dropped_100_times_loses_no_post_and_stores_none_twice(
    tmp_path: Path,
) -> None:
    script = DroppingStream(drops=100, gap=2, streamed=2)

    async def go() -> None:
        with dropping_stream(script) as base:
            source = {"name": "social", "kind": "mastodon", "url": base, "tags": ["nordtel"]}
            async with push_world(tmp_path, [{**source, "push": True}]) as world:
                stopping = asyncio.Event()
                loop = asyncio.get_running_loop()
                script.on_finished = lambda: loop.call_soon_threadsafe(stopping.set)
                waits: list[float] = []

                async def pause(seconds: float) -> None:
                    waits.append(seconds)

                stream = HashtagStream(
                    lambda: world.pipeline,
                    world.service.intake,
                    "social",
                    "nordtel",
                    lambda: world.now,
                    pause=pause,
                    rand=lambda: 0.5,
                )
                await stream.run(stopping)
                published = {status["url"] for status in script.published}
                assert len(published) == 100 * 5 + 4
                assert set(world.posts()) == published
                assert len(world.posts()) == len(published)
                assert stream.stats.stored + stream.stats.polled == len(published)
                assert stream.stats.stored >= 100  # the stream carried posts, not only polls
                assert stream.stats.connections == stream.stats.gap_polls
                assert stream.stats.connections >= 101
                assert set(waits) == {world.settings.push.reconnect_base}  # each one delivered
                with session_scope(world.engine) as session:
                    edits = session.execute(sa.text("SELECT count(*) FROM post_edits")).scalar()
                assert edits == 0

    asyncio.run(go())


def test_a_stream_refused_again_and_again_waits_longer_each_time(tmp_path: Path) -> None:
    async def go() -> None:
        source = {"name": "social", "kind": "mastodon", "url": "http://127.0.0.1:9/"}
        async with push_world(tmp_path, [{**source, "tags": ["nordtel"], "push": True}]) as world:
            stopping = asyncio.Event()
            waits: list[float] = []

            async def pause(seconds: float) -> None:
                waits.append(seconds)
                if len(waits) == 4:
                    stopping.set()

            stream = HashtagStream(
                lambda: world.pipeline,
                world.service.intake,
                "social",
                "nordtel",
                lambda: T0,
                pause=pause,
                rand=lambda: 0.5,
            )
            await stream.run(stopping)
            assert waits == [1.0, 2.0, 4.0, 8.0]
            assert stream.stats.connections == 0

    asyncio.run(go())


def test_a_refused_stream_says_why_is_not_read_and_waits_as_asked(tmp_path: Path) -> None:
    with running() as platform:
        limited = Reply(429, b"{}", {"Retry-After": "120"})
        platform.routes[("GET", "/api/v1/streaming/hashtag")] = lambda _: limited

        async def go() -> None:
            source = {"name": "social", "kind": "mastodon", "url": platform.url()}
            async with push_world(tmp_path, [{**source, "tags": ["nordtel"], "push": True}]) as w:
                stream = HashtagStream(
                    lambda: w.pipeline, w.service.intake, "social", "nordtel", lambda: T0
                )
                with pytest.raises(FetchError) as refused:
                    await stream.connect()
                assert refused.value.kind == "rate_limited"
                assert refused.value.retry_after == 120
                assert stream.stats.connections == 0
                assert stream.stats.gap_polls == 0
                stopping, waits = asyncio.Event(), []

                async def pause(seconds: float) -> None:
                    waits.append(seconds)
                    stopping.set()

                stream.pause, stream.rand = pause, lambda: 0.5
                await stream.run(stopping)
                assert waits == [120.0]  # the instance's Retry-After, not the 1 s backoff

        asyncio.run(go())
