"""Scores of probabilistic predictions, and the in-domain baseline they are compared with.

Pure numpy; every function takes ``(y, p)`` with ``y`` booleans (the positive class) and ``p``
the predicted probability of it.

Decisions:

- **AUC by ranks** (Mann-Whitney U with average ranks for ties): threshold-free, so it says
  whether the model *orders* posts right even where the operating threshold is off.
- **ECE with 10 equal-width bins**, weighted by bin size: the usual definition; the detectors
  add probabilities up, so a calibrated scale matters as much as the order.
- **The baseline is a multinomial naive Bayes** on lower-cased word unigrams and bigrams
  with add-one smoothing, trained on the set's own train split: the cheapest in-domain
  model; a shipped model that cannot beat it on that set's dev split has learnt nothing
  the set's own words do not already say.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

__all__ = ["NaiveBayes", "auc", "ece", "f1_at", "tokens"]

Bools = NDArray[np.bool_]
Floats = NDArray[np.float64]
_WORD = re.compile(r"\w+", re.UNICODE)


def auc(y: Bools, p: Floats) -> float:
    """Area under the ROC curve; NaN when only one class is present."""
    y = np.asarray(y, dtype=bool)
    pos, neg = int(y.sum()), int((~y).sum())
    if not pos or not neg:
        return float("nan")
    ranks = _average_ranks(np.asarray(p, dtype=np.float64))
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))


def _average_ranks(values: Floats) -> Floats:
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def ece(y: Bools, p: Floats, bins: int = 10) -> float:
    """Expected calibration error: mean |observed rate - mean probability| over bins."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if not len(y):
        return float("nan")
    index = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            total += members.sum() * abs(y[members].mean() - p[members].mean())
    return float(total / len(y))


@dataclass(frozen=True, slots=True)
class AtThreshold:
    """Precision, recall and F1 of ``p >= threshold``."""

    precision: float
    recall: float
    f1: float


def f1_at(y: Bools, p: Floats, threshold: float) -> AtThreshold:
    y = np.asarray(y, dtype=bool)
    said = np.asarray(p) >= threshold
    tp = int((said & y).sum())
    fp = int((said & ~y).sum())
    fn = int((~said & y).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return AtThreshold(precision, recall, f1)


def tokens(text: str) -> list[str]:
    """Lower-cased words and adjacent word pairs."""
    words = _WORD.findall(text.lower())
    return words + [f"{a} {b}" for a, b in pairwise(words)]


class NaiveBayes:
    """Two-class multinomial naive Bayes on :func:`tokens` (see the module docstring)."""

    def __init__(self, texts: Sequence[str], y: Sequence[bool]) -> None:
        counts = (Counter[str](), Counter[str]())
        docs = [0, 0]
        for text, label in zip(texts, y, strict=True):
            counts[int(label)].update(tokens(text))
            docs[int(label)] += 1
        vocab = set(counts[0]) | set(counts[1])
        totals = [sum(c.values()) + len(vocab) for c in counts]
        self._log_prior = float(np.log((docs[1] + 1) / (docs[0] + 1)))
        self._weights = {
            w: float(
                np.log((counts[1][w] + 1) / totals[1]) - np.log((counts[0][w] + 1) / totals[0])
            )
            for w in vocab
        }

    def predict(self, texts: Sequence[str]) -> Floats:
        """Probability of the positive class for each text."""
        logits = np.array(
            [self._log_prior + sum(self._weights.get(t, 0.0) for t in tokens(x)) for x in texts]
        )
        out: Floats = 1.0 / (1.0 + np.exp(-np.clip(logits, -500, 500)))
        return out
