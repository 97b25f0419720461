"""Per-language calibration of the complaint probability (Platt scaling), from real posts.

The detectors add complaint probabilities up, so a probability must mean the same in every
language: a quiet day of ordinary posts must add up to little. Real complaint labels exist
only in English, so calibration has two steps (docs/ARCHITECTURE.md, "Calibration"):

1. **English, Platt scaling** on real complaint-labelled posts (``kind == "complaint"``
   sets, their *train* split, which training never reads): ``p = sigmoid(a * logit + b)``,
   fitted by logistic regression. ``a`` is the slope for every language.
2. **Every other language, the bias only**: its real posts that are certainly not
   complaints (sentiment sets' neutral and positive posts) must get the same mean
   probability as English posts that are not about any company (the English sets' posts
   without a brand: chatter), so the level of ordinary chatter is the same everywhere. A
   language with no such posts takes the English calibration (``"*"``).

Decisions: both steps use only evaluation-licensed data's *train* splits (the licence rule
allows calibration on them) — never a dev split, which stays for reporting; the result is a
plain ``{lang: (a, b)}`` stored in the head (:class:`~classifiers.head.Head`), applied at load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from classifiers.errors import DatasetError
from classifiers.head import ANY_LANGUAGE, Head, fit_softmax
from classifiers.realdata import RealExample

__all__ = ["Calibration", "calibrate", "fit_platt", "match_bias"]

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Calibration:
    """The fitted parameters, and the reference level other languages were matched to."""

    params: dict[str, tuple[float, float]]
    chatter_level: float
    counts: dict[str, int]


def fit_platt(logits: Floats, y: NDArray[np.bool_]) -> tuple[float, float]:
    """``(a, b)`` of ``sigmoid(a * logit + b)`` by (almost unregularised) logistic regression."""
    x = np.c_[np.asarray(logits, dtype=np.float64)]
    w, b = fit_softmax(x, np.asarray(y, dtype=int), 2, l2=1e-4)
    return float(w[0, 1] - w[0, 0]), float(b[1] - b[0])


def match_bias(logits: Floats, slope: float, level: float) -> float:
    """The bias ``b`` with ``mean(sigmoid(slope * logit + b)) == level`` (bisection)."""
    lo, hi = -30.0, 30.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if _sigmoid(slope * logits + mid).mean() > level:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def calibrate(head: Head, logits: Floats, posts: Sequence[RealExample]) -> tuple[Head, Calibration]:
    """The head with per-language calibration fitted on ``posts`` (raw ``logits``, in order)."""
    logits = np.asarray(logits, dtype=np.float64)
    english = np.array([p.kind == "complaint" and p.example.lang == "en" for p in posts])
    if not english.any():
        raise DatasetError(
            "Calibration needs real English complaint-labelled posts (e.g. the train split of "
            "a complaint set); none were given."
        )
    y = np.array([p.complaint for p in posts])
    a, b = fit_platt(logits[english], y[english])
    chatter = english & np.array([p.example.brand is None for p in posts]) & ~y
    reference = chatter if chatter.any() else english & ~y
    level = float(_sigmoid(a * logits[reference] + b).mean())
    params = {"en": (a, b), ANY_LANGUAGE: (a, b)}
    counts = {"en": int(english.sum())}
    for lang in sorted({p.example.lang for p in posts} - {"en"}):
        calm = np.array(
            [p.example.lang == lang and p.kind == "sentiment" and not p.negative for p in posts]
        )
        if calm.any():
            params[lang] = (a, match_bias(logits[calm], a, level))
            counts[lang] = int(calm.sum())
    return replace(head, calibration=params), Calibration(params, level, counts)


def raw_logits(probabilities: Floats) -> Floats:
    """Logits back from uncalibrated probabilities (clipped away from 0 and 1)."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1 - 1e-12)
    out: Floats = np.log(p / (1 - p))
    return out


def _sigmoid(x: Any) -> Floats:
    out: Floats = 1.0 / (1.0 + np.exp(-np.clip(x, -500.0, 500.0)))
    return out
