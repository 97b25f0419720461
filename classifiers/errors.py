"""The one exception tree of the ``classifiers`` package.

::

    ClassifierError                 anything this package raises on purpose
     ├── ConfigError                a [classifier] setting cannot work (e.g. a bad label map)
     ├── ModelUnavailable           no usable model: missing folder, failed conversion, load failure
     │    └── ModelCorrupt          a model file or converted folder fails its checks
     ├── HeadError                  the trained head is missing, damaged or made for another encoder
     ├── DatasetError               a labelled JSONL file has a bad line (message names file:line)
     │    └── LicenceError          a set's licence does not permit training a head that ships
     └── InferenceError             the model failed while classifying a batch

Why one tree: callers (the CLI, the crawler) catch ``ClassifierError`` once and print its
message; library exceptions (``OSError``, ``safetensors``, ``transformers``, ``torch``) are
translated at the boundary where they happen, so a user reads one sentence — what failed,
where, what to do — and never a traceback.
"""

from __future__ import annotations

__all__ = [
    "ClassifierError",
    "ConfigError",
    "DatasetError",
    "HeadError",
    "InferenceError",
    "LicenceError",
    "ModelCorrupt",
    "ModelUnavailable",
]


class ClassifierError(Exception):
    """Base of every error raised on purpose by ``classifiers``; its message is for people."""


class ConfigError(ClassifierError):
    """A ``[classifier]`` setting is valid TOML but cannot work (e.g. an unknown backend)."""


class ModelUnavailable(ClassifierError):
    """No usable encoder or text-classification model could be loaded or built."""


class ModelCorrupt(ModelUnavailable):
    """A model file or converted folder exists but fails its integrity checks."""


class HeadError(ClassifierError):
    """The trained head file is missing, unreadable, of another version or another encoder."""


class DatasetError(ClassifierError):
    """A labelled example file cannot be read; the message names the file and line."""


class LicenceError(DatasetError):
    """A set whose licence allows evaluation only was given as training input for a shipped head."""


class InferenceError(ClassifierError):
    """The model raised while classifying; the batch is not classified."""
