"""Pushed posts into the store on SQLite: does the intake keep up with 1,000 posts a second?

The push intake (``monitor.push.intake``) as the daemon runs it: the real pipeline from
settings (parse worker processes, brand matching, language identification, the SQLite
store with its search index), deliveries offered at a fixed rate for a while, each
awaited until its posts are committed (as a push endpoint answers only then). Two shapes:

- ``single``: one Mastodon status per delivery, each read and awaited on its own (the
  worst case: a webhook per post);
- ``stream``: one Mastodon status per event, read as ``monitor.push.stream`` reads a
  stream: whatever arrived while the previous batch was stored goes as one batch;
- ``websub``: an Atom feed of 20 new entries per delivery (a hub's fat ping).

Reported per shape: posts offered and stored, the sustained rate (stored posts over the
time from the first offer to the last commit), and how long a delivery waited for its
commit (median, p95, max). Keeping up means the rate matches the offer and the waits stay
flat instead of growing through the run.

Run: ``.venv/bin/python benchmarks/push.py [--rate 1000] [--seconds 10]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

from monitor.pipeline import build_pipeline  # noqa: E402
from monitor.push.intake import Intake  # noqa: E402
from monitor.settings import Settings, parse_settings  # noqa: E402
from monitor.sources import Request  # noqa: E402
from monitor.storage.db import upgrade  # noqa: E402
from tests.support.servers.fakeplatform import mastodon_status  # noqa: E402
from tests.support.servers.websubhub import atom_feed  # noqa: E402

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
FEED_ENTRIES = 20
TEXTS = (
    "Nordtel har været nede i {n} timer nu, ingen svar fra kundeservice",
    "Is Nordtel down again? Third outage this week, ticket {n} unanswered",
    "Nordtel-mobil virker ikke i Aarhus, tjek #{n}",
)


def settings(db: Path) -> Settings:
    return parse_settings(
        {
            "database": {"url": f"sqlite:///{db}"},
            "web": {"secret_key": "benchmark-only-key"},
            "crawl": {"languages": ["da", "en"]},
            "brands": [{"name": "Nordtel"}],
            "sources": [
                {"name": "tag", "kind": "mastodon", "url": "https://social.example", "tags": ["x"]},
                {"name": "blog", "kind": "feed", "url": "https://blog.example/feed"},
            ],
        }
    )


def stream_delivery(n: int) -> tuple[str, Request, bytes, dict[str, str]]:
    status = mastodon_status(n + 1, TEXTS[n % 3].format(n=n), "2026-11-02T08:59:00.000Z")
    request = Request("https://social.example/api/v1/timelines/tag/x")
    return "tag", request, json.dumps([status]).encode(), {"content-type": "application/json"}


def websub_delivery(n: int) -> tuple[str, Request, bytes, dict[str, str]]:
    entries = [
        (f"https://blog.example/{n}-{i}", TEXTS[i % 3].format(n=n * FEED_ENTRIES + i))
        for i in range(FEED_ENTRIES)
    ]
    body = atom_feed("https://hub.example/", "https://blog.example/feed", entries)
    request = Request("https://blog.example/feed")
    return "blog", request, body, {"content-type": "application/atom+xml"}


async def offer(
    intake: Intake,
    make: Callable[[int], tuple[str, Request, bytes, dict[str, str]]],
    per_delivery: int,
    rate: float,
    seconds: float,
) -> tuple[int, float, list[float]]:
    """Deliveries at ``rate`` posts a second for ``seconds``; (stored, elapsed, waits)."""
    deliveries = int(rate * seconds / per_delivery)
    gap = per_delivery / rate
    waits: list[float] = []
    stored = 0

    async def one(n: int) -> None:
        nonlocal stored
        name, request, body, headers = make(n)
        began = time.perf_counter()
        report = await intake.accept(name, request, body, headers, NOW)
        waits.append(time.perf_counter() - began)
        stored += len(report.new)

    start = time.perf_counter()
    tasks = []
    for n in range(deliveries):
        delay = start + n * gap - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)  # the offered rate, not a wait on the system
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    return stored, time.perf_counter() - start, waits


async def stream(intake: Intake, rate: float, seconds: float) -> tuple[int, float, list[float]]:
    """Events at ``rate`` a second into a buffer (the socket), drained as
    ``HashtagStream._read`` drains a stream: everything buffered, as one list of statuses."""
    buffered: asyncio.Queue[tuple[float, dict[str, object]]] = asyncio.Queue()
    total, waits, stored = int(rate * seconds), [], 0

    async def produce() -> None:
        start = time.perf_counter()
        for n in range(total):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # the offered rate, not a wait on the system
            text = TEXTS[n % 3].format(n=n)
            status = mastodon_status(n + 1, text, "2026-11-02T08:59:00.000Z")
            buffered.put_nowait((time.perf_counter(), status))

    async def consume() -> None:
        nonlocal stored
        request = Request("https://social.example/api/v1/timelines/tag/x")
        headers = {"content-type": "application/json"}
        while len(waits) < total:
            batch = [await buffered.get()]
            while not buffered.empty():
                batch.append(buffered.get_nowait())
            body = json.dumps([status for _, status in batch]).encode()
            report = await intake.accept("tag", request, body, headers, NOW)
            stored += len(report.new)
            done = time.perf_counter()
            waits.extend(done - offered for offered, _ in batch)

    start = time.perf_counter()
    await asyncio.gather(produce(), consume())
    return stored, time.perf_counter() - start, waits


async def shape(name: str, rate: float, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        conf = settings(Path(tmp) / "push.db")
        pipeline = build_pipeline(conf)
        upgrade(pipeline.engine)
        await asyncio.to_thread(pipeline.crawler.reader.load)
        intake = Intake(lambda: pipeline.crawler)
        make, per = (stream_delivery, 1) if name == "single" else (websub_delivery, FEED_ENTRIES)
        try:
            if name == "stream":
                per = 1
                stored, elapsed, waits = await stream(intake, rate, seconds)
            else:
                stored, elapsed, waits = await offer(intake, make, per, rate, seconds)
        finally:
            await pipeline.aclose()
    waits.sort()
    offered = int(rate * seconds / per) * per
    p95 = waits[int(len(waits) * 0.95) - 1]
    print(
        f"| {name} | {per} | {offered} | {stored} | {stored / elapsed:,.0f} | "
        f"{statistics.median(waits) * 1000:.0f} | {p95 * 1000:.0f} | {waits[-1] * 1000:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="posts a second offered")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long they are offered")
    args = parser.parse_args()
    print(f"offered: {args.rate:,.0f} posts/s for {args.seconds:g} s")
    print(
        "| shape | posts/delivery | offered | stored | stored/s | wait p50 ms | p95 ms | max ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in ("single", "stream", "websub"):
        asyncio.run(shape(name, args.rate, args.seconds))


if __name__ == "__main__":
    main()
