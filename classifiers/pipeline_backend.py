"""The ``pipeline`` backend: any Hugging Face text-classification model, labels mapped to ours.

For teams with their own fine-tuned model (or one already in their Hugging Face cache).

Decisions:

- **Offline**: ``HF_HUB_OFFLINE=1`` and ``local_files_only=True``; ``model`` is a local
  folder or a Hub id already in the local cache. Nothing is downloaded at run time.
- **Every label must be mapped, and every mapped label must exist** — checked when the model
  loads, so a typo in ``[classifier.pipeline] labels`` fails at start, not as silently wrong
  scores at 3 a.m.
- **Scores from the full distribution** (``top_k=None``): the probabilities of model labels
  mapped to the same label of ours are summed. Sentiment is renormalised over the sentiment
  labels. With no sentiment labels, sentiment is derived from the complaint probability
  (negative = p, neutral = 1 - p); with no complaint label, complaint = the negative
  probability (complaint / not_complaint both mapped: ``p_c / (p_c + p_nc)``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from classifiers.base import Scores
from classifiers.config import ClassifierSettings
from classifiers.errors import ConfigError, InferenceError, ModelUnavailable

__all__ = ["PipelineClassifier", "check_labels", "map_scores"]

_SENTIMENT = ("negative", "neutral", "positive")


class PipelineClassifier:
    """A ``transformers.pipeline("text-classification")`` behind the Classifier protocol."""

    def __init__(self, settings: ClassifierSettings) -> None:
        if not settings.pipeline.model:
            raise ConfigError(
                "backend = 'pipeline' needs [classifier.pipeline] model (a local folder or a "
                "cached Hub id); set it or use backend = 'e5'."
            )
        self.settings = settings
        self._lock = threading.Lock()
        self._pipe: Any = None

    def load(self) -> Any:
        """Load the model once (thread-safe) and check the label mapping against it."""
        if self._pipe is None:
            with self._lock:
                if self._pipe is None:
                    self._pipe = self._load()
        return self._pipe

    def _load(self) -> Any:
        os.environ["HF_HUB_OFFLINE"] = "1"
        import torch
        import transformers

        transformers.utils.logging.disable_progress_bar()
        name = self.settings.pipeline.model
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(name, local_files_only=True)
            model = transformers.AutoModelForSequenceClassification.from_pretrained(
                name, local_files_only=True
            ).eval()
        except Exception as exc:  # transformers raises many types; translate them here
            raise ModelUnavailable(
                f"Cannot load the text-classification model {name!r} "
                f"({exc.__class__.__name__}); give a local folder or a Hub id already in the "
                "Hugging Face cache in [classifier.pipeline] model."
            ) from exc
        check_labels(list(model.config.id2label.values()), self.settings.pipeline.labels, name)
        torch.set_num_threads(self.settings.threads)
        return transformers.pipeline(
            "text-classification", model=model, tokenizer=tokenizer, top_k=None, device="cpu"
        )

    def classify(
        self, texts: Sequence[str], langs: Sequence[str | None] | None = None
    ) -> list[Scores]:
        if not texts:
            return []
        pipe = self.load()
        s = self.settings
        try:
            outputs = pipe(
                list(texts), batch_size=s.batch_size, truncation=True, max_length=s.max_tokens
            )
        except RuntimeError as exc:
            raise InferenceError(
                f"The text-classification model failed on {len(texts)} texts ({exc}); "
                "lower [classifier] batch_size or max_tokens."
            ) from exc
        return [map_scores(_by_label(o), s.pipeline.labels, s.complaint_threshold) for o in outputs]


def _by_label(output: Any) -> dict[str, float]:
    return {str(item["label"]): float(item["score"]) for item in output}


def check_labels(model_labels: Sequence[str], mapping: Mapping[str, str], name: str) -> None:
    """Every model label mapped, every mapped label the model's; else a :class:`ConfigError`."""
    unmapped = sorted(set(model_labels) - set(mapping))
    unknown = sorted(set(mapping) - set(model_labels))
    if unmapped or unknown:
        raise ConfigError(
            f"[classifier.pipeline] labels does not fit model {name!r}: "
            f"unmapped model labels {unmapped}, unknown labels {unknown}; "
            f"the model's labels are {sorted(model_labels)}."
        )


def map_scores(probs: Mapping[str, float], mapping: Mapping[str, str], threshold: float) -> Scores:
    """Our scores from the model's label probabilities (see the module docstring)."""
    ours: dict[str, float] = {}
    for label, p in probs.items():
        target = mapping[label]
        ours[target] = ours.get(target, 0.0) + p
    targets = set(mapping.values())
    sentiment = _sentiment(ours, targets)
    complaint = _complaint(ours, targets, sentiment[0])
    if not targets & set(_SENTIMENT):
        sentiment = (complaint, 1.0 - complaint, 0.0)
    return Scores(*sentiment, complaint=complaint, threshold=threshold)


def _sentiment(ours: Mapping[str, float], targets: set[str]) -> tuple[float, float, float]:
    values = [ours.get(k, 0.0) for k in _SENTIMENT]
    total = sum(values)
    if not targets & set(_SENTIMENT) or total <= 0:
        return (0.0, 1.0, 0.0)
    return (values[0] / total, values[1] / total, values[2] / total)


def _complaint(ours: Mapping[str, float], targets: set[str], negative: float) -> float:
    has_c, has_n = "complaint" in targets, "not_complaint" in targets
    c, n = ours.get("complaint", 0.0), ours.get("not_complaint", 0.0)
    if has_c and has_n:
        return c / (c + n) if c + n > 0 else 0.0
    if has_c:
        return min(1.0, c)
    if has_n:
        return max(0.0, 1.0 - n)
    return negative
