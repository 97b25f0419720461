"""A WebSub hub and its publisher's feed on 127.0.0.1, as the W3C Recommendation describes:

- ``GET /feed.xml``: an Atom feed advertising the hub (``Link`` headers and ``atom:link``);
- ``POST /hub``: a subscription request (form: hub.mode, hub.topic, hub.callback,
  hub.secret, hub.lease_seconds), answered 202 Accepted; while answering, the hub checks
  the subscriber's intent (a GET of the callback with ``hub.challenge``), unless told to
  stay silent, and keeps the subscription only when the challenge comes back echoed;
- ``deliver``: a content distribution, the feed POSTed to the callback and signed
  ``X-Hub-Signature: <method>=<hmac of the body under hub.secret>``.

The hub's own calls go through urllib, from the hub's thread (or the test's, through
``asyncio.to_thread``), so the subscriber's server answers them as it would a real hub.
"""

from __future__ import annotations

import hmac
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from tests.support.servers.fakeplatform import Call, FakePlatform, Reply


def atom_feed(hub: str, topic: str, entries: list[tuple[str, str]]) -> bytes:
    """An Atom feed of (url, text) entries that advertises ``hub``."""
    items = "".join(
        f"<entry><id>{url}</id><title>Post</title><link href='{url}'/>"
        f"<updated>2026-11-02T08:00:00Z</updated><content type='text'>{text}</content></entry>"
        for url, text in entries
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?>"
        "<feed xmlns='http://www.w3.org/2005/Atom'><title>Blog</title>"
        f"<link rel='hub' href='{hub}'/><link rel='self' href='{topic}'/>"
        f"<id>{topic}</id><updated>2026-11-02T08:00:00Z</updated>{items}</feed>"
    ).encode()


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names


@dataclass
class Hub:
    platform: FakePlatform
    entries: list[tuple[str, str]] = field(default_factory=list)
    verify: bool = True  # check intent while answering a subscription request
    status: int = 202  # how subscription requests are answered
    advertise: bool = True  # the feed names the hub
    requests: list[dict[str, str]] = field(default_factory=list)
    checks: list[tuple[dict[str, str], Answer]] = field(default_factory=list)
    subscribed: dict[str, dict[str, str]] = field(default_factory=dict)  # by callback

    @property
    def hub_url(self) -> str:
        return self.platform.url("/hub")

    @property
    def topic(self) -> str:
        return self.platform.url("/feed.xml")

    def install(self) -> Hub:
        self.platform.routes[("GET", "/feed.xml")] = self._feed
        self.platform.routes[("POST", "/hub")] = self._subscribe
        return self

    def feed(self) -> bytes:
        hub = self.hub_url if self.advertise else self.platform.url("/nohub")
        body = atom_feed(hub, self.topic, self.entries)
        return body if self.advertise else body.replace(b"rel='hub'", b"rel='related'")

    def _feed(self, call: Call) -> Reply:
        headers = {"Content-Type": "application/atom+xml"}
        if self.advertise:
            headers["Link"] = f'<{self.hub_url}>; rel="hub", <{self.topic}>; rel="self"'
        return Reply(200, self.feed(), headers)

    def _subscribe(self, call: Call) -> Reply:
        form = {k: v[0] for k, v in parse_qs(call.body.decode()).items()}
        self.requests.append(form)
        if self.status != 202:
            return Reply(self.status, b"hub failing on purpose")
        if self.verify:
            self.check(form)
        return Reply(202, b"")

    def check(self, form: dict[str, str], **override: str) -> Answer:
        """The intent check: GET the callback with a fresh challenge; the subscription is
        kept when the answer is 2xx and echoes the challenge."""
        params = {
            "hub.mode": "subscribe",
            "hub.topic": form["hub.topic"],
            "hub.challenge": secrets.token_hex(16),
            "hub.lease_seconds": form.get("hub.lease_seconds", "86400"),
            **override,
        }
        answer = call(form["hub.callback"] + "?" + urlencode(params))
        self.checks.append((params, answer))
        if answer.status == 200 and answer.body == params["hub.challenge"].encode():
            self.subscribed[form["hub.callback"]] = form
        return answer

    def deliver(
        self, body: bytes | None = None, method: str = "sha256", secret: str | None = None
    ) -> Answer:
        """Send ``body`` (the feed by default) to the last kept subscription, signed with
        its secret (or ``secret``; ``method="none"`` sends no signature)."""
        form = list(self.subscribed.values())[-1]
        payload = self.feed() if body is None else body
        key = (secret if secret is not None else form["hub.secret"]).encode()
        headers = {"Content-Type": "application/atom+xml"}
        if method != "none":
            headers["X-Hub-Signature"] = f"{method}={hmac.new(key, payload, method).hexdigest()}"
        return call(form["hub.callback"], payload, headers)


def call(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Answer:
    """One request with urllib; any status is an answer (urllib raises on 4xx/5xx)."""
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Answer(response.status, response.read(), _lower(response.headers.items()))
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.read(), _lower(exc.headers.items()))


def _lower(items: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in items}
