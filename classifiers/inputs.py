"""Ad-hoc texts handed to ``stormwatch classify``: checked before they are read, with a reason.

A classifier always returns numbers; whether those numbers mean anything depends on the
input. Each row of ``stormwatch classify`` therefore says why it needs care, instead of a
silent, confident-looking score for an empty string:

- ``empty``: nothing to read (no scores at all);
- ``truncated``: longer than :data:`MAX_TEXT_CHARS`; only the start was read;
- ``brand_not_mentioned``: a brand was asked for and the text never names it, so the scores
  are of the whole text, not of anything said about the brand;
- ``unsupported_language``: not one of the languages the head was trained and calibrated
  for (or too short to tell), so the scores are the multilingual encoder's guess.

Decisions: the reasons are a closed set (:data:`REASONS`) so a script can branch on them; the
first that applies wins, in the order above (an empty text has no language).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from classifiers.passages import PostReading

__all__ = ["MAX_TEXT_CHARS", "REASONS", "Prepared", "empty_row", "prepare"]

Reason = Literal["empty", "truncated", "brand_not_mentioned", "unsupported_language"]
REASONS: tuple[Reason, ...] = (
    "empty",
    "truncated",
    "brand_not_mentioned",
    "unsupported_language",
)
MAX_TEXT_CHARS = 100_000
"""Longer texts are cut here: 1 MB of text must not cost minutes of sentence splitting."""

SpanFinder = Callable[[str, str], list[tuple[int, int]]]


class Detector(Protocol):
    def detect(self, text: str, prior: str | None = None) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Prepared:
    """One record, checked: what to read, and the reason if any."""

    id: Any
    title: str | None
    text: str
    lang: str | None
    spans: Sequence[tuple[int, int]]
    reason: Reason | None
    others: Sequence[tuple[int, int]] = ()

    @property
    def readable(self) -> bool:
        return self.reason != "empty"

    def row(self, reading: PostReading) -> dict[str, Any]:
        return {
            "id": self.id,
            "lang": self.lang,
            **reading.scores.as_dict(),
            "passage": reading.passage.text,
            "reason": self.reason,
        }


def prepare(
    record: dict[str, Any],
    brand: str | None,
    detector: Detector,
    spans: SpanFinder,
    others: SpanFinder | None = None,
) -> Prepared:
    """Check one record (``text``, optional ``title``, ``brand``, ``lang``, ``id``);
    ``others`` finds the other configured brands' mentions (target-aware clauses)."""
    title = record.get("title") or None
    text = str(record.get("text") or "")
    if not (text.strip() or (title or "").strip()):
        return Prepared(record.get("id"), title, text, record.get("lang"), [], "empty")
    reason: Reason | None = None
    if len(text) > MAX_TEXT_CHARS:
        text, reason = text[:MAX_TEXT_CHARS], "truncated"
    target = record.get("brand") or brand
    found = spans(text, target) if target else []
    if target and not found and reason is None:
        reason = "brand_not_mentioned"
    lang = record.get("lang") or detector.detect(f"{title or ''}\n{text[:2000]}")
    if lang is None and reason is None:
        reason = "unsupported_language"
    other = others(text, target) if others is not None and target else []
    return Prepared(record.get("id"), title, text, lang, found, reason, other)


def empty_row(prepared: Prepared) -> dict[str, Any]:
    """The row of a text with nothing to read: no scores, the reason."""
    return {
        "id": prepared.id,
        "lang": None,
        "negative": None,
        "neutral": None,
        "positive": None,
        "complaint": None,
        "sentiment": None,
        "label": None,
        "passage": "",
        "reason": prepared.reason,
    }
