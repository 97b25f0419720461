"""Signed, expiring acknowledge / resolve links.

A token is ``base64url(payload) + "." + base64url(HMAC-SHA256(key, payload))`` where the
payload is ``incident_id``, ``action`` and the expiry (Unix seconds) as compact JSON. The
link for one incident cannot act on another, an ``ack`` link cannot ``resolve``, and an
expired link is refused. Checks return an ``AckCheck`` with a named reason
(``valid``, ``malformed``, ``bad_signature``, ``wrong_incident``, ``wrong_action``,
``expired``) so the web UI can show a clear sentence; signatures compare in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import quote

__all__ = ["ACTIONS", "AckCheck", "ack_url", "sign_ack", "verify_ack"]

ACTIONS = ("ack", "resolve")
_MIN_KEY_BYTES = 16
_MAX_EXPIRY = 253_402_300_800  # 10000-01-01 UTC: later is no date at all
MESSAGES = {
    "valid": "The link is valid.",
    "malformed": "This link is damaged; open the incident from the queue instead.",
    "bad_signature": "This link was not issued by this Stormwatch; open the queue instead.",
    "wrong_incident": "This link belongs to another incident.",
    "wrong_action": "This link does not allow that action.",
    "expired": "This link has expired; open the incident from the queue instead.",
}


AckReason = Literal[
    "valid", "malformed", "bad_signature", "wrong_incident", "wrong_action", "expired"
]


@dataclass(frozen=True)
class AckCheck:
    """The verdict on one token, with a named reason and a sentence for people."""

    ok: bool
    reason: AckReason

    @property
    def message(self) -> str:
        return MESSAGES[self.reason]


def sign_ack(key: bytes, incident_id: str, action: str, expires_at: datetime) -> str:
    """A token allowing ``action`` on ``incident_id`` until ``expires_at``."""
    _check_key(key)
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}, not {action!r}")
    payload = json.dumps(
        {"i": incident_id, "a": action, "e": int(expires_at.timestamp())},
        separators=(",", ":"),
    ).encode()
    return f"{_b64(payload)}.{_b64(_mac(key, payload))}"


def ack_url(
    base_url: str, key: bytes, incident_id: str, now: datetime, ttl: timedelta, action: str = "ack"
) -> str:
    """The link put into a page: ``{base}/incidents/{id}/{action}?token=...``."""
    token = sign_ack(key, incident_id, action, now + ttl)
    return f"{base_url.rstrip('/')}/incidents/{quote(incident_id, safe='')}/{action}?token={token}"


def verify_ack(key: bytes, token: str, incident_id: str, action: str, now: datetime) -> AckCheck:
    """Check ``token`` for ``action`` on ``incident_id`` at time ``now``."""
    try:
        encoded, signature = token.split(".")
        payload, mac = _unb64(encoded), _unb64(signature)
        claimed = _claims(json.loads(payload))
    except (ValueError, KeyError, TypeError, binascii.Error):
        return AckCheck(False, "malformed")
    return _judge(hmac.compare_digest(mac, _mac(key, payload)), claimed, incident_id, action, now)


def _claims(claims: dict[str, object]) -> tuple[str, str, int]:
    """The signed fields; TypeError unless the expiry is a whole number of seconds (a
    float such as ``1e999`` is infinity, which ``int()`` cannot take)."""
    expiry = claims["e"]
    if type(expiry) is not int or not 0 <= expiry < _MAX_EXPIRY:
        raise TypeError("the expiry is not Unix seconds")
    return str(claims["i"]), str(claims["a"]), expiry


def _judge(
    signed: bool, claimed: tuple[str, str, int], incident_id: str, action: str, now: datetime
) -> AckCheck:
    if not signed:
        return AckCheck(False, "bad_signature")
    if not hmac.compare_digest(claimed[0].encode(), incident_id.encode()):
        return AckCheck(False, "wrong_incident")
    if claimed[1] != action:
        return AckCheck(False, "wrong_action")
    if now.timestamp() >= claimed[2]:
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
