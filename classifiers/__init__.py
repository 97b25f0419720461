"""Sentiment and complaint classification of posts, in the customer's own language.

Public API (everything else is private to the package)::

    ClassifierSettings, PipelineSettings         the [classifier] TOML table
    Classifier, Encoder, Scores                   the seam and its result
    load_classifier(settings) -> Classifier       backends: BACKENDS["e5" | "pipeline"]
    passages(...), read_post(...), read_posts(...), Passage, PostReading, find_mentions
    Example, load_examples, packaged_paths        labelled JSONL
    evaluate, evaluate_classifier, EvalReport     per-language P/R/F1, confusion
    train_head(encoder, examples, ...) -> Head    load_head, default_head_path
    classifiers.finetune.finetune(source, examples) -> Adapter   (LoRA; imports torch)
    ClassifierError and its subclasses            classifiers.errors

Importing this package is cheap: torch and transformers load only when a model does.
Never imports ``monitor`` (dependency direction, enforced by tests/test_layout.py).
"""

from classifiers.base import Classifier, Encoder, Scores
from classifiers.config import ClassifierSettings, PipelineSettings
from classifiers.dataset import Example, load_examples, packaged_paths
from classifiers.errors import (
    ClassifierError,
    ConfigError,
    DatasetError,
    HeadError,
    InferenceError,
    ModelCorrupt,
    ModelUnavailable,
)
from classifiers.evaluate import EvalReport, evaluate, evaluate_classifier
from classifiers.head import Head, default_head_path, load_head
from classifiers.passages import (
    Passage,
    PostReading,
    find_mentions,
    passages,
    read_post,
    read_posts,
)
from classifiers.registry import BACKENDS, load_classifier
from classifiers.train import train_head

__all__ = [
    "BACKENDS",
    "Classifier",
    "ClassifierError",
    "ClassifierSettings",
    "ConfigError",
    "DatasetError",
    "Encoder",
    "EvalReport",
    "Example",
    "Head",
    "HeadError",
    "InferenceError",
    "ModelCorrupt",
    "ModelUnavailable",
    "Passage",
    "PipelineSettings",
    "PostReading",
    "Scores",
    "default_head_path",
    "evaluate",
    "evaluate_classifier",
    "find_mentions",
    "load_classifier",
    "load_examples",
    "load_head",
    "packaged_paths",
    "passages",
    "read_post",
    "read_posts",
    "train_head",
]
