"""Low-rank adapters (LoRA) for the encoder: how a fine-tuned encoder is stored and loaded.

A fine-tuned encoder is the packaged model plus, for each adapted ``nn.Linear`` (named as
in ``model.named_modules()``), two small matrices ``A`` (``rank x in``) and ``B``
(``out x rank``); the layer's weight becomes ``W + (alpha / rank) * B @ A``.

Decisions:

- **In house, ~100 lines of torch, not peft**: nothing new to install or trust at run
  time, and the stored form is plain arrays in the head file (no pickle).
- **Merged at load** (:func:`merge_adapter`), before any int8 quantisation: the tuned
  encoder is an ordinary ``BertModel`` again, so inference costs exactly what the frozen
  encoder costs and every speed knob still applies.
- **Stored with the head** (:mod:`classifiers.head`, format version 2): the head was fitted
  on the tuned encoder's embeddings and is meaningless without it, so one file carries both
  and the monitor's reading cache (keyed by a digest of that file) re-reads every post
  when either changes.
- **Checked against the model on load**: an adapter naming a layer the model lacks, or of
  the wrong shape, is a :class:`~classifiers.errors.HeadError` that says to retrain.
- **Torch imported lazily**: importing ``classifiers`` stays cheap; the training side
  (wrapping layers, the loop) lives in :mod:`classifiers.finetune`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from classifiers.errors import HeadError

__all__ = ["TARGET_SUFFIXES", "Adapter", "merge_adapter"]

# Every Linear inside the transformer blocks: attention query/key/value and output, and
# both feed-forward layers. The experiment behind the defaults adapted all of them; the
# embeddings and the pooler stay frozen.
TARGET_SUFFIXES = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)
Array = NDArray[np.float32]


@dataclass(frozen=True)
class Adapter:
    """``layers[name] = (A, B)``; the delta of layer ``name`` is ``scale * B @ A``."""

    rank: int
    alpha: float
    layers: dict[str, tuple[Array, Array]]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def scale(self) -> float:
        return self.alpha / self.rank

    def arrays(self) -> dict[str, Array]:
        """Flat ``{"lora.A.<layer>": A, "lora.B.<layer>": B}`` for an ``.npz`` file."""
        out: dict[str, Array] = {}
        for name, (a, b) in self.layers.items():
            out[f"lora.A.{name}"], out[f"lora.B.{name}"] = a, b
        return out

    @classmethod
    def from_arrays(
        cls, rank: int, alpha: float, arrays: dict[str, Any], info: dict[str, Any]
    ) -> Adapter:
        """The inverse of :meth:`arrays`; a layer with only one of A and B is an error."""
        names = {k[len("lora.A.") :] for k in arrays if k.startswith("lora.A.")}
        if names != {k[len("lora.B.") :] for k in arrays if k.startswith("lora.B.")}:
            raise HeadError("The head's adapter is incomplete (an A without its B); retrain it.")
        layers = {
            n: (
                np.asarray(arrays[f"lora.A.{n}"], dtype=np.float32),
                np.asarray(arrays[f"lora.B.{n}"], dtype=np.float32),
            )
            for n in sorted(names)
        }
        return cls(rank=rank, alpha=alpha, layers=layers, info=info)


def merge_adapter(model: Any, adapter: Adapter) -> None:
    """Add each layer's ``scale * B @ A`` to its weight, in place (before any int8)."""
    import torch

    modules = dict(model.named_modules())
    for name, (a, b) in adapter.layers.items():
        layer = modules.get(name)
        if not isinstance(layer, torch.nn.Linear):
            raise HeadError(
                f"The head's adapter names layer {name!r}, which this model does not have as a "
                "Linear; the head was fine-tuned for another model — retrain it "
                "(stormwatch classifier train)."
            )
        want = (layer.out_features, layer.in_features)
        if (b.shape[0], a.shape[1]) != want or a.shape[0] != b.shape[1]:
            raise HeadError(
                f"The head's adapter for {name!r} has shape {b.shape} x {a.shape}, the layer is "
                f"{want}; retrain the head (stormwatch classifier train)."
            )
        with torch.no_grad():
            delta = torch.from_numpy(b) @ torch.from_numpy(a)
            layer.weight.add_(delta.to(layer.weight.dtype) * adapter.scale)
