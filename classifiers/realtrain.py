"""Training on real sets and calibrating: what ``stormwatch classifier train --real`` runs.

Decisions (figures in benchmarks/RESULTS.md, "classifier quality (real text)"):

- **The licence rule first**: every training set passes
  :func:`~classifiers.realdata.check_licence` before anything is embedded; with
  ``experiment=True`` a refused set may train, and the head records ``"experiment": true``
  so it is never mistaken for one that may ship.
- **Sets are sampled to at most** ``per_set`` **posts** (a fixed-seed shuffle, so a retrain
  reads the same posts): a few thousand posts per set move the head no further than
  :data:`PER_SET` did, and embedding is the cost.
- **The L2 strength with real sets is** :data:`REAL_L2` rather than the cross-validated value
  on the own examples: cross-validation on the own examples prefers a weak penalty that
  fits their one style; on real dev sets the stronger penalty generalises better.
- **Calibration uses other sets' train splits** (evaluation-licensed sets may calibrate):
  :func:`classifiers.calibrate.calibrate`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np

from classifiers.adapter import Adapter
from classifiers.base import Encoder
from classifiers.calibrate import Calibration, calibrate, raw_logits
from classifiers.config import ClassifierSettings
from classifiers.dataset import Example
from classifiers.e5.backend import E5Classifier
from classifiers.evaluate import example_mentions, example_others
from classifiers.head import Head
from classifiers.passages import read_posts
from classifiers.realdata import RealExample, check_licence, find_sets
from classifiers.train import RealMix, Relabel, train_head

__all__ = ["PER_SET", "REAL_L2", "SHIPPED_MIX", "sample", "train_real"]

PER_SET = 1500
REAL_L2 = 1.0
SHIPPED_MIX = RealMix(complaint_share=0.5, sentiment_share=1.0, not_complaint_share=0.0)
CALIBRATION_PER_SET = 600
_SEED = 20261207


def sample(posts: Sequence[RealExample], limit: int) -> list[RealExample]:
    """At most ``limit`` posts, the same ones every time (a fixed-seed shuffle)."""
    chosen = list(posts)
    random.Random(_SEED).shuffle(chosen)
    return chosen[:limit]


def load_training(dirs: Sequence[Path], *, experiment: bool, per_set: int) -> list[RealExample]:
    sets = find_sets(dirs)
    check_licence(sets, experiment=experiment)
    return [post for s in sets for post in sample(s.load("train"), per_set)]


def load_calibration(dirs: Sequence[Path], per_set: int) -> list[RealExample]:
    return [post for s in find_sets(dirs) for post in sample(s.load("train"), per_set)]


def train_real(
    settings: ClassifierSettings,
    encoder: Encoder,
    examples: Sequence[Example],
    *,
    relabels: Sequence[Relabel] = (),
    real_dirs: Sequence[Path] = (),
    calibration_dirs: Sequence[Path] = (),
    experiment: bool = False,
    per_set: int = PER_SET,
    created_at: datetime,
    adapter: Adapter | None = None,
) -> tuple[Head, Calibration | None]:
    """The head trained on own examples plus real sets, then calibrated (when asked)."""
    real = load_training(real_dirs, experiment=experiment, per_set=per_set) if real_dirs else []
    head = train_head(
        encoder,
        examples,
        relabels=relabels,
        created_at=created_at,
        window=settings.window_sentences,
        l2=REAL_L2 if real else None,
        adapter=adapter,
        real=real,
        mix=SHIPPED_MIX,
    )
    if experiment:
        head = replace(head, counts={**head.counts, "experiment": True})
    if not calibration_dirs:
        return head, None
    posts = load_calibration(calibration_dirs, CALIBRATION_PER_SET)
    logits = _raw_logits(settings, encoder, head, posts)
    head, info = calibrate(head, logits, posts)
    head = replace(head, counts={**head.counts, "calibration": info.counts})
    return head, info


def _raw_logits(
    settings: ClassifierSettings, encoder: Encoder, head: Head, posts: Sequence[RealExample]
) -> np.ndarray:
    """Uncalibrated complaint logits, each post read as the daemon reads it."""
    classifier = E5Classifier(settings, encoder=encoder, head=replace(head, calibration={}))
    examples = [p.example for p in posts]
    readings = read_posts(
        classifier,
        [(ex.title, ex.text, example_mentions(ex)) for ex in examples],
        window=settings.window_sentences,
        others=[example_others(ex) for ex in examples],
    )
    return raw_logits(np.array([r.complaint for r in readings]))
