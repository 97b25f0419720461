"""Signed, expiring acknowledge / resolve links.

A token is ``base64url(payload) + "." + base64url(HMAC-SHA256(key, payload))`` where the
payload is ``incident_id``, ``action``, the expiry (Unix seconds) and, for a link sent to
one person, that person's name, as compact JSON. The link for one incident cannot act on
another, an ``ack`` link cannot ``resolve``, and an expired link is refused. Checks return
an ``AckCheck`` with a named reason (``valid``, ``malformed``, ``bad_signature``,
``wrong_incident``, ``wrong_action``, ``expired``; ``not_personal`` and ``used`` for
one-tap links) so the web UI can show a clear sentence; signatures compare in constant time.

Two kinds of link (docs/ARCHITECTURE.md, "One-tap acknowledge"):

- *personal* (``person`` given; a page to one person): ``/tap/{action}/{id}``, acts with
  one tap and no login, as that person, once (``token_id`` names the token for the
  caller's record of used links);
- *shared* (a page to a shared channel, a PagerDuty service or a chat room, where nobody
  in particular reads it): ``/incidents/{id}/{action}``, which needs a login.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import quote

__all__ = ["ACTIONS", "TAP_PREFIX", "AckCheck", "ack_url", "sign_ack", "verify_ack", "verify_tap"]

ACTIONS = ("ack", "resolve")
TAP_PREFIX = "/tap"  # personal links: /tap/{action}/{incident id}?token=...
_MIN_KEY_BYTES = 16
_MAX_EXPIRY = 253_402_300_800  # 10000-01-01 UTC: later is no date at all
MESSAGES = {
    "valid": "The link is valid.",
    "malformed": "This link is damaged; open the incident from the queue instead.",
    "bad_signature": "This link was not issued by this Stormwatch; open the queue instead.",
    "wrong_incident": "This link belongs to another incident.",
    "wrong_action": "This link does not allow that action.",
    "expired": "This link has expired; open the incident from the queue instead.",
    "not_personal": "This link was sent to a shared channel, so it needs you to log in.",
    "used": "This link has already been used; each link in a page acts once.",
}


AckReason = Literal[
    "valid",
    "malformed",
    "bad_signature",
    "wrong_incident",
    "wrong_action",
    "expired",
    "not_personal",
    "used",
]


@dataclass(frozen=True)
class AckCheck:
    """The verdict on one token, with a named reason and a sentence for people."""

    ok: bool
    reason: AckReason
    person: str | None = None  # whom a personal link was sent to (signed)
    token_id: str = ""  # names a valid token, for the record of used one-tap links
    expires_at: datetime | None = None  # a valid token's expiry (signed)

    @property
    def message(self) -> str:
        return MESSAGES[self.reason]


def sign_ack(
    key: bytes, incident_id: str, action: str, expires_at: datetime, person: str | None = None
) -> str:
    """A token allowing ``action`` on ``incident_id`` until ``expires_at`` (for ``person``
    alone when given)."""
    _check_key(key)
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}, not {action!r}")
    claims: dict[str, object] = {"i": incident_id, "a": action, "e": int(expires_at.timestamp())}
    if person:
        claims["p"] = person
    payload = json.dumps(claims, separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_mac(key, payload))}"


def ack_url(
    base_url: str,
    key: bytes,
    incident_id: str,
    now: datetime,
    ttl: timedelta,
    action: str = "ack",
    person: str | None = None,
) -> str:
    """The link put into a page: ``{base}/tap/{action}/{id}?token=...`` for ``person``,
    ``{base}/incidents/{id}/{action}?token=...`` (login needed) without one."""
    token = sign_ack(key, incident_id, action, now + ttl, person)
    incident = quote(incident_id, safe="")
    path = f"{TAP_PREFIX}/{action}/{incident}" if person else f"/incidents/{incident}/{action}"
    return f"{base_url.rstrip('/')}{path}?token={token}"


def verify_ack(key: bytes, token: str, incident_id: str, action: str, now: datetime) -> AckCheck:
    """Check ``token`` for ``action`` on ``incident_id`` at time ``now``."""
    try:
        encoded, signature = token.split(".")
        payload, mac = _unb64(encoded), _unb64(signature)
        claimed = _claims(json.loads(payload))
    except (ValueError, KeyError, TypeError, binascii.Error):
        return AckCheck(False, "malformed")
    check = _judge(hmac.compare_digest(mac, _mac(key, payload)), claimed, incident_id, action, now)
    if not check.ok:
        return check
    token_id = hashlib.sha256(payload).hexdigest()[:32]
    expires_at = datetime.fromtimestamp(claimed.expiry, UTC)
    return AckCheck(True, "valid", claimed.person, token_id, expires_at)


def verify_tap(key: bytes, token: str, incident_id: str, action: str, now: datetime) -> AckCheck:
    """``verify_ack`` for a one-tap link: valid only if it was sent to one person."""
    check = verify_ack(key, token, incident_id, action, now)
    return check if not check.ok or check.person else AckCheck(False, "not_personal")


@dataclass(frozen=True)
class _Claims:
    incident_id: str
    action: str
    expiry: int
    person: str | None


def _claims(claims: dict[str, object]) -> _Claims:
    """The signed fields; TypeError unless the expiry is a whole number of seconds (a
    float such as ``1e999`` is infinity, which ``int()`` cannot take) and a person, if
    named, is a non-empty string."""
    expiry, person = claims["e"], claims.get("p")
    if type(expiry) is not int or not 0 <= expiry < _MAX_EXPIRY:
        raise TypeError("the expiry is not Unix seconds")
    if person is not None and (not isinstance(person, str) or not person):
        raise TypeError("the person is not a name")
    return _Claims(str(claims["i"]), str(claims["a"]), expiry, person)


def _judge(
    signed: bool, claimed: _Claims, incident_id: str, action: str, now: datetime
) -> AckCheck:
    if not signed:
        return AckCheck(False, "bad_signature")
    if not hmac.compare_digest(claimed.incident_id.encode(), incident_id.encode()):
        return AckCheck(False, "wrong_incident")
    if claimed.action != action:
        return AckCheck(False, "wrong_action")
    if now.timestamp() >= claimed.expiry:
        return AckCheck(False, "expired")
    return AckCheck(True, "valid")


def _check_key(key: bytes) -> None:
    if len(key) < _MIN_KEY_BYTES:
        raise ValueError(f"the ack signing key must be at least {_MIN_KEY_BYTES} bytes")


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
