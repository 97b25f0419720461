"""What a page says: the ``Page`` value and its plain-text rendering.

A page is built from an incident by the caller (the daemon) and is pure data: no secret
is ever put into it (channel URLs, routing keys and tokens live in the channels). The ack
link is a signed, expiring capability for one incident (see ``alerts.ack``) and is meant
to be in the page.

Steps name *why* this page exists, and together with ``dedup_key`` identify it uniquely:
``trigger``, ``escalate:2``, ``repeat:3``, ``followup:1``, ``digest:2026-11-02``,
``acknowledge``, ``resolve``, ``test``.

``idempotency_key`` names one delivery: incident, round (both in ``dedup_key``), step and
recipient. It is the same on every retry and after a restart, so a receiver can drop a page
it already has (the outbox is at-least-once: docs/OPERATIONS.md). Webhooks get it as the
``Idempotency-Key`` header and in the body, chat messages in their text, e-mails in their
``Message-ID``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "Page",
    "PostRef",
    "dedup_key_for",
    "idempotency_key",
    "render_subject",
    "render_text",
    "round_of",
    "step_action",
]

SNIPPET_CHARS = 280
MAX_POSTS = 5


@dataclass(frozen=True)
class PostRef:
    """One post quoted in a page: title, link and a short snippet (plain text)."""

    title: str
    url: str
    snippet: str = ""


@dataclass(frozen=True)
class Page:
    """One notification for one step of one incident."""

    incident_id: str
    dedup_key: str
    step: str
    brand: str
    kind: str
    severity: str
    title: str
    explanation: str
    created_at: datetime
    top_posts: tuple[PostRef, ...] = field(default_factory=tuple)
    ack_url: str | None = None
    update: str = ""  # a follow-up's news: what grew since the last page
    themes: str = ""  # what the storm is about: "57 about internet outage odense, ..."
    figures: tuple[tuple[str, float], ...] = ()  # the numbers the next follow-up compares
    recipient: str = ""  # who this delivery is for (set by the outbox when it sends)

    @property
    def idempotency_key(self) -> str:
        """Stable per (incident, round, step, recipient): what a receiver deduplicates on."""
        return idempotency_key(self.dedup_key, self.step, self.recipient)

    def figure_map(self) -> dict[str, float]:
        """``figures`` as a dict (``severity``, ``peak``, ``posts``...)."""
        return dict(self.figures)

    def to_json(self) -> str:
        """Serialise for the outbox row (ISO 8601 time, posts as objects)."""
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Page:
        """Inverse of ``to_json``."""
        data: dict[str, Any] = json.loads(text)
        data["created_at"] = datetime.fromisoformat(data["created_at"])
        data["top_posts"] = tuple(PostRef(**post) for post in data.get("top_posts", ()))
        data["figures"] = tuple((str(k), float(v)) for k, v in data.get("figures", ()))
        return cls(**data)


def dedup_key_for(incident_id: str, paging_round: int = 1) -> str:
    """The stable key of an incident everywhere (outbox rows, PagerDuty ``dedup_key``).

    An incident reopened after it was resolved pages afresh, as round 2, 3...: its own key
    (``stormwatch-ID/2``), so its steps are new rows and PagerDuty opens a new alert.
    """
    base = f"stormwatch-{incident_id}"
    return base if paging_round <= 1 else f"{base}/{paging_round}"


def idempotency_key(dedup_key: str, step: str, recipient: str = "") -> str:
    """``sw-`` and 32 hex digits: ASCII and bounded for any header, whatever the names."""
    digest = hashlib.sha256("\x1f".join((dedup_key, step, recipient)).encode()).hexdigest()
    return f"sw-{digest[:32]}"


def step_action(step: str) -> str:
    """``trigger``, ``acknowledge`` or ``resolve``: what a step means to a paging service."""
    return step if step in ("acknowledge", "resolve") else "trigger"


def render_subject(page: Page) -> str:
    """A short subject line: severity, brand, title, and the step when it is not the first."""
    step = "" if page.step == "trigger" else f" ({_step_words(page.step)})"
    return _one_line(f"[{page.severity.upper()}] {page.brand}: {page.title}{step}", 160)


def render_text(page: Page) -> str:
    """The plain-text body: the ten-second explanation first, then posts, then the ack link."""
    lines = [render_subject(page), ""]
    if page.update:
        lines += [page.update.strip(), ""]
    lines += [page.explanation.strip(), ""]
    if page.themes:
        lines += [f"About: {_one_line(page.themes, 300)}", ""]
    lines += [f"Brand: {page.brand}   Kind: {page.kind}   Severity: {page.severity}"]
    lines += [f"Incident: {page.incident_id}   Step: {page.step}{_round_words(page.dedup_key)}"]
    lines += [f"Delivery key: {page.idempotency_key}"]
    for number, post in enumerate(page.top_posts[:MAX_POSTS], start=1):
        lines += ["", f"{number}. {_one_line(post.title, 140)}", f"   {post.url}"]
        if post.snippet:
            lines.append(f"   {_one_line(post.snippet, SNIPPET_CHARS)}")
    if page.ack_url and step_action(page.step) == "trigger":
        lines += ["", f"Acknowledge: {page.ack_url}"]
    return "\n".join(lines).rstrip() + "\n"


def round_of(dedup_key: str) -> int:
    """The paging round a dedup key names (``stormwatch-ID/2`` -> 2; 1 without a suffix)."""
    _, slash, number = dedup_key.rpartition("/")
    return int(number) if slash and number.isdigit() else 1


def _round_words(dedup_key: str) -> str:
    number = round_of(dedup_key)
    return f"   Round: {number}" if number > 1 else ""


def _step_words(step: str) -> str:
    name, _, number = step.partition(":")
    words = {
        "escalate": f"escalated to level {number}",
        "repeat": f"repeat {number}, not yet acknowledged",
        "followup": f"update {number}",
        "digest": f"digest for {number}",
    }
    return words.get(name, name)


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
