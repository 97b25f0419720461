"""The trained head: fitting, save/load round trip, refusing the wrong file; the settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from classifiers import ClassifierSettings, HeadError, load_head
from classifiers.head import Head, fit_head, fit_softmax, softmax


def make_head(dim: int = 8, encoder: str = "enc") -> object:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, dim))
    complaint = (x[:, 0] > 0).astype(int)
    sentiment = np.digitize(x[:, 1], [-0.5, 0.5])
    return fit_head(
        x, sentiment, x, complaint, encoder=encoder, l2=0.1, created_at="2026-11-02T09:00:00+00:00"
    )


def test_newton_fit_separates_and_weights_balance_classes() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 5))
    y = (x[:, 0] + 0.1 * rng.normal(size=200) > 1.0).astype(int)  # ~16% positives
    w, b = fit_softmax(x, y, 2, l2=0.01)
    predicted = softmax(x @ w + b).argmax(1)
    assert (predicted == y).mean() > 0.95


def test_head_round_trips_and_records_what_it_was_made_for(tmp_path: Path) -> None:
    head = make_head()
    head.save(tmp_path / "h.npz")  # type: ignore[attr-defined]
    loaded = load_head(tmp_path / "h.npz", encoder="enc", dim=8)
    x = np.random.default_rng(2).normal(size=(4, 8))
    s1, c1 = head.predict(x)  # type: ignore[attr-defined]
    s2, c2 = loaded.predict(x)
    assert np.allclose(s1, s2)
    assert np.allclose(c1, c2)
    assert np.allclose(s2.sum(1), 1)
    assert ((c2 >= 0) & (c2 <= 1)).all()
    assert loaded.created_at == "2026-11-02T09:00:00+00:00"
    assert loaded.l2 == 0.1


def test_wrong_head_files_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "h.npz"
    make_head().save(path)  # type: ignore[attr-defined]
    with pytest.raises(HeadError, match="trained for encoder 'enc', not 'other'"):
        load_head(path, encoder="other")
    with pytest.raises(HeadError, match="expects 8-dimensional embeddings, the encoder gives 384"):
        load_head(path, dim=384)
    with pytest.raises(HeadError, match=r"No trained head at .*stormwatch classifier train"):
        load_head(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(HeadError, match="damaged or not a head file"):
        load_head(tmp_path / "bad.npz")
    data = dict(np.load(path))
    data["meta"] = np.array(
        str(data["meta"]).replace('"format_version": 1', '"format_version": 99')
    )
    np.savez(tmp_path / "v99.npz", **data)
    with pytest.raises(HeadError, match="format version 99"):
        load_head(tmp_path / "v99.npz")
    with pytest.raises(HeadError, match="dimension 8"):
        load_head(path).predict(np.zeros((1, 3)))


def test_settings_are_strict_documented_and_expand_home() -> None:
    s = ClassifierSettings()
    assert (s.backend, s.threads, s.max_tokens, s.batch_size, s.complaint_threshold) == (
        "e5",
        2,
        128,
        16,
        0.5,
    )
    assert "~" not in str(s.cache_path())
    assert s.head_path().name == "e5-small-v1.npz"
    for name, field in ClassifierSettings.model_fields.items():
        assert field.description, f"[classifier] {name} is undocumented"
    with pytest.raises(ValidationError):
        ClassifierSettings(backend="nope")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        ClassifierSettings.model_validate({"thread": 2})
    with pytest.raises(ValidationError, match="allowed targets"):
        ClassifierSettings.model_validate({"pipeline": {"model": "m", "labels": {"NEG": "angry"}}})


def test_complaint_weight_moves_the_boundary_towards_complaints() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(120, 6))
    complaint = (x[:, 0] + 0.8 * rng.normal(size=120) > 0).astype(int)
    sentiment = np.digitize(x[:, 1], [-0.5, 0.5])

    def fit(weight: float) -> Head:
        return fit_head(
            x,
            sentiment,
            x,
            complaint,
            encoder="enc",
            l2=0.1,
            created_at="t",
            complaint_weight=weight,
        )

    plain, same, heavier = (
        fit_head(x, sentiment, x, complaint, encoder="enc", l2=0.1, created_at="t"),
        fit(1.0),
        fit(2.0),
    )
    probe = rng.normal(size=(200, 6))
    assert np.allclose(plain.predict(probe)[1], same.predict(probe)[1])
    assert (heavier.predict(probe)[1] >= 0.5).sum() > (plain.predict(probe)[1] >= 0.5).sum()
    assert np.allclose(plain.predict(probe)[0], heavier.predict(probe)[0])  # sentiment untouched
