"""The e5 backend through its production code path, on tiny models built on the spot
(tests/support/fixtures/models.py). Nothing is downloaded."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from classifiers import (
    ClassifierSettings,
    HeadError,
    ModelUnavailable,
    Scores,
    load_classifier,
)
from classifiers.cache import CachedEncoder
from classifiers.e5.backend import E5Classifier, E5Encoder
from classifiers.e5.locate import ModelSource
from tests.support.fixtures.models import build_tiny_bert, tiny_classifier_settings


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> ClassifierSettings:
    return tiny_classifier_settings(tmp_path_factory.mktemp("tiny"))


def test_e5_backend_classifies_through_the_registry(tiny: ClassifierSettings) -> None:
    clf = load_classifier(tiny)
    scores = clf.classify(["Tak for ingenting, Nordtel.", "Great support, thank you.", ""])
    assert len(scores) == 3
    for s in scores:
        assert isinstance(s, Scores)
        assert abs(s.negative + s.neutral + s.positive - 1) < 1e-6
        assert 0 <= s.complaint <= 1
        assert s.label in {"complaint", "not_complaint"}
    assert clf.classify([]) == []


def test_embeddings_are_normalised_and_order_is_kept(tiny: ClassifierSettings) -> None:
    texts = ["kort", "en meget længere tekst om Nordtel og regningen", "mellem lang tekst"]
    enc = E5Encoder(
        ModelSource(Path(str(tiny.model_dir)), "tiny-e5", "model_dir"), threads=1, batch_size=2
    )
    batched = enc.embed(texts)
    single = np.vstack([enc.embed([t]) for t in texts])
    assert np.allclose(np.linalg.norm(batched, axis=1), 1, atol=1e-5)
    assert np.allclose(batched, single, atol=1e-5)  # padding and sorting change nothing


def test_int8_and_truncation_still_give_scores(tiny: ClassifierSettings) -> None:
    settings = tiny.model_copy(update={"int8": True, "max_tokens": 8})
    scores = load_classifier(settings).classify(["Tak for ingenting, Nordtel. " * 30])
    assert 0 <= scores[0].complaint <= 1


def test_model_loads_once_under_concurrent_use(tiny: ClassifierSettings) -> None:
    clf = E5Classifier(tiny)
    results: list[list[Scores]] = []
    threads = [
        threading.Thread(target=lambda: results.append(clf.classify(["Nordtel svarer ikke"])))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    assert len({r[0].complaint for r in results}) == 1


def test_head_for_another_encoder_is_a_clear_error(
    tiny: ClassifierSettings, tmp_path: Path
) -> None:
    other = build_tiny_bert(tmp_path / "other-model")
    clf = load_classifier(tiny.model_copy(update={"model_dir": str(other)}))
    with pytest.raises(HeadError, match=r"trained for encoder 'tiny-e5'.*classifier train"):
        clf.classify(["x"])


def test_missing_or_broken_model_dir_is_one_clear_error(
    tiny: ClassifierSettings, tmp_path: Path
) -> None:
    with pytest.raises(ModelUnavailable, match=r"no config.json"):
        load_classifier(tiny.model_copy(update={"model_dir": str(tmp_path)})).classify(["x"])
    broken = build_tiny_bert(tmp_path / "broken")
    config = json.loads((broken / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({**config, "stormwatch_encoder": "tiny-e5"}))
    (broken / "model.safetensors").write_bytes(b"not safetensors")
    settings = tiny.model_copy(update={"model_dir": str(broken)})
    with pytest.raises(ModelUnavailable, match=r"Cannot load the e5 model from .*broken"):
        load_classifier(settings).classify(["x"])


class CountingEncoder:
    """A fake encoder that records what it was asked to embed."""

    encoder_id = "counting"
    dim = 4

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.array([[len(t), 1, 0, 0] for t in texts], dtype=np.float32)


def test_identical_passages_are_embedded_once() -> None:
    inner = CountingEncoder()
    enc = CachedEncoder(inner)
    first = enc.embed(["a", "bb", "a"])
    second = enc.embed(["bb", "ccc"])
    assert inner.calls == [["a", "bb"], ["ccc"]]
    assert first[0].tolist() == first[2].tolist() == [1, 1, 0, 0]
    assert second[0].tolist() == [2, 1, 0, 0]
    assert enc.embed([]).shape == (0, 4)
