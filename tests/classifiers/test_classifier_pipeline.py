"""The pipeline backend on a tiny text-classification model built here, and its label map."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers import ClassifierSettings, ConfigError, ModelUnavailable, load_classifier
from classifiers.pipeline_backend import map_scores
from tests.support.fixtures import models as tiny


def settings(model: Path | str, labels: dict[str, str]) -> ClassifierSettings:
    return ClassifierSettings.model_validate(
        {"backend": "pipeline", "threads": 1, "pipeline": {"model": str(model), "labels": labels}}
    )


@pytest.fixture(scope="module")
def sentiment_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pipe") / "sentiment"
    return tiny.build_tiny_text_classifier(folder, {0: "NEG", 1: "NEU", 2: "POS"})


def test_sentiment_model_scores_are_mapped(sentiment_model: Path) -> None:
    clf = load_classifier(
        settings(sentiment_model, {"NEG": "negative", "NEU": "neutral", "POS": "positive"})
    )
    scores = clf.classify(["Tak for ingenting, Nordtel.", "Great support, thank you."])
    assert len(scores) == 2
    for s in scores:
        assert s.negative + s.neutral + s.positive == pytest.approx(1)
        assert s.complaint == pytest.approx(s.negative)  # no complaint label: negative stands in


def test_unknown_or_unmapped_labels_fail_at_load(sentiment_model: Path) -> None:
    clf = load_classifier(
        settings(sentiment_model, {"NEG": "negative", "NEU": "neutral", "BAD": "positive"})
    )
    with pytest.raises(
        ConfigError, match=r"unmapped model labels \['POS'\], unknown labels \['BAD'\]"
    ):
        clf.load()  # type: ignore[attr-defined]


def test_missing_model_and_missing_setting_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="Cannot load the text-classification model"):
        load_classifier(settings(tmp_path / "nothing", {"A": "complaint"})).classify(["x"])
    with pytest.raises(ConfigError, match=r"needs \[classifier.pipeline\] model"):
        load_classifier(ClassifierSettings(backend="pipeline"))


def test_label_mapping_rules() -> None:
    both = {"yes": "complaint", "no": "not_complaint"}
    s = map_scores({"yes": 0.3, "no": 0.1}, both, 0.5)
    assert s.complaint == pytest.approx(0.75)
    assert s.label == "complaint"
    assert (s.negative, s.neutral, s.positive) == pytest.approx((0.75, 0.25, 0.0))  # derived
    stars = {"1": "negative", "2": "negative", "3": "neutral", "4": "positive", "5": "positive"}
    s = map_scores({"1": 0.2, "2": 0.2, "3": 0.2, "4": 0.2, "5": 0.2}, stars, 0.5)
    assert (s.negative, s.neutral, s.positive) == pytest.approx((0.4, 0.2, 0.4))
    assert s.complaint == pytest.approx(0.4)
    assert s.label == "not_complaint"
