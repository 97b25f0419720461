"""Real, human-written labelled sets (``shared/realdata`` layout): reading them; the licence rule.

A *set* is a folder holding ``train.jsonl`` and ``dev.jsonl`` (one record a line: ``id``,
``set``, ``lang``, ``brand``, ``title``, ``text``, ``label``, ``source``, ``meta``; see
``docs/ARCHITECTURE.md``, "Classifier data"). Two kinds of label:

- **complaint sets** (``complaint`` / ``not_complaint``): read as they are;
- **sentiment sets** (``negative`` / ``neutral`` / ``positive``): a *proxy* for complaints —
  ``negative`` counts as the complaint side (GermEval: only when ``meta.relevant``, i.e. the
  post is about the company), everything else as not a complaint.

Decisions:

- **The licence rule is data here, not a habit**: only sets whose terms permit commercial use
  of what is trained on them (:data:`SHIPPABLE`) may train a head that ships. Any other set —
  and any set this module does not know — is refused as training input with
  :class:`~classifiers.errors.LicenceError` unless the caller says ``experiment=True``, and
  a head trained that way is marked as an experiment in its metadata.
- **The records never enter the repository**: the sets are read from where the operator keeps
  them (``--real DIR``), so non-commercial texts cannot slip into a commit.
- **One record type for both kinds** (:class:`RealExample`): the complaint label (real or
  proxy), the sentiment label when the set has one, and which of the two the set really
  labels, so evaluation can say "AUC of the negative probability" only where it means
  something.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from classifiers.base import SENTIMENTS, Label, Sentiment
from classifiers.dataset import Example
from classifiers.errors import DatasetError, LicenceError

__all__ = [
    "SHIPPABLE",
    "RealExample",
    "RealSet",
    "check_licence",
    "find_sets",
    "load_set",
]

Kind = Literal["complaint", "sentiment"]
Split = Literal["train", "dev"]

SHIPPABLE: dict[str, str] = {
    "cesamard_complaints_en": "MIT",
    "lcc_da": "CC BY",
    "norec_sentence_nb": "CC BY-NC 4.0; its terms allow commercial use of trained models",
    "opensubs_fi": "Apache-2.0",
    "nab_realtweets": "MIT",
}
"""Sets whose terms allow the head that ships to be trained on them, with the licence."""


@dataclass(frozen=True, slots=True)
class RealExample:
    """One labelled real post, as an :class:`Example` plus what its set really labels."""

    example: Example
    kind: Kind
    set: str
    source: str

    @property
    def complaint(self) -> bool:
        """The complaint label (for sentiment sets: the negative proxy)."""
        return self.example.label == "complaint"

    @property
    def negative(self) -> bool:
        return self.example.sentiment == "negative"


@dataclass(frozen=True, slots=True)
class RealSet:
    """A set folder: its name, language(s) and kind, read from its records."""

    name: str
    path: Path
    kind: Kind

    @property
    def shippable(self) -> bool:
        return self.name in SHIPPABLE

    def load(self, split: Split) -> list[RealExample]:
        return load_set(self.path, split)


def find_sets(paths: Iterable[Path]) -> list[RealSet]:
    """Each given folder that is a set, or the set folders inside it (sorted by name)."""
    found: list[RealSet] = []
    for path in paths:
        if not path.is_dir():
            raise DatasetError(f"{path}: not a folder of real labelled sets; check the path.")
        folders = [path] if _is_set(path) else sorted(p for p in path.iterdir() if _is_set(p))
        if not folders:
            raise DatasetError(f"{path}: no set folders (with dev.jsonl) found there.")
        found.extend(RealSet(f.name, f, _kind_of(f)) for f in folders)
    return found


def check_licence(sets: Sequence[RealSet], *, experiment: bool) -> None:
    """Refuse training a shippable head on any set not in :data:`SHIPPABLE`."""
    refused = [s.name for s in sets if not s.shippable]
    if refused and not experiment:
        raise LicenceError(
            f"{', '.join(refused)}: licence does not permit training a head that ships "
            "(evaluation and calibration only); leave them out, or pass --experiment to train "
            "a head marked as an experiment."
        )


def load_set(folder: Path, split: Split) -> list[RealExample]:
    """The records of one split; a bad line is a :class:`DatasetError` naming ``file:line``."""
    path = folder / f"{split}.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"Cannot read {path} ({exc.__class__.__name__}).") from None
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(parse_record(json.loads(line), folder.name))
        except (ValueError, TypeError, KeyError) as exc:
            raise DatasetError(f"{path}:{number}: {exc}; fix or remove that line.") from None
    return out


def parse_record(record: Any, set_name: str) -> RealExample:
    """One decoded record -> :class:`RealExample` (``ValueError`` says what is wrong)."""
    if not isinstance(record, dict):
        raise ValueError("expected a JSON object")
    label = record.get("label")
    text = record.get("text")
    if not isinstance(text, str):
        raise ValueError(f"'text' must be a string, got {text!r}")
    kind: Kind = "complaint" if label in ("complaint", "not_complaint") else "sentiment"
    if kind == "sentiment" and label not in SENTIMENTS:
        raise ValueError(f"label must be complaint, not_complaint or a sentiment, got {label!r}")
    complaint, sentiment = _labels(kind, cast(str, label), record.get("meta") or {})
    example = Example(
        id=str(record["id"]),
        lang=str(record["lang"]),
        text=text,
        label=complaint,
        sentiment=sentiment,
        title=record.get("title") or None,
        brand=record.get("brand") or None,
        kind=set_name,
    )
    return RealExample(example, kind, set_name, str(record.get("source") or ""))


def _labels(kind: Kind, label: str, meta: dict[str, Any]) -> tuple[Label, Sentiment]:
    if kind == "complaint":
        # complaint sets carry no sentiment label: a complaint reads negative, the rest neutral
        return cast(Label, label), "negative" if label == "complaint" else "neutral"
    about_company = meta.get("relevant", True) is not False  # GermEval's subtask A
    proxy: Label = "complaint" if label == "negative" and about_company else "not_complaint"
    return proxy, cast(Sentiment, label)


def _is_set(path: Path) -> bool:
    return path.is_dir() and (path / "dev.jsonl").is_file()


def _kind_of(folder: Path) -> Kind:
    with (folder / "dev.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                label = json.loads(line).get("label")
                return "complaint" if label in ("complaint", "not_complaint") else "sentiment"
    raise DatasetError(f"{folder}/dev.jsonl is empty.")
