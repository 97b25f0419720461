"""WebSub: discovery, intent verification, signatures, leases, the fallback to polling and
deliveries stored through the crawl's path — against a hub on 127.0.0.1 calling the real
push endpoints over HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from monitor.push.limits import Buckets
from monitor.push.websub import (
    Reason,
    State,
    Subscription,
    discover,
    signature_ok,
    verify_intent,
)
from monitor.storage.db import make_engine, upgrade
from monitor.web import create_app
from tests.support.fixtures.clock import T0
from tests.support.servers.fakeplatform import FakePlatform, running
from tests.support.servers.websubhub import Hub
from tests.support.worlds.push import KEY, PushWorld, push_settings, push_world

COMPLAINT = "Nordtel har været nede hele dagen, ingen svar fra kundeservice"


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    with running() as fake:
        yield fake


def feed_source(hub: Hub) -> dict[str, Any]:
    return {"name": "blog", "kind": "feed", "url": hub.topic, "push": True, "interval": 300}


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# ---------------------------------------------------------------- the pure parts


def test_discovery_reads_link_headers_first_then_the_document() -> None:
    headers = {"link": '<https://hub.example/>; rel="hub", </feed>; rel="self"'}
    assert discover("https://blog.example/x", b"", headers) == (
        "https://hub.example/",
        "https://blog.example/feed",
    )
    doc = b"<feed><atom:link rel='hub' href='/hub'/><link rel=\"self\" href='https://b/f'/>"
    assert discover("https://blog.example/feed", doc, {}) == (
        "https://blog.example/hub",
        "https://b/f",
    )
    assert discover("https://blog.example/feed", b"<feed><link rel='alternate' href='/'/>", {}) == (
        None,
        "https://blog.example/feed",
    )


@pytest.mark.parametrize("method", ["sha1", "sha256", "sha384", "sha512"])
def test_a_signature_in_any_method_the_spec_names_is_checked(method: str) -> None:
    body = b"<feed/>"
    good = hmac.new(b"s3cret", body, getattr(hashlib, method)).hexdigest()
    assert signature_ok("s3cret", body, f"{method}={good}") == "ok"
    assert signature_ok("s3cret", body + b" ", f"{method}={good}") == "mismatch"
    assert signature_ok("other", body, f"{method}={good}") == "mismatch"


def test_a_missing_or_strange_signature_is_named() -> None:
    assert signature_ok("s", b"x", None) == "unsigned"
    assert signature_ok("s", b"x", "garbage") == "unsigned"
    assert signature_ok("s", b"x", "md5=00") == "unknown_method"


def test_intent_is_confirmed_only_for_what_we_asked() -> None:
    asked = Subscription("blog", "https://b/feed", "https://hub/", State.REQUESTED)
    ok = {"hub.mode": "subscribe", "hub.topic": "https://b/feed", "hub.challenge": "c"}
    assert verify_intent(asked, {**ok, "hub.lease_seconds": "600"}) == ("ok", 600)
    assert verify_intent(None, ok) == ("unknown_subscription", None)
    assert verify_intent(asked, {**ok, "hub.topic": "https://b/other"}) == ("not_asked", None)
    assert verify_intent(asked, {**ok, "hub.mode": "unsubscribe"}) == ("not_asked", None)
    assert verify_intent(asked, {**ok, "hub.challenge": ""}) == ("no_challenge", None)
    assert verify_intent(asked, {**ok, "hub.mode": "denied"}) == ("denied", None)
    never = Subscription("blog", "https://b/feed")
    assert verify_intent(never, ok) == ("not_asked", None)


def test_a_client_past_its_burst_waits_for_the_refill() -> None:
    buckets = Buckets(rate=2.0, burst=3)
    assert [buckets.take("a", 100.0) for _ in range(3)] == [None, None, None]
    assert buckets.take("a", 100.0) == pytest.approx(0.5)
    assert buckets.take("b", 100.0) is None  # another client has its own bucket
    assert buckets.take("a", 100.5) is None  # one token back after half a second


# ---------------------------------------------------------------- against a hub


async def subscribed(world: PushWorld) -> list[Subscription]:
    return await world.service.websub.maintain(world.now)


def test_a_feed_that_advertises_a_hub_is_subscribed_and_verified(
    platform: FakePlatform, tmp_path: Path
) -> None:
    hub = Hub(platform).install()

    async def go() -> None:
        async with push_world(tmp_path, [feed_source(hub)]) as world:
            (sub,) = await subscribed(world)
            assert (sub.state, sub.reason, sub.hub) == (State.LIVE, Reason.VERIFIED, hub.hub_url)
            assert sub.expires == T0 + timedelta(seconds=7 * 86400)
            form = hub.requests[0]
            assert form["hub.mode"] == "subscribe"
            assert form["hub.topic"] == hub.topic
            assert form["hub.callback"].startswith(world.base + "/push/websub/")
            assert len(form["hub.secret"]) == 64
            assert "push-test-key" not in form["hub.secret"]
            ((params, answer),) = hub.checks
            assert answer.body == params["hub.challenge"].encode()
            assert world.pipeline.crawler.pushed == {"blog"}

    run(go())


def test_a_delivery_is_stored_once_and_nudges_the_runner(
    platform: FakePlatform, tmp_path: Path
) -> None:
    hub = Hub(platform, [("https://blog.example/p1", COMPLAINT)]).install()

    async def go() -> None:
        async with push_world(tmp_path, [feed_source(hub)]) as world:
            await subscribed(world)
            first = await asyncio.to_thread(hub.deliver)
            assert first.status == 202
            assert b'"new":1' in first.body
            assert world.posts() == ["https://blog.example/p1"]
            assert world.nudges == [T0]
            again = await asyncio.to_thread(hub.deliver, None, "sha1")
            assert again.status == 202
            assert b'"new":0' in again.body
            assert world.posts() == ["https://blog.example/p1"]
            assert world.nudges == [T0]  # nothing new: no pass asked for

    run(go())


def test_forged_and_unsigned_deliveries_are_refused_and_not_read(
    platform: FakePlatform, tmp_path: Path
) -> None:
    hub = Hub(platform, [("https://blog.example/p1", COMPLAINT)]).install()

    async def go() -> None:
        async with push_world(tmp_path, [feed_source(hub)]) as world:
            await subscribed(world)
            forged = await asyncio.to_thread(hub.deliver, None, "sha256", "guessed")
            unsigned = await asyncio.to_thread(hub.deliver, None, "none")
            assert (forged.status, unsigned.status) == (403, 403)
            assert b"signature_mismatch" in forged.body
            assert b"signature_unsigned" in unsigned.body
            assert world.posts() == []
            assert world.nudges == []

    run(go())


def test_verification_for_a_topic_or_subscription_we_never_asked_for_is_refused(
    platform: FakePlatform, tmp_path: Path
) -> None:
    hub = Hub(platform).install()

    async def go() -> None:
        async with push_world(tmp_path, [feed_source(hub)]) as world:
            await subscribed(world)
            form = dict(hub.requests[0])
            other = await asyncio.to_thread(
                hub.check, form, **{"hub.topic": "https://evil.example/feed"}
            )
            assert other.status == 404
            stranger = {**form, "hub.callback": world.base + "/push/websub/" + "0" * 32}
            assert (await asyncio.to_thread(hub.check, stranger)).status == 404
            unsubscribe = await asyncio.to_thread(hub.check, form, **{"hub.mode": "unsubscribe"})
            assert unsubscribe.status == 404

    run(go())


def test_a_body_over_the_cap_is_refused_before_it_is_read(
    platform: FakePlatform, tmp_path: Path
) -> None:
    hub = Hub(platform).install()

    async def go() -> None:
        async with push_world(tmp_path, [feed_source(hub)], max_body=2048) as world:
            await subscribed(world)
            big = await asyncio.to_thread(hub.deliver, b"<feed>" + b" " * 4096 + b"</feed>")
            assert big.status == 413
            assert world.posts() == []

    run(go())


def test_a_client_sending_too_fast_is_told_when_to_come_back(
    platform: FakePlatform, tmp_path: Path
) -> None:
    hub = Hub(platform).install()

    async def go() -> None:
        async with push_world(tmp_path, [feed_source(hub)], rate=0.5, burst=2) as world:
            await subscribed(world)  # the hub's verification takes the first token
            answers = [await asyncio.to_thread(hub.deliver) for _ in range(2)]
            assert [a.status for a in answers] == [202, 429]
            assert answers[1].headers["retry-after"] == "2"
            world.now += timedelta(seconds=2)
            assert (await asyncio.to_thread(hub.deliver)).status == 202

    run(go())


def test_the_lease_is_renewed_before_it_runs_out(platform: FakePlatform, tmp_path: Path) -> None:
    hub = Hub(platform).install()

    async def go() -> None:
        async with push_world(tmp_path, [feed_source(hub)], lease_seconds=1000) as world:
            await subscribed(world)
            world.now = T0 + timedelta(seconds=799)
            await subscribed(world)
            assert len(hub.requests) == 1  # not yet: 80% of the lease not spent
            world.now = T0 + timedelta(seconds=800)
            (sub,) = await subscribed(world)
            assert len(hub.requests) == 2
            assert sub.state is State.LIVE
            assert sub.expires == world.now + timedelta(seconds=1000)

    run(go())


def test_a_hub_that_never_verifies_leaves_the_feed_polled(
    platform: FakePlatform, tmp_path: Path
) -> None:
    hub = Hub(platform, verify=False).install()

    async def go() -> None:
        async with push_world(tmp_path, [feed_source(hub)], verify_within=60) as world:
            (sub,) = await subscribed(world)
            assert sub.state is State.REQUESTED
            assert world.pipeline.crawler.pushed == set()
            world.now = T0 + timedelta(seconds=61)
            (sub,) = await subscribed(world)
            assert (sub.state, sub.reason) == (State.NONE, Reason.NOT_VERIFIED)
            assert sub.retry_at is not None
            assert sub.retry_at > world.now
            assert world.pipeline.crawler.pushed == set()

    run(go())


def test_a_lapsed_lease_makes_the_feed_due_at_once(platform: FakePlatform, tmp_path: Path) -> None:
    hub = Hub(platform).install()

    async def go() -> None:
        async with push_world(tmp_path, [feed_source(hub)], lease_seconds=1000) as world:
            await world.pipeline.crawler.crawl(["blog"], T0)  # the table synced, polled once
            await subscribed(world)
            hub.verify = False  # the renewal is never confirmed
            world.now = T0 + timedelta(seconds=800)
            await subscribed(world)
            world.now = T0 + timedelta(seconds=1000)
            (sub,) = await subscribed(world)
            assert sub.state is State.REQUESTED  # asked again, polled meanwhile
            assert world.pipeline.crawler.pushed == set()
            assert world.due("blog") == world.now

    run(go())


def test_a_live_subscription_stretches_the_poll_to_the_safety_interval(
    platform: FakePlatform, tmp_path: Path
) -> None:
    hub = Hub(platform).install()

    async def go() -> None:
        async with push_world(tmp_path, [feed_source(hub)], poll_interval=7200) as world:
            await subscribed(world)
            await world.pipeline.crawler.crawl(["blog"], T0)
            least = 7200 * (1 - world.settings.crawl.jitter)
            assert world.due("blog") - T0 >= timedelta(seconds=least)

    run(go())


@pytest.mark.parametrize(
    ("setup", "reason"),
    [({"status": 500}, Reason.HUB_REFUSED), ({"advertise": False}, Reason.NO_HUB)],
)
def test_a_failing_or_missing_hub_is_named_and_the_feed_polled(
    platform: FakePlatform, tmp_path: Path, setup: dict[str, Any], reason: Reason
) -> None:
    hub = Hub(platform, **setup).install()

    async def go() -> None:
        async with push_world(tmp_path, [feed_source(hub)]) as world:
            (sub,) = await subscribed(world)
            assert (sub.state, sub.reason) == (State.NONE, reason)
            assert world.pipeline.crawler.pushed == set()

    run(go())


def test_a_hub_that_denies_the_subscription_is_believed(
    platform: FakePlatform, tmp_path: Path
) -> None:
    hub = Hub(platform, verify=False).install()

    async def go() -> None:
        async with push_world(tmp_path, [feed_source(hub)]) as world:
            await subscribed(world)
            form = hub.requests[0]
            denied = await asyncio.to_thread(hub.check, form, **{"hub.mode": "denied"})
            assert denied.status == 404
            (sub,) = world.service.websub.subs.values()
            assert (sub.state, sub.reason) == (State.NONE, Reason.DENIED)

    run(go())


def test_a_process_without_the_push_service_answers_503(tmp_path: Path) -> None:
    settings = push_settings(tmp_path / "ui.db", 8080, [])
    engine = make_engine(settings.database)
    upgrade(engine)
    client = TestClient(create_app(settings, engine), base_url="http://127.0.0.1:8080")
    answer = client.post("/push/websub/abc", content=b"<feed/>")
    assert answer.status_code == 503
    assert answer.json() == {"status": "push_not_running"}
    engine.dispose()


def test_neither_the_key_nor_a_subscriptions_secret_is_logged_or_answered(
    platform: FakePlatform, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    hub = Hub(platform, [("https://blog.example/p1", COMPLAINT)]).install()
    caplog.set_level(logging.DEBUG)

    async def go() -> list[bytes]:
        async with push_world(tmp_path, [feed_source(hub)]) as world:
            await subscribed(world)
            answers = [
                await asyncio.to_thread(hub.deliver),
                await asyncio.to_thread(hub.deliver, None, "sha256", "guessed"),
            ]
            hub.status = 500  # a failing renewal is logged too
            world.now += timedelta(days=7)
            await subscribed(world)
            return [a.body for a in answers]

    bodies = run(go())
    secret = hub.requests[0]["hub.secret"]
    shown = caplog.text.encode() + b"".join(bodies)
    assert b"websub" in caplog.text.encode()  # there is something to read
    assert secret.encode() not in shown
    assert KEY.encode() not in shown


def test_a_delivery_after_a_restart_is_taken_before_the_feed_is_subscribed_again(
    platform: FakePlatform, tmp_path: Path
) -> None:
    hub = Hub(platform, [("https://blog.example/p1", COMPLAINT)]).install()

    async def go() -> None:
        async with push_world(tmp_path, [feed_source(hub)]) as world:
            await subscribed(world)
            world.service.websub.subs.clear()  # what a restart forgets
            answer = await asyncio.to_thread(hub.deliver)
            assert answer.status == 202
            assert world.posts() == ["https://blog.example/p1"]

    run(go())


def test_each_endpoint_call_is_counted_by_its_named_result(
    platform: FakePlatform, tmp_path: Path
) -> None:
    hub = Hub(platform, [("https://blog.example/p1", COMPLAINT)]).install()

    async def go() -> str:
        async with push_world(tmp_path, [feed_source(hub)]) as world:
            await subscribed(world)
            await asyncio.to_thread(hub.deliver)
            await asyncio.to_thread(hub.deliver, None, "sha256", "guessed")
            assert world.service.metrics is not None
            return world.service.metrics.render().decode()

    text = run(go())
    for result in ("verified", "stored", "signature_mismatch"):
        assert f'stormwatch_push_total{{kind="websub",result="{result}"}} 1.0' in text
