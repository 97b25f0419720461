"""Fine-tuning the encoder on the labelled examples with low-rank adapters (LoRA).

A head on a frozen encoder stalls at the encoder's notion of similarity, which was learnt
for retrieval, not for "is this a complaint about the brand" (sarcasm, a complaint about
another brand, praise after a bad start). Fine-tuning moves the encoder itself toward our
complaint definition. The result is an
:class:`~classifiers.adapter.Adapter` (a few MB), merged into the encoder at load and
stored in the head file; the numpy head is then refitted on the tuned embeddings exactly as
for a frozen encoder (:func:`classifiers.train.train_head`), so there is one head recipe.

Decisions:

- **What is trained**: rank-8 adapters (alpha 16) on every Linear of the transformer
  blocks, plus two temporary linear layers (complaint, sentiment) that are thrown away
  afterwards. Everything else is frozen: the adapters are ~0.6% of e5-small's parameters,
  so 1,000 examples do not wreck what the encoder knows about 100 languages.
- **Warm start**: the temporary layers start as the logistic regressions fitted on the
  frozen embeddings (standardised as the head standardises), so the first step already
  pushes the encoder in a useful direction instead of fighting a random classifier.
- **What it sees** is what inference sees: each example's reading (title plus the
  sentences around its brand mentions, :func:`classifiers.train.reading_text`), ``query: ``
  prefixed, mean-pooled, L2-normalised — through the same functions as the backend.
- **Loss**: cross-entropy on complaint (balanced class weights times
  :data:`~classifiers.train.COMPLAINT_WEIGHT` on complaints, as the head) plus sentiment.
- **Defaults** (5 epochs, AdamW lr 3e-4, batch 16, dropout on, seed 0) come from a held-out
  experiment recorded in the CHANGELOG; they are parameters, not constants in the loop.
- **Deterministic** for a given seed, machine and thread count (torch and numpy seeded;
  batches shuffled by a numpy generator).
- **Progress** goes to the ``stormwatch.classifiers`` logger once per epoch (mean loss), and
  to an optional callback (tests read the losses from it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from classifiers.adapter import TARGET_SUFFIXES, Adapter
from classifiers.base import SENTIMENTS
from classifiers.dataset import Example
from classifiers.e5.backend import E5Encoder, pooled_embeddings, tokenize
from classifiers.e5.locate import ModelSource
from classifiers.head import balanced_weights, complaint_weights, fit_head
from classifiers.train import COMPLAINT_WEIGHT, reading_text

__all__ = ["FinetuneSettings", "extract_adapter", "finetune", "wrap_linears"]

log = logging.getLogger("stormwatch.classifiers")

WARM_START_L2 = 1.0  # the middle of the head's L2 grid; the warm start only needs a direction


@dataclass(frozen=True)
class FinetuneSettings:
    """How the encoder is fine-tuned; the defaults are the measured recipe."""

    rank: int = 8
    alpha: float = 16.0
    epochs: int = 5
    lr: float = 3e-4
    batch_size: int = 16
    max_tokens: int = 128
    seed: int = 0
    threads: int = 2
    complaint_weight: float = COMPLAINT_WEIGHT


class LoraLinear(torch.nn.Module):
    """``base(x) + scale * x A^T B^T`` with ``base`` frozen; B starts at zero, so the
    wrapped model begins exactly equal to the frozen one (the LoRA paper's start)."""

    def __init__(self, base: torch.nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.lora_a = torch.nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_b = torch.nn.Parameter(torch.zeros(base.out_features, rank))
        torch.nn.init.kaiming_uniform_(self.lora_a, a=5**0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.base(x) + (x @ self.lora_a.T @ self.lora_b.T) * self.scale
        return out


def wrap_linears(model: torch.nn.Module, rank: int, alpha: float) -> list[str]:
    """Freeze ``model``; replace each target Linear by a :class:`LoraLinear`; their names."""
    for p in model.parameters():
        p.requires_grad_(False)
    targets = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and name.endswith(TARGET_SUFFIXES)
    ]
    for name, module in targets:
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name), child, LoraLinear(module, rank, alpha))
    return [name for name, _ in targets]


def extract_adapter(
    model: torch.nn.Module, rank: int, alpha: float, info: dict[str, Any] | None = None
) -> Adapter:
    """The A and B of every :class:`LoraLinear` in ``model``, named as the wrapped Linear."""
    layers = {
        name: (
            module.lora_a.detach().float().numpy().copy(),
            module.lora_b.detach().float().numpy().copy(),
        )
        for name, module in model.named_modules()
        if isinstance(module, LoraLinear)
    }
    return Adapter(rank=rank, alpha=alpha, layers=layers, info=dict(info or {}))


