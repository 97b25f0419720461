"""Labelled examples in JSONL: reading them, with errors that name the file and line.

One JSON object per line (schema in ``classifiers/data/README.md``): ``id``, ``lang``,
``title``?, ``text``, ``brand``?, ``label`` (complaint | not_complaint), ``sentiment``
(negative | neutral | positive), ``kind``?, ``mentions``? (``[[start, end], ...]`` in
``text``), ``others``? (names of other companies the text mentions: their clauses are not
read as about ``brand``). Unknown fields are ignored so the files can carry notes (``source``,
``variant``). Blank lines are skipped. Ids must be unique across everything loaded together,
so a relabel from the queue addresses exactly one example.

The packaged set lives in ``classifiers/data/train/*.jsonl`` (training) and
``classifiers/data/eval/*.jsonl`` (held out; training never reads it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

from classifiers.base import SENTIMENTS, Label, Sentiment
from classifiers.errors import DatasetError

__all__ = ["Example", "hard_path", "load_examples", "packaged_paths", "parse_example", "read_jsonl"]

LABELS: tuple[Label, Label] = ("complaint", "not_complaint")


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled post."""

    id: str
    lang: str
    text: str
    label: Label
    sentiment: Sentiment
    title: str | None = None
    brand: str | None = None
    kind: str | None = None
    mentions: tuple[tuple[int, int], ...] | None = None
    others: tuple[str, ...] = ()


def packaged_paths(split: Literal["train", "eval"]) -> list[Path]:
    """The packaged JSONL files of one split, sorted by name."""
    folder = Path(str(resources.files("classifiers") / "data" / split))
    return sorted(folder.glob("*.jsonl")) if folder.is_dir() else []


def hard_path() -> Path:
    """The packaged hard cases (competitor posts per language, both readings labelled)."""
    return Path(str(resources.files("classifiers") / "data" / "hard"))


def load_examples(paths: Iterable[Path]) -> list[Example]:
    """Every example of the given files (folders: their ``*.jsonl``); ids must be unique."""
    examples: list[Example] = []
    seen: dict[str, Path] = {}
    for path in _expand(paths):
        for example in read_jsonl(path):
            if example.id in seen:
                raise DatasetError(
                    f"{path}: id {example.id!r} is also used in {seen[example.id]}; "
                    "give every example a unique id."
                )
            seen[example.id] = path
            examples.append(example)
    return examples


def _expand(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        out.extend(sorted(path.glob("*.jsonl")) if path.is_dir() else [path])
    return out


def read_jsonl(path: Path) -> list[Example]:
    """The examples of one file; a bad line is a :class:`DatasetError` naming ``file:line``."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(
            f"Cannot read {path} ({exc}); check the path and that it is UTF-8."
        ) from None
    examples = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            examples.append(parse_example(json.loads(line)))
        except (ValueError, TypeError) as exc:
            raise DatasetError(f"{path}:{number}: {exc}; fix or remove that line.") from None
    return examples


def parse_example(record: Any) -> Example:
    """Validate one decoded JSON object (``ValueError``/``TypeError`` say what is wrong)."""
    if not isinstance(record, dict):
        raise ValueError("expected a JSON object")
    label, sentiment = record.get("label"), record.get("sentiment")
    if label not in LABELS:
        raise ValueError(f"label must be one of {list(LABELS)}, got {label!r}")
    if sentiment not in SENTIMENTS:
        raise ValueError(f"sentiment must be one of {list(SENTIMENTS)}, got {sentiment!r}")
    return Example(
        id=_text(record, "id"),
        lang=_text(record, "lang"),
        text=_text(record, "text", allow_empty=True),
        label=cast(Label, label),
        sentiment=cast(Sentiment, sentiment),
        title=_optional(record, "title"),
        brand=_optional(record, "brand"),
        kind=_optional(record, "kind"),
        mentions=_mentions(record.get("mentions")),
        others=_names(record.get("others")),
    )


def _text(record: dict[str, Any], key: str, *, allow_empty: bool = False) -> str:
    value = record.get(key)
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise ValueError(f"{key!r} must be a non-empty string, got {value!r}")
    return value


def _optional(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string or null, got {value!r}")
    return value


def _names(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"'others' must be a list of company names, got {value!r}")
    return tuple(value)


def _mentions(value: Any) -> tuple[tuple[int, int], ...] | None:
    if value is None:
        return None
    try:
        spans = tuple((int(s), int(e)) for s, e in value)
    except (TypeError, ValueError):
        raise ValueError(
            f"'mentions' must be a list of [start, end] pairs, got {value!r}"
        ) from None
    if any(s < 0 or e < s for s, e in spans):
        raise ValueError(f"'mentions' has an invalid span in {value!r}")
    return spans
