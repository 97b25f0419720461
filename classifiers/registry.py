"""The explicit registry of classifier backends, and the one way to build a classifier.

An explicit dict (not entry points or import magic): a reader sees every backend in one
place, and ``[classifier] backend`` is validated against exactly these names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from classifiers.base import Classifier
from classifiers.config import ClassifierSettings
from classifiers.e5.backend import E5Classifier
from classifiers.errors import ConfigError
from classifiers.pipeline_backend import PipelineClassifier

__all__ = ["BACKENDS", "load_classifier"]

BACKENDS: Mapping[str, Callable[[ClassifierSettings], Classifier]] = {
    "e5": E5Classifier,
    "pipeline": PipelineClassifier,
}


def load_classifier(settings: ClassifierSettings) -> Classifier:
    """The backend named in ``settings`` (models load lazily, on first use)."""
    try:
        factory = BACKENDS[settings.backend]
    except KeyError:
        raise ConfigError(
            f"Unknown [classifier] backend {settings.backend!r}; use one of {sorted(BACKENDS)}."
        ) from None
    return factory(settings)