def finetune(
    source: ModelSource,
    examples: Sequence[Example],
    *,
    settings: FinetuneSettings | None = None,
    window: int = 1,
    max_chars: int = 600,
    on_epoch: Callable[[int, float], None] | None = None,
) -> Adapter:
    """Fine-tune the encoder at ``source`` on ``examples``; the trained adapter."""
    s = settings or FinetuneSettings()
    torch.manual_seed(s.seed)
    # The backend's own encoder loads the model and gives the frozen embeddings for the
    # warm start; then its model is wrapped and trained in place.
    encoder = E5Encoder(source, threads=s.threads, max_tokens=s.max_tokens, batch_size=s.batch_size)
    tokenizer, model = encoder.load()
    texts = [reading_text(ex, window=window, max_chars=max_chars) for ex in examples]
    complaint = np.array([ex.label == "complaint" for ex in examples], dtype=int)
    sentiment = np.array([SENTIMENTS.index(ex.sentiment) for ex in examples])
    heads = _warm_start(encoder.embed(texts), complaint, sentiment, s)
    wrap_linears(model, s.rank, s.alpha)
    losses = _train(tokenizer, model, heads, texts, complaint, sentiment, s, on_epoch)
    info = {
        "epochs": s.epochs,
        "lr": s.lr,
        "seed": s.seed,
        "examples": len(examples),
        "loss": [round(x, 4) for x in losses],
    }
    return extract_adapter(model, s.rank, s.alpha, info)


class _Heads(torch.nn.Module):
    """Standardisation (fixed) plus the two temporary linear layers (trained)."""

    def __init__(self, mean: NDArray[Any], scale: NDArray[Any], fits: list[Any]) -> None:
        super().__init__()
        self.mean = torch.tensor(mean, dtype=torch.float32)  # fixed: plain tensors, not trained
        self.scale = torch.tensor(scale, dtype=torch.float32)
        self.layers = torch.nn.ModuleList()
        for w, b in fits:
            layer = torch.nn.Linear(w.shape[0], w.shape[1])
            with torch.no_grad():
                layer.weight.copy_(torch.tensor(w.T, dtype=torch.float32))
                layer.bias.copy_(torch.tensor(b, dtype=torch.float32))
            self.layers.append(layer)

    def forward(self, embeddings: torch.Tensor) -> list[torch.Tensor]:
        z = (embeddings - self.mean) / self.scale
        return [layer(z) for layer in self.layers]


def _warm_start(
    x: NDArray[np.float32],
    complaint: NDArray[np.int_],
    sentiment: NDArray[np.int_],
    s: FinetuneSettings,
) -> _Heads:
    """The head's own fit (standardisation, weighted logistic regressions) on the frozen
    embeddings, as torch layers."""
    head = fit_head(
        x,
        sentiment,
        x,
        complaint,
        encoder="warm-start",
        l2=WARM_START_L2,
        created_at="",
        complaint_weight=s.complaint_weight,
    )
    fits = [(head.complaint_w, head.complaint_b), (head.sentiment_w, head.sentiment_b)]
    return _Heads(head.mean, head.scale, fits)


def _train(
    tokenizer: Any,
    model: Any,
    heads: _Heads,
    texts: Sequence[str],
    complaint: NDArray[np.int_],
    sentiment: NDArray[np.int_],
    s: FinetuneSettings,
    on_epoch: Callable[[int, float], None] | None,
) -> list[float]:
    params = [p for p in model.parameters() if p.requires_grad] + list(heads.parameters())
    optimiser = torch.optim.AdamW(params, lr=s.lr, weight_decay=0.0)
    c_weight = torch.tensor(complaint_weights(complaint, s.complaint_weight), dtype=torch.float32)
    s_weight = torch.tensor(balanced_weights(sentiment, 3), dtype=torch.float32)
    yc, ys = torch.tensor(complaint), torch.tensor(sentiment)
    rng = np.random.default_rng(s.seed)
    losses: list[float] = []
    model.train()
    for epoch in range(s.epochs):
        total = 0.0
        order = rng.permutation(len(texts))
        for start in range(0, len(order), s.batch_size):
            idx = order[start : start + s.batch_size].tolist()
            batch = tokenize(tokenizer, [texts[i] for i in idx], s.max_tokens)
            c_logits, s_logits = heads(pooled_embeddings(model, batch))
            loss = _weighted_ce(c_logits, yc[idx], c_weight[idx]) + _weighted_ce(
                s_logits, ys[idx], s_weight[idx]
            )
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimiser.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(texts))
        log.info("fine-tuning epoch %d/%d: mean loss %.4f", epoch + 1, s.epochs, losses[-1])
        if on_epoch is not None:
            on_epoch(epoch + 1, losses[-1])
    model.eval()
    return losses


def _weighted_ce(logits: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    per_row = torch.nn.functional.cross_entropy(logits, y, reduction="none")
    out: torch.Tensor = (per_row * w).sum() / w.sum()
    return out
