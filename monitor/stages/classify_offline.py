"""Reading records that are not stored posts; the queue's relabels as training data; the
checks a retrained head must pass.

What ``stormwatch classify`` (texts and JSONL records), ``stormwatch backtest`` (records
without a complaint probability) and ``stormwatch classifier train`` (the queue's
corrections, the held-out check) need beyond :meth:`ClassifyStage.drain`. It lives outside
the command line so that the CLI only parses arguments and prints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from sqlmodel import Session

from classifiers.base import Classifier
from classifiers.config import ClassifierSettings
from classifiers.dataset import Example, hard_path, load_examples, packaged_paths
from classifiers.e5.backend import E5Classifier, E5Encoder
from classifiers.errors import ClassifierError
from classifiers.evaluate import EvalReport, evaluate_classifier
from classifiers.head import Head
from classifiers.inputs import Prepared, empty_row, prepare
from classifiers.passages import PostReading, read_posts
from classifiers.realeval import EvalTable, evaluate_sets
from monitor.detect.replay import Score
from monitor.errors import StormwatchError
from monitor.match.brands import BrandMatcher, BrandSpec
from monitor.match.language import LanguageDetector
from monitor.settings import CrawlSettings, Settings
from monitor.stages.classify import ClassifyStage
from monitor.storage import repo

__all__ = [
    "brand_matcher",
    "classify_records",
    "complaint_scorer",
    "held_out_check",
    "real_sets_check",
    "relabel_examples",
]

CHUNK = 64  # records prepared and read together: one batch through the model


def brand_matcher(settings: Settings, *extra: str | None) -> BrandMatcher:
    """The configured brands, plus any brand named on the command line or in the records."""
    specs = [BrandSpec(b.name, (b.name, *b.aliases), tuple(b.excludes)) for b in settings.brands]
    known = {b.name for b in settings.brands}
    for name in dict.fromkeys(e for e in extra if e and e.strip()):
        if name not in known:
            specs.append(BrandSpec(name, (name,)))
    return BrandMatcher(specs)


def classify_records(
    stage: ClassifyStage, records: list[dict[str, Any]], brand: str | None
) -> list[dict[str, Any]]:
    """Target-aware when the record (or ``brand``) names a brand; whole text otherwise.

    Every row carries ``reason``: null when the text was read as it is, else why the figures
    need care or are missing (:data:`classifiers.inputs.REASONS`)."""
    try:
        classifier = stage.classifier()
    except ClassifierError as exc:
        raise StormwatchError(f"classifier unavailable: {exc}") from None
    detector = LanguageDetector(CrawlSettings().languages)
    rows: list[dict[str, Any]] = []
    for start in range(0, len(records), CHUNK):
        chunk = [
            prepare(r, brand, detector, lambda text, b: _spans(stage, text, b), stage.other_spans)
            for r in records[start : start + CHUNK]
        ]
        readable = [c for c in chunk if c.readable]
        readings = iter(_read(classifier, readable))
        rows.extend(c.row(next(readings)) if c.readable else empty_row(c) for c in chunk)
    return rows


def _read(classifier: Classifier, items: list[Prepared]) -> list[PostReading]:
    posts = [(c.title, c.text, c.spans) for c in items]
    langs, others = [c.lang for c in items], [c.others for c in items]
    return read_posts(classifier, posts, langs=langs, others=others) if items else []


def _spans(stage: ClassifyStage, text: str, brand: str | None) -> list[tuple[int, int]]:
    return stage.mention_spans(text, brand) if brand else []


def complaint_scorer(settings: Settings) -> Score:
    """Classify, in one batch, the records that carry no complaint probability (read for the
    record's brand: the passages around its mentions)."""

    def score(records: Sequence[Mapping[str, Any]]) -> list[tuple[float, float]]:
        brands = [str(r.get("brand") or "") for r in records]
        stage = ClassifyStage(settings.classifier, None, brand_matcher(settings, *brands))
        rows = classify_records(stage, [_with_text(r) for r in records], None)
        return [(float(r["complaint"]), float(r["negative"])) for r in rows]

    return score


def _with_text(record: Mapping[str, Any]) -> dict[str, Any]:
    return {**record, "text": str(record.get("text") or "")}


def relabel_examples(session: Session) -> list[Example]:
    """The queue's corrections as training examples (the post's text, the new label)."""
    rows = []
    for relabel in repo.latest_relabels(session):
        post = repo.get_post(session, relabel.post_id)
        if post is None:
            continue
        # a relabel says nothing about sentiment: a complaint is negative, else neutral
        sentiment: Literal["negative", "neutral"] = (
            "negative" if relabel.label == "complaint" else "neutral"
        )
        rows.append(
            Example(
                id=f"relabel:{post.id}:{relabel.brand}",
                lang=post.lang or "und",
                text=post.text,
                title=post.title,
                brand=relabel.brand,
                label=relabel.label,  # type: ignore[arg-type]
                sentiment=sentiment,
            )
        )
    return rows


def held_out_check(settings: ClassifierSettings, encoder: E5Encoder, head: Head) -> EvalReport:
    """A new head on the packaged evaluation set (never used in training), read as the
    daemon reads posts: a retrain (new relabels, another seed) can land below the bar."""
    classifier = E5Classifier(settings, encoder=encoder, head=head)
    examples = load_examples(packaged_paths("eval"))
    return evaluate_classifier(classifier, examples, window=settings.window_sentences)


def real_sets_check(
    settings: ClassifierSettings, encoder: E5Encoder, head: Head, dirs: list[Path]
) -> EvalTable:
    """A new head on the real sets' dev splits and the hard cases (never trained on), with
    the encoder already loaded for training (not a second copy of the model)."""
    classifier = E5Classifier(settings, encoder=encoder, head=head)
    files = [packaged_paths("eval")[0].parent, hard_path()]
    return evaluate_sets(classifier, files, dirs, window=settings.window_sentences)
