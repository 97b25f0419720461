"""Mastodon's hashtag streams: Server-Sent Events with reconnect, backoff and a gap poll.

``GET {instance}/api/v1/streaming/hashtag?tag=TAG`` answers ``text/event-stream``: an
``update`` event per new status (its data the status as JSON), ``status.update`` for an
edit, ``delete`` for a removal, and ``:`` comment lines as heartbeats. One connection per
tag of each Mastodon source with ``push = true``.

Nothing is lost when a connection drops: after every (re)connection, once the instance
has answered, the source is polled through the crawl (``Crawler.crawl``, the mastodon
adapter from its persisted ``min_id`` marks), so whatever was published while we were
away, and an event cut in half by the drop, is read by the poll; events after the answer
come on the stream. Nothing is stored twice: a post the poll and the stream both bring is
the same URL, which the store recognises.

Between connections the wait grows from ``[push] reconnect_base`` to ``reconnect_cap``
(with jitter); a connection that delivered an event starts the count again.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from monitor.errors import FetchError, StormwatchError, first_line
from monitor.fetch.backoff import next_delay
from monitor.pipeline import Pipeline
from monitor.push.intake import Intake
from monitor.settings import SourceSettings
from monitor.sources import Request, adapter_for
from monitor.sources.api import ApiBase

log = logging.getLogger("stormwatch.push")
IDLE_SECONDS = 90.0  # Mastodon sends a heartbeat every ~10 s; three times quiet is a drop
MAX_EVENT_CHARS = 1_000_000  # an event larger than any status: the stream is not Mastodon's
POSTED = {"update", "status.update"}  # events whose data is a status


@dataclass(frozen=True)
class Event:
    name: str
    data: str


@dataclass
class Decoder:
    """Server-Sent Events from chunks of bytes (WHATWG HTML, "Parsing an event stream"):
    complete events only; a half-received one waits for the rest or is dropped with the
    connection."""

    _text: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")("replace")
    )
    _rest: str = ""

    def feed(self, chunk: bytes) -> list[Event]:
        text = (self._rest + self._text.decode(chunk)).replace("\r\n", "\n").replace("\r", "\n")
        *blocks, self._rest = text.split("\n\n")
        if len(self._rest) > MAX_EVENT_CHARS:
            raise FetchError("parse", "an event stream event over a million characters")
        return [event for event in map(_event, blocks) if event is not None]


def _event(block: str) -> Event | None:
    name, data = "message", []
    for line in block.split("\n"):
        if not line or line.startswith(":"):
            continue  # a heartbeat
        key, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if key == "event":
            name = value
        elif key == "data":
            data.append(value)
    return Event(name, "\n".join(data)) if data else None


@dataclass
class StreamStats:
    connections: int = 0
    drops: int = 0
    events: int = 0
    stored: int = 0  # new posts the stream brought
    gap_polls: int = 0
    polled: int = 0  # new posts the gap polls brought
    waits: list[float] = field(default_factory=list)


Pause = Callable[[float], Awaitable[None]]


@dataclass
class HashtagStream:
    """One tag of one Mastodon source, kept streaming until ``stopping``."""

    pipeline: Callable[[], Pipeline]
    intake: Intake
    source: str
    tag: str
    clock: Callable[[], datetime]
    pause: Pause | None = None  # waits between connections (tests pass one that records)
    rand: Callable[[], float] = random.random
    stats: StreamStats = field(default_factory=StreamStats)

    def conf(self) -> SourceSettings:
        return self.pipeline().settings.source(self.source)

    def url(self) -> str:
        base = self.conf().url.rstrip("/")
        return f"{base}/api/v1/streaming/hashtag?tag={quote(self.tag.lstrip('#'), safe='')}"

    async def run(self, stopping: asyncio.Event) -> None:
        failures = 0
        while not stopping.is_set():
            events, asked = self.stats.events, None
            try:
                await self.connect()
            except StormwatchError as exc:
                log.info("stream %s #%s dropped: %s", self.source, self.tag, first_line(exc))
                asked = exc.retry_after if isinstance(exc, FetchError) else None
            self.stats.drops += 1
            failures = 0 if self.stats.events > events else failures + 1
            if not stopping.is_set():
                await self._wait(failures, stopping, asked)

    async def connect(self) -> None:
        """One connection, read to its end (or until it breaks)."""
        pipeline, conf = self.pipeline(), self.conf()
        adapter = adapter_for("mastodon")
        assert isinstance(adapter, ApiBase)
        signed = await adapter.sign(conf, pipeline.fetcher, self.clock())
        headers = {**signed, "Accept": "text/event-stream", "Cache-Control": "no-cache"}
        async with pipeline.fetcher.stream(self.url(), headers=headers, idle=IDLE_SECONDS) as body:
            self.stats.connections += 1
            await self.fill_gap()
            await self._read(body)

    async def fill_gap(self) -> None:
        """Poll the source now: what was published while the stream was away."""
        self.stats.gap_polls += 1
        reports = await self.pipeline().crawler.crawl([self.source], self.clock())
        self.stats.polled += sum(len(report.new) for report in reports)

    async def _read(self, body: AsyncIterator[bytes]) -> None:
        decoder = Decoder()
        async for chunk in body:
            statuses = [e.data for e in decoder.feed(chunk) if e.name in POSTED]
            if statuses:
                await self._store(statuses)

    async def _store(self, statuses: list[str]) -> None:
        """The events read from one chunk, as the tag timeline's list of statuses: read by
        the mastodon adapter, stored together (a busy stream batches itself: while one
        batch is stored, the next chunks wait in the socket)."""
        self.stats.events += len(statuses)
        body = ("[" + ",".join(s for s in statuses if _is_json(s)) + "]").encode()
        timeline = self.url().replace("/streaming/hashtag?tag=", "/timelines/tag/")
        request = Request(timeline)
        report = await self.intake.accept(
            self.source, request, body, {"content-type": "application/json"}, self.clock()
        )
        self.stats.stored += len(report.new)

    async def _wait(self, failures: int, stopping: asyncio.Event, asked: float | None) -> None:
        """The backoff, or what the instance asked for (a 429's Retry-After) if longer."""
        push = self.pipeline().settings.push
        tries = max(failures, 1)  # after a good connection, and after one failure: the base
        delay = next_delay(
            tries,
            base=push.reconnect_base,
            cap=push.reconnect_cap,
            retry_after=asked,
            rand=self.rand,
        )
        self.stats.waits.append(delay)
        if self.pause is not None:
            await self.pause(delay)
            return
        try:
            await asyncio.wait_for(stopping.wait(), delay)
        except TimeoutError:
            return


def _is_json(data: str) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def hashtag_streams(
    pipeline: Callable[[], Pipeline], intake: Intake, clock: Callable[[], datetime]
) -> list[HashtagStream]:
    """A stream per tag of every Mastodon source with ``push = true``."""
    sources = pipeline().settings.sources
    pushing = [s for s in sources if s.push and s.kind == "mastodon" and s.enabled]
    return [HashtagStream(pipeline, intake, s.name, tag, clock) for s in pushing for tag in s.tags]
