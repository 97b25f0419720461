"""WebSub (W3C Recommendation, 2018), the subscriber's side, as pure functions.

A feed that advertises a hub (``Link: <hub>; rel="hub"`` or an ``atom:link rel="hub"`` in
the document) is subscribed at that hub: we POST ``hub.mode=subscribe`` with our callback,
the hub checks our intent with a GET carrying ``hub.challenge`` (answered only for a
subscription we asked for), then POSTs each new version of the feed to the callback,
signed with the subscription's ``hub.secret`` (``X-Hub-Signature: sha256=<hex>``).

Per subscription the secret and the callback token are derived from ``[push] secret``
(HMAC), so a restart keeps them and nothing secret is stored. A subscription's life:

    (none) --subscribe--> requested --hub verifies--> live --renew_at of the lease--> renew
        ^                     |                        |
        +---- retry later ----+-- not verified / ------+-- lease expired / denied
                                  refused / no hub         (polled meanwhile)

Every state other than ``live`` leaves the feed polled at its interval; ``reason`` names
why (``Reason``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlencode, urljoin

__all__ = [
    "Reason",
    "State",
    "Subscription",
    "callback_token",
    "discover",
    "hub_secret",
    "signature_ok",
    "subscribe_body",
    "verify_intent",
]

SIGNATURE_METHODS = {"sha1", "sha256", "sha384", "sha512"}  # WebSub 5.1: the hub picks one
DISCOVERY_BYTES = 65536  # hub links sit in a feed's head: no need to scan a whole archive


class State(StrEnum):
    NONE = "none"  # not subscribed: polled at its interval
    REQUESTED = "requested"  # the hub accepted our request; waiting for its verification
    LIVE = "live"  # verified, within its lease: pushed, polled only as a safety net


class Reason(StrEnum):
    """Why a subscription is in its state (logs, metrics and the health line show it)."""

    NOT_STARTED = "not_started"
    NO_HUB = "no_hub"  # the feed advertises no hub
    REQUESTED = "requested"
    HUB_REFUSED = "hub_refused"  # the hub answered the subscription request with an error
    HUB_UNREACHABLE = "hub_unreachable"
    NOT_VERIFIED = "not_verified"  # the hub never confirmed within verify_within
    VERIFIED = "verified"
    DENIED = "denied"  # the hub said hub.mode=denied
    LEASE_EXPIRED = "lease_expired"  # not renewed in time


@dataclass(frozen=True)
class Subscription:
    """One feed's subscription as we know it. ``since``: when the state began; ``expires``:
    the end of the lease (live); ``retry_at``: when to try again after a failure."""

    source: str
    topic: str
    hub: str | None = None
    state: State = State.NONE
    reason: Reason = Reason.NOT_STARTED
    since: datetime | None = None
    expires: datetime | None = None
    renew_from: datetime | None = None
    retry_at: datetime | None = None
    failures: int = 0

    def failed(self, reason: Reason, now: datetime, retry: timedelta) -> Subscription:
        return replace(
            self,
            state=State.NONE,
            reason=reason,
            since=now,
            expires=None,
            renew_from=None,
            retry_at=now + retry,
            failures=self.failures + 1,
        )

    def requested(self, hub: str, now: datetime) -> Subscription:
        """Asked the hub; a live subscription stays live while its renewal is verified."""
        if self.state is State.LIVE:
            return replace(self, hub=hub, renew_from=None, retry_at=None)
        return replace(self, hub=hub, state=State.REQUESTED, reason=Reason.REQUESTED, since=now)

    def verified(self, lease: int, renew_at: float, now: datetime) -> Subscription:
        return replace(
            self,
            state=State.LIVE,
            reason=Reason.VERIFIED,
            since=now if self.state is not State.LIVE else self.since,
            expires=now + timedelta(seconds=lease),
            renew_from=now + timedelta(seconds=lease * renew_at),
            retry_at=None,
            failures=0,
        )


def hub_secret(key: str, source: str, topic: str) -> str:
    """The subscription's ``hub.secret``: fixed for (source, topic) under ``key``; under 200
    bytes as the spec requires."""
    return _derive(key, "secret", source, topic)


def callback_token(key: str, source: str, topic: str) -> str:
    """The path segment that names the subscription in its callback URL (not a secret: the
    hub knows it; deliveries are trusted for their signature, not their URL)."""
    return _derive(key, "callback", source, topic)[:32]


def _derive(key: str, purpose: str, source: str, topic: str) -> str:
    message = "\x00".join((purpose, source, topic)).encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def subscribe_body(topic: str, callback: str, secret: str, lease: int) -> bytes:
    form = {
        "hub.mode": "subscribe",
        "hub.topic": topic,
        "hub.callback": callback,
        "hub.secret": secret,
        "hub.lease_seconds": str(lease),
    }
    return urlencode(form).encode()


def verify_intent(sub: Subscription | None, params: Mapping[str, str]) -> tuple[str, int | None]:
    """The hub's verification GET: ``("ok", lease)`` to echo ``hub.challenge``; otherwise a
    named refusal (answered 404, as WebSub 5.3 asks for an intent we do not have)."""
    if sub is None:
        return "unknown_subscription", None
    mode, topic = params.get("hub.mode"), params.get("hub.topic")
    if mode == "denied":
        return "denied", None
    if mode != "subscribe":
        return "not_asked", None  # we never ask to unsubscribe through this callback
    if topic != sub.topic or sub.state is State.NONE:
        return "not_asked", None
    if not params.get("hub.challenge"):
        return "no_challenge", None
    lease = params.get("hub.lease_seconds", "")
    return "ok", int(lease) if lease.isdigit() and int(lease) > 0 else None


def signature_ok(secret: str, body: bytes, header: str | None) -> str:
    """``"ok"`` when ``X-Hub-Signature`` (``method=hex``) is the HMAC of ``body`` under
    ``secret``; else why not: ``unsigned``, ``unknown_method``, ``mismatch``."""
    if not header or "=" not in header:
        return "unsigned"
    method, _, given = header.partition("=")
    method = method.strip().lower()
    if method not in SIGNATURE_METHODS:
        return "unknown_method"
    expected = hmac.new(secret.encode(), body, method).hexdigest()
    return "ok" if hmac.compare_digest(expected, given.strip().lower()) else "mismatch"


_LINK_HEADER = re.compile(r"<([^>]+)>\s*;([^,]*)")
_TAG = re.compile(rb"<(?:[A-Za-z0-9_]+:)?link\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(rb"""\b(rel|href)\s*=\s*("[^"]*"|'[^']*')""", re.IGNORECASE)


