"""One evaluation table over many labelled sets: the packaged eval, real dev sets, hard cases.

Each row is one set in one language, read the way the daemon reads posts (title plus the
windows around the brand, :func:`classifiers.evaluate.predict_examples`), at the set's
natural label mix:

- ``auc``: complaint probability vs the complaint label (for sentiment sets: the negative
  proxy); ``neg_auc``: the negative-sentiment probability vs the negative label (sentiment
  sets only — what a sentiment set really measures);
- ``f1`` / ``precision`` / ``recall`` of ``complaint >= threshold`` (each post's own
  threshold, so a per-language operating point is what is measured);
- ``ece``: calibration error of the probability the set labels (complaint, or negative);
- ``flagged``: the share of posts read as complaints (on sets of posts about no company,
  chatter, every one of them is a false alarm);
- ``mean_p_not``: mean complaint probability of the posts that are not complaints — the
  detectors add probabilities up, so this is what a quiet day contributes;
- ``nb_auc``: an in-domain naive Bayes trained on the set's own train split (the baseline
  the issue asks the model to beat), where the set has one.

Decisions: the rows are plain dataclasses so ``--json`` and the table render the same
figures; sets are evaluated one at a time, so memory stays flat whatever is passed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.base import Classifier
from classifiers.dataset import Example, load_examples
from classifiers.evaluate import predict_examples
from classifiers.metrics import NaiveBayes, auc, ece, f1_at
from classifiers.realdata import RealExample, RealSet, find_sets

__all__ = ["EvalRow", "EvalTable", "evaluate_real", "evaluate_sets"]


@dataclass(frozen=True, slots=True)
class EvalRow:
    """The figures of one set in one language."""

    set: str
    lang: str
    kind: str
    n: int
    complaints: int
    auc: float
    neg_auc: float | None
    f1: float
    precision: float
    recall: float
    ece: float
    mean_p_not: float
    nb_auc: float | None
    flagged: float = float("nan")


@dataclass
class EvalTable:
    rows: list[EvalRow]

    def to_json(self) -> str:
        return json.dumps({"rows": [_jsonable(asdict(r)) for r in self.rows]}, indent=2)

    def render(self) -> str:
        head = (
            f"{'set':<24}{'lang':<5}{'n':>6}{'pos%':>6}{'AUC':>7}{'negAUC':>8}{'F1':>7}"
            f"{'prec':>7}{'rec':>7}{'flag%':>7}{'ECE':>7}{'p(not)':>8}{'NB AUC':>8}"
        )
        lines = [head, "-" * len(head)]
        for r in self.rows:
            lines.append(
                f"{r.set[:23]:<24}{r.lang:<5}{r.n:>6}{100 * r.complaints / max(r.n, 1):>6.1f}"
                f"{_f(r.auc):>7}{_f(r.neg_auc):>8}{_f(r.f1):>7}{_f(r.precision):>7}"
                f"{_f(r.recall):>7}{100 * r.flagged:>7.1f}{_f(r.ece):>7}{_f(r.mean_p_not):>8}"
                f"{_f(r.nb_auc):>8}"
            )
        lines.append(
            "AUC: complaint probability (sentiment sets: vs the negative proxy); negAUC: "
            "negative probability vs negative; F1/prec/rec at each post's threshold; ECE of "
            "the labelled probability; flag%: share read as complaints; p(not): mean "
            "complaint probability of non-complaints; "
            "NB AUC: naive Bayes trained on the set's own train split."
        )
        return "\n".join(lines)


def _f(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}


def evaluate_sets(
    classifier: Classifier,
    example_files: Sequence[Path],
    real_dirs: Sequence[Path],
    *,
    window: int = 1,
    baseline: bool = True,
) -> EvalTable:
    """Rows for labelled JSONL files/folders (per language) and for real set folders."""
    rows: list[EvalRow] = []
    for path in example_files:
        examples = load_examples([path])
        rows.extend(_rows(classifier, _name(path), examples, None, window, {}))
    for real in find_sets(real_dirs):
        rows.extend(evaluate_real(classifier, real, window=window, baseline=baseline))
    return EvalTable(rows)


def evaluate_real(
    classifier: Classifier, real: RealSet, *, window: int = 1, baseline: bool = True
) -> list[EvalRow]:
    """The dev split of one real set, with its own-train-split baseline."""
    dev = real.load("dev")
    nb = _baselines(real, dev) if baseline and (real.path / "train.jsonl").is_file() else {}
    return _rows(classifier, real.name, [r.example for r in dev], real.kind, window, nb)


def _baselines(real: RealSet, dev: list[RealExample]) -> dict[str, float]:
    train = real.load("train")
    model = NaiveBayes([_text(r.example) for r in train], [r.complaint for r in train])
    out = {}
    for lang in sorted({r.example.lang for r in dev}):
        part = [r for r in dev if r.example.lang == lang]
        p = model.predict([_text(r.example) for r in part])
        out[lang] = auc(np.array([r.complaint for r in part]), p)
    return out


def _rows(
    classifier: Classifier,
    name: str,
    examples: list[Example],
    kind: str | None,
    window: int,
    nb: dict[str, float],
) -> list[EvalRow]:
    predictions = predict_examples(classifier, examples, window=window)
    rows = []
    for lang in sorted({ex.lang for ex in examples}):
        part = [p for p in predictions if p.example.lang == lang]
        rows.append(_row(name, lang, kind, part, nb.get(lang)))
    return rows


def _row(name: str, lang: str, kind: str | None, part: list[Any], nb: float | None) -> EvalRow:
    y = np.array([p.example.label == "complaint" for p in part])
    pc = np.array([p.complaint for p in part])
    said = np.array([p.label == "complaint" for p in part])
    at = f1_at(y, said.astype(float), 0.5)
    sentiment = kind == "sentiment"
    neg_y = np.array([p.example.sentiment == "negative" for p in part])
    neg_p = np.array([p.negative for p in part])
    return EvalRow(
        set=name,
        lang=lang,
        kind=kind or "complaint",
        n=len(part),
        complaints=int(y.sum()),
        auc=auc(y, pc),
        neg_auc=auc(neg_y, neg_p) if sentiment else None,
        f1=at.f1,
        precision=at.precision,
        recall=at.recall,
        ece=ece(neg_y, neg_p) if sentiment else ece(y, pc),
        mean_p_not=float(pc[~y].mean()) if (~y).any() else float("nan"),
        nb_auc=nb,
        flagged=float(said.mean()) if len(said) else float("nan"),
    )


def _text(example: Example) -> str:
    return f"{example.title or ''}\n{example.text}"


def _name(path: Path) -> str:
    return f"{path.parent.name}/{path.name}" if path.is_dir() else f"{path.parent.name}/{path.stem}"
