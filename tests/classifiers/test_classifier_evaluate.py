"""Evaluation maths on a hand-computed example, and dataset reading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers import DatasetError, Example, evaluate, load_examples
from classifiers.evaluate import Prediction


def ex(i: int, lang: str, label: str, sentiment: str = "negative") -> Example:
    return Example(id=str(i), lang=lang, text="t", label=label, sentiment=sentiment)  # type: ignore[arg-type]


def test_per_language_and_overall_figures_match_hand_computation() -> None:
    # da: tp=2 fp=1 fn=1 tn=1 -> P 2/3, R 2/3, F1 2/3
    # sv: tp=1 fp=0 fn=1 tn=2 -> P 1, R 1/2, F1 2/3
    rows = [
        ("da", "complaint", "complaint"),
        ("da", "complaint", "complaint"),
        ("da", "not_complaint", "complaint"),
        ("da", "complaint", "not_complaint"),
        ("da", "not_complaint", "not_complaint"),
        ("sv", "complaint", "complaint"),
        ("sv", "complaint", "not_complaint"),
        ("sv", "not_complaint", "not_complaint"),
        ("sv", "not_complaint", "not_complaint"),
    ]
    preds = [
        Prediction(ex(i, lang, truth), said, "negative" if i % 3 else "positive", 0.5)  # type: ignore[arg-type]
        for i, (lang, truth, said) in enumerate(rows)
    ]
    report = evaluate(preds)
    da, sv = report.languages["da"].confusion, report.languages["sv"].confusion
    assert (da.tp, da.fp, da.fn, da.tn) == (2, 1, 1, 1)
    assert da.precision == pytest.approx(2 / 3)
    assert da.recall == pytest.approx(2 / 3)
    assert (sv.tp, sv.fp, sv.fn, sv.tn) == (1, 0, 1, 2)
    assert sv.precision == 1
    assert sv.recall == 0.5
    assert sv.f1 == pytest.approx(2 / 3)
    overall = report.overall.confusion  # tp 3 fp 1 fn 2 -> F1 6/9
    assert report.micro_f1 == pytest.approx(6 / 9)
    assert report.macro_f1 == pytest.approx(2 / 3)
    assert overall.total == 9
    assert report.overall.sentiment_accuracy == pytest.approx(6 / 9)  # i % 3 != 0 -> correct
    data = json.loads(report.to_json())
    assert data["languages"]["da"]["confusion"] == {"tp": 2, "fp": 1, "fn": 1, "tn": 1}
    assert data["languages"]["sv"]["errors"] == ["6"]
    text = report.render()
    assert "overall" in text
    assert "macro F1 0.667" in text
    assert "micro F1 0.667" in text


def test_undefined_ratios_are_zero() -> None:
    report = evaluate([Prediction(ex(1, "fi", "not_complaint"), "not_complaint", "negative", 0.1)])
    c = report.languages["fi"].confusion
    assert (c.precision, c.recall, c.f1) == (0.0, 0.0, 0.0)


def test_examples_are_read_and_bad_lines_named(tmp_path: Path) -> None:
    good = {
        "id": "da-1",
        "lang": "da",
        "title": None,
        "text": "Nordtel svarer ikke",
        "brand": "Nordtel",
        "label": "complaint",
        "sentiment": "negative",
        "source": "forum",
        "mentions": [[0, 7]],
    }
    path = tmp_path / "da.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + json.dumps({**good, "id": "da-2"}) + "\n")
    loaded = load_examples([tmp_path])
    assert [e.id for e in loaded] == ["da-1", "da-2"]
    assert loaded[0].mentions == ((0, 7),)
    path.write_text(
        json.dumps(good) + "\n" + json.dumps({**good, "id": "x", "label": "angry"}) + "\n"
    )
    with pytest.raises(DatasetError, match=r"da.jsonl:2: label must be one of"):
        load_examples([path])
    path.write_text("{not json\n")
    with pytest.raises(DatasetError, match=r"da.jsonl:1: "):
        load_examples([path])
    path.write_text(json.dumps(good) + "\n")
    (tmp_path / "sv.jsonl").write_text(json.dumps(good) + "\n")
    with pytest.raises(DatasetError, match="also used in"):
        load_examples([tmp_path])


def test_targets_are_per_language_with_finnish_lower() -> None:
    """F1 0.8 is under the bar in Danish (0.85) but over it in Finnish (0.75)."""
    # per language: tp=2 fp=0 fn=1 -> F1 0.8
    rows = [("complaint", "complaint"), ("complaint", "complaint"), ("complaint", "not_complaint")]
    preds = [
        Prediction(ex(i, lang, truth), said, "negative", 0.5)  # type: ignore[arg-type]
        for lang in ("da", "fi")
        for i, (truth, said) in enumerate(rows)
    ]
    report = evaluate(preds)
    assert report.below_target() == {"da": pytest.approx(0.8)}
    assert report.summary() == "da 0.800, fi 0.800, overall 0.800"
