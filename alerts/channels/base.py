"""The channel seam: ``Channel.send(page, now) -> Delivery``, and secret redaction.

A channel never raises for a remote failure: it returns a ``Delivery`` whose ``reason``
names what happened (``accepted``, ``http_503``, ``connect_error``, ...). ``retryable``
tells the outbox whether trying the same channel later can help. Reasons, log lines and
exception texts never contain a secret: every channel knows its secrets (taken from its
URL) and passes any text that may echo them through ``Redactor``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Protocol, runtime_checkable

from alerts.page import Page

__all__ = ["MASK", "Channel", "Delivery", "Redactor", "retryable_status"]

MASK = "****"
_MIN_SECRET = 4


@dataclass(frozen=True)
class Delivery:
    """The outcome of one send attempt on one channel."""

    ok: bool
    retryable: bool
    reason: str

    @classmethod
    def accepted(cls, reason: str = "accepted") -> Delivery:
        return cls(ok=True, retryable=False, reason=reason)

    @classmethod
    def failed(cls, reason: str, *, retryable: bool) -> Delivery:
        return cls(ok=False, retryable=retryable, reason=reason)


@runtime_checkable
class Channel(Protocol):
    """One configured destination. ``masked_url`` is safe to print; the real URL is not."""

    schemes: ClassVar[tuple[str, ...]]
    name: str
    masked_url: str

    def send(self, page: Page, now: datetime) -> Delivery:
        """Deliver ``page``; never raise for a remote failure."""
        ...


class Redactor:
    """Replaces every known secret substring with ``****`` (longest first)."""

    def __init__(self, secrets: set[str]) -> None:
        usable = {s for s in secrets if len(s) >= _MIN_SECRET}
        self._secrets = sorted(usable, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    @classmethod
    def from_urls(cls, raw: str, masked: str) -> Redactor:
        """Everything in ``raw`` that its masked form hides is a secret."""
        pieces = set(re.split(r"[/:@?&=#,+]", raw))
        shown = set(re.split(r"[/:@?&=#,+]", masked))
        return cls({p for p in pieces - shown if p})


def retryable_status(status: int) -> bool:
    """HTTP statuses worth retrying later: timeouts, rate limits and server errors."""
    return status in (408, 425, 429) or status >= 500
