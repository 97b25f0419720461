"""The classifier seam: one small protocol, the score type every backend returns.

Decisions:

- **A Protocol, not a base class**: backends (``e5``, ``pipeline``, a test double) share no
  code, only the contract ``classify(texts) -> list[Scores]``, one result per input, in order.
- **Scores carry their threshold**: the complaint/not_complaint decision is a property of the
  result, so a caller never re-implements "probability >= threshold" with another number.
- **Encoder is a second, smaller protocol** (``embed(texts) -> array``): training the head and
  the embedding cache only need that, and tests can pass a tiny encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

__all__ = ["SENTIMENTS", "Classifier", "Encoder", "Label", "Scores", "Sentiment"]

Sentiment = Literal["negative", "neutral", "positive"]
Label = Literal["complaint", "not_complaint"]
SENTIMENTS: tuple[Sentiment, Sentiment, Sentiment] = ("negative", "neutral", "positive")


@dataclass(frozen=True, slots=True)
class Scores:
    """What a classifier says about one text: sentiment and complaint probabilities."""

    negative: float
    neutral: float
    positive: float
    complaint: float
    threshold: float = 0.5

    @property
    def label(self) -> Label:
        """``complaint`` when the complaint probability reaches the threshold."""
        return "complaint" if self.complaint >= self.threshold else "not_complaint"

    @property
    def sentiment(self) -> Sentiment:
        """The most probable sentiment (ties go to the earlier of negative, neutral, positive)."""
        values = (self.negative, self.neutral, self.positive)
        return SENTIMENTS[values.index(max(values))]

    def as_dict(self) -> dict[str, float | str]:
        """A JSON-ready view (the ``stormwatch classify`` output fields)."""
        return {
            "negative": round(self.negative, 4),
            "neutral": round(self.neutral, 4),
            "positive": round(self.positive, 4),
            "complaint": round(self.complaint, 4),
            "sentiment": self.sentiment,
            "label": self.label,
        }


@runtime_checkable
class Classifier(Protocol):
    """Reads texts; returns one :class:`Scores` per text, in the same order."""

    def classify(
        self, texts: Sequence[str], langs: Sequence[str | None] | None = None
    ) -> list[Scores]:
        """``langs``: each text's language where known (a backend may calibrate per language)."""
        ...


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into L2-normalised embeddings (rows of a float32 matrix)."""

    @property
    def encoder_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]: ...
