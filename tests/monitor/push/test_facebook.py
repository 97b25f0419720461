"""Facebook Page webhooks: the verification handshake, signed deliveries, and changes
stored as the facebook_page adapter stores a poll's answer (the same posts, once)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from tests.support.servers.fakeplatform import FakePlatform, json_reply, running
from tests.support.servers.websubhub import Answer, call
from tests.support.worlds.push import PushWorld, push_world

APP_SECRET = "fb-app-secret-for-tests"
VERIFY = "fb-verify-token-for-tests"
PAGE = "1234567890"
POST = f"{PAGE}_111"
FACEBOOK = {"facebook_app_secret": APP_SECRET, "facebook_verify_token": VERIFY}


@pytest.fixture
def graph() -> Iterator[FakePlatform]:
    with running() as fake:
        yield fake


def page_source(graph: FakePlatform) -> dict[str, Any]:
    return {
        "name": "page",
        "kind": "facebook_page",
        "url": graph.url("/v21.0"),
        "page_id": PAGE,
        "token": "page-token",
        "push": True,
    }


def change(item: str, verb: str = "add", **value: Any) -> dict[str, Any]:
    return {"field": "feed", "value": {"item": item, "verb": verb, "post_id": POST,
            "created_time": 1793610000, "from": {"id": "9", "name": "Kunde"}, **value}}  # fmt: skip


def payload(*changes: dict[str, Any], page: str = PAGE) -> bytes:
    entry = {"id": page, "time": 1793610000, "changes": list(changes)}
    return json.dumps({"object": "page", "entry": [entry]}).encode()


def send(
    world: PushWorld, body: bytes, secret: str = APP_SECRET, header: str | None = None
) -> Answer:
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    name = header or "X-Hub-Signature-256"
    headers = {"Content-Type": "application/json", name: signature}
    return call(world.base + "/push/facebook", body, headers)


def verify(world: PushWorld, token: str) -> Answer:
    query = urlencode({"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "42"})
    return call(world.base + "/push/facebook?" + query)


def test_the_verification_echoes_the_challenge_only_for_our_token(
    graph: FakePlatform, tmp_path: Path
) -> None:
    async def go() -> None:
        async with push_world(tmp_path, [page_source(graph)], **FACEBOOK) as world:
            good = await asyncio.to_thread(verify, world, VERIFY)
            assert (good.status, good.body) == (200, b"42")
            assert (await asyncio.to_thread(verify, world, "guess")).status == 403
            odd = await asyncio.to_thread(verify, world, quote("æøå"))
            assert odd.status == 403

    asyncio.run(go())


def test_posts_comments_and_replies_are_stored_with_their_threads(
    graph: FakePlatform, tmp_path: Path
) -> None:
    body = payload(
        change("status", message="Nordtel, mit internet har været nede i to dage"),
        change("comment", comment_id="111_5", parent_id=POST, message="Samme her"),
        change("comment", comment_id="111_6", parent_id="111_5", message="Også hos mig"),
        change("comment", "remove", comment_id="111_7"),
        change("photo"),  # no caption: left to the poll
    )

    async def go() -> None:
        async with push_world(tmp_path, [page_source(graph)], **FACEBOOK) as world:
            answer = await asyncio.to_thread(send, world, body)
            assert answer.status == 200
            assert json.loads(answer.body) == {"status": "stored", "new": 3, "updated": 0}
            thread = f"https://www.facebook.com/{POST}"
            comments = [f"{thread}?comment_id=111_5", f"{thread}?comment_id=111_6"]
            assert sorted(world.posts()) == sorted([thread, *comments])
            assert world.parents() == {
                f"{thread}?comment_id=111_5": thread,
                f"{thread}?comment_id=111_6": f"{thread}?comment_id=111_5",
            }
            assert world.nudges

    asyncio.run(go())


def test_a_post_the_poll_already_stored_is_not_stored_again(
    graph: FakePlatform, tmp_path: Path
) -> None:
    text = "Nordtel, mit internet har været nede i to dage"
    at = "2026-11-02T09:00:00+0000"
    polled = {"id": POST, "message": text, "created_time": at, "updated_time": at,
              "from": {"id": "9", "name": "Kunde"}}  # fmt: skip
    graph.routes[("GET", f"/v21.0/{PAGE}/feed")] = lambda _: json_reply({"data": [polled]})

    async def go() -> None:
        async with push_world(tmp_path, [page_source(graph)], **FACEBOOK) as world:
            (report,) = await world.pipeline.crawler.crawl(["page"], world.now)
            assert len(report.new) == 1
            answer = await asyncio.to_thread(send, world, payload(change("status", message=text)))
            assert json.loads(answer.body) == {"status": "stored", "new": 0, "updated": 0}
            assert world.posts() == [f"https://www.facebook.com/{POST}"]

    asyncio.run(go())


@pytest.mark.parametrize(
    ("secret", "header", "reason"),
    [
        ("guessed", None, "signature_mismatch"),
        (APP_SECRET, "X-Hub-Signature", "signature_unsigned"),  # sha1 header only: refused
    ],
)
def test_a_delivery_without_the_app_secrets_signature_is_refused(
    graph: FakePlatform, tmp_path: Path, secret: str, header: str | None, reason: str
) -> None:
    body = payload(change("status", message="Nordtel er nede"))

    async def go() -> None:
        async with push_world(tmp_path, [page_source(graph)], **FACEBOOK) as world:
            answer = await asyncio.to_thread(send, world, body, secret, header)
            assert answer.status == 403
            assert json.loads(answer.body) == {"status": reason}
            assert world.posts() == []

    asyncio.run(go())


def test_changes_of_another_page_are_not_stored(graph: FakePlatform, tmp_path: Path) -> None:
    body = payload(change("status", message="Nordtel er nede"), page="999")

    async def go() -> None:
        async with push_world(tmp_path, [page_source(graph)], **FACEBOOK) as world:
            answer = await asyncio.to_thread(send, world, body)
            assert json.loads(answer.body) == {"status": "stored", "new": 0, "updated": 0}
            assert world.posts() == []

    asyncio.run(go())