def discover(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[str | None, str]:
    """The hub a feed advertises and its ``self`` URL (the topic; the feed's URL if none):
    HTTP ``Link`` headers first, then ``<link>``/``<atom:link>`` elements (WebSub 4)."""
    links = _header_links(headers.get("link", ""))
    if "hub" not in links:
        links = {**_document_links(body[:DISCOVERY_BYTES]), **links}
    hub = links.get("hub")
    topic = links.get("self") or url
    return (urljoin(url, hub) if hub else None), urljoin(url, topic)


def _header_links(header: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for target, params in _LINK_HEADER.findall(header):
        rel = re.search(r'rel\s*=\s*"?([^";]+)"?', params)
        for name in rel.group(1).split() if rel else []:
            found.setdefault(name.lower(), target.strip())
    return found


def _document_links(head: bytes) -> dict[str, str]:
    found: dict[str, str] = {}
    for tag in _TAG.findall(head):
        attrs = {k.lower(): v[1:-1] for k, v in _ATTR.findall(tag)}
        href = attrs.get(b"href", b"").decode("utf-8", "replace").strip()
        for name in attrs.get(b"rel", b"").decode("utf-8", "replace").split():
            if href and name.lower() in ("hub", "self"):
                found.setdefault(name.lower(), href)
    return found
