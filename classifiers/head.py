"""The small trained head on top of the sentence embeddings.

Two multinomial logistic regressions sharing one standardisation of the embedding:
*sentiment* (negative / neutral / positive) and *complaint* (not_complaint / complaint).

Decisions:

- **Logistic regression, in numpy**: quality comes from the labelled examples, not the head
  (docs/ARCHITECTURE.md, "The model"); a linear model on a few hundred examples trains in
  moments, is deterministic, needs no torch at predict time and is easy to inspect.
- **Newton's method on the full Hessian**: with 384 features and 2-3 classes the Hessian
  is ~1,155 square, so each step is one small linear solve and training converges in a
  dozen steps to the exact optimum — no learning rate to tune, same head on every machine.
- **Standardised features, L2 on weights (not biases), class weights** ``n / (k * count)``:
  e5 embeddings are L2-normalised and crowded, so without standardisation one penalty
  cannot suit every direction; class weights keep the rarer label from being ignored.
- **An optional extra weight on complaints** (``complaint_weight``, default 1.0 = plain
  balanced weights): missing a complaint costs a team more than reading one extra post, and
  5-fold cross-validation on the train set showed the balanced head under-calls complaints
  (its F1-best threshold was below 0.5); weighting complaints moves the decision
  boundary inside the head, so the configured threshold keeps its meaning.
- **A small versioned file** (``.npz``, no pickle): arrays plus one JSON ``meta`` string with
  ``format_version``, the ``encoder`` id and embedding ``dim`` it was made for, label names,
  trained-on counts and ``created_at`` (passed in: time is a parameter). Loading a head of
  an unknown version, another encoder or dimension is a :class:`~classifiers.errors.HeadError`.
- **Version 3 adds per-language calibration** (``calibration`` meta: language -> ``[a, b]``,
  ``"*"`` for any other language): the complaint logit ``l`` becomes ``a * l + b`` (Platt
  scaling) before the sigmoid, applied at load time by :meth:`Head.predict`, so the
  probabilities the detectors add up mean the same in every language. A head without
  calibration is written as version 1 or 2 as before.
- **Version 2 adds the encoder's fine-tuning** (an optional :class:`~classifiers.adapter.Adapter`:
  ``lora.A.*`` / ``lora.B.*`` arrays and ``adapter`` meta). A head without one is still
  written as version 1, so an older Stormwatch keeps reading frozen-encoder heads; both
  versions are read.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from classifiers.adapter import Adapter
from classifiers.base import SENTIMENTS
from classifiers.errors import HeadError

__all__ = [
    "COMPLAINT_LABELS",
    "FORMAT_VERSION",
    "Head",
    "balanced_weights",
    "complaint_weights",
    "default_head_path",
    "fit_head",
    "fit_softmax",
    "load_head",
    "softmax",
]

FORMAT_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
ANY_LANGUAGE = "*"
COMPLAINT_LABELS = ("not_complaint", "complaint")
DEFAULT_HEAD = "e5-small-v1.npz"
Matrix = NDArray[np.float64]


def default_head_path() -> Path:
    """The head packaged with Stormwatch for the built-in e5 encoder."""
    return Path(str(resources.files("classifiers") / "heads" / DEFAULT_HEAD))


@dataclass(frozen=True)
class Head:
    """Standardisation plus two linear layers; see :meth:`predict`."""

    encoder: str
    dim: int
    mean: Matrix
    scale: Matrix
    sentiment_w: Matrix
    sentiment_b: Matrix
    complaint_w: Matrix
    complaint_b: Matrix
    counts: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    l2: float = 0.0
    adapter: Adapter | None = None
    calibration: dict[str, tuple[float, float]] = field(default_factory=dict)

    def predict(
        self, embeddings: NDArray[np.floating[Any]], langs: Sequence[str | None] | None = None
    ) -> tuple[Matrix, Matrix]:
        """Sentiment probabilities ``(n, 3)`` and complaint probabilities ``(n,)``, the
        complaint probability calibrated for each row's language (``langs``; unknown or
        missing languages take the ``"*"`` calibration)."""
        if embeddings.ndim != 2 or embeddings.shape[1] != self.dim:
            raise HeadError(
                f"The head expects embeddings of dimension {self.dim}, got shape "
                f"{tuple(embeddings.shape)}; train a head for this encoder "
                "(stormwatch classifier train)."
            )
        z = (embeddings.astype(np.float64) - self.mean) / self.scale
        sentiment = softmax(z @ self.sentiment_w + self.sentiment_b)
        logits = z @ self.complaint_w + self.complaint_b
        return sentiment, self.calibrate(logits[:, 1] - logits[:, 0], langs)

    def calibrate(self, logit: Matrix, langs: Sequence[str | None] | None = None) -> Matrix:
        """Complaint probabilities from raw complaint logits (Platt per language)."""
        if self.calibration:
            rows = langs if langs is not None else [None] * len(logit)
            ab = np.array([self._platt(lang) for lang in rows]).reshape(-1, 2)
            logit = ab[:, 0] * logit + ab[:, 1]
        out: Matrix = 1.0 / (1.0 + np.exp(-np.clip(logit, -500.0, 500.0)))
        return out

    def _platt(self, lang: str | None) -> tuple[float, float]:
        if lang in self.calibration:
            return self.calibration[lang]
        return self.calibration.get(ANY_LANGUAGE, (1.0, 0.0))

    def version(self) -> int:
        """The oldest format that can hold this head (older readers keep working)."""
        if self.calibration:
            return 3
        return 2 if self.adapter is not None else 1

    def save(self, path: Path) -> None:
        """Write the head atomically (temporary file, then rename)."""
        meta: dict[str, Any] = {
            "format_version": self.version(),
            "encoder": self.encoder,
            "dim": self.dim,
            "sentiment_labels": list(SENTIMENTS),
            "complaint_labels": list(COMPLAINT_LABELS),
            "counts": self.counts,
            "created_at": self.created_at,
            "l2": self.l2,
        }
        if self.calibration:
            meta["calibration"] = {k: list(v) for k, v in sorted(self.calibration.items())}
        if self.adapter is not None:
            a = self.adapter
            meta["adapter"] = {"rank": a.rank, "alpha": a.alpha, **a.info}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            arrays: dict[str, Any] = {"meta": np.array(json.dumps(meta)), **self._arrays()}
            np.savez_compressed(fh, **arrays)
        os.replace(tmp, path)

    def _arrays(self) -> dict[str, Any]:
        adapter = self.adapter.arrays() if self.adapter is not None else {}
        return {
            **adapter,
            "mean": self.mean,
            "scale": self.scale,
            "sentiment_w": self.sentiment_w,
            "sentiment_b": self.sentiment_b,
            "complaint_w": self.complaint_w,
            "complaint_b": self.complaint_b,
        }


def load_head(path: Path, *, encoder: str | None = None, dim: int | None = None) -> Head:
    """Read a head file; refuse one of another format, encoder or dimension."""
    arrays, meta = _read(path)
    if meta.get("format_version") not in READABLE_VERSIONS:
        raise HeadError(
            f"The head {path} has format version {meta.get('format_version')!r}, this "
            f"Stormwatch reads versions {', '.join(map(str, READABLE_VERSIONS))}; retrain it "
            "(stormwatch classifier train)."
        )
    if encoder is not None and meta.get("encoder") != encoder:
        raise HeadError(
            f"The head {path} was trained for encoder {meta.get('encoder')!r}, not {encoder!r}; "
            "train a head for this encoder (stormwatch classifier train) or set [classifier] head."
        )
    if dim is not None and meta.get("dim") != dim:
        raise HeadError(
            f"The head {path} expects {meta.get('dim')}-dimensional embeddings, the encoder "
            f"gives {dim}; train a head for this encoder (stormwatch classifier train)."
        )
    return _build(path, arrays, meta)


def _read(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        with np.load(path, allow_pickle=False) as data:
            # the head's own arrays in float64 (it computes in float64), an adapter's in float32
            arrays = {
                k: np.asarray(data[k], dtype=np.float32 if k.startswith("lora.") else np.float64)
                for k in data.files
                if k != "meta"
            }
            meta = json.loads(str(data["meta"]))
    except FileNotFoundError:
        raise HeadError(
            f"No trained head at {path}; run `stormwatch classifier train` or set "
            "[classifier] head to an existing file."
        ) from None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise HeadError(
            f"The head {path} is damaged or not a head file ({exc.__class__.__name__}); "
            "retrain it with `stormwatch classifier train`."
        ) from None
    if not isinstance(meta, dict):
        raise HeadError(f"The head {path} has no metadata; retrain it.")
    return arrays, meta


def _build(path: Path, arrays: dict[str, Any], meta: dict[str, Any]) -> Head:
    lora = {k: arrays.pop(k) for k in [k for k in arrays if k.startswith("lora.")]}
    try:
        head = Head(
            encoder=str(meta["encoder"]),
            dim=int(meta["dim"]),
            counts=dict(meta.get("counts") or {}),
            created_at=str(meta.get("created_at", "")),
            l2=float(meta.get("l2", 0.0)),
            adapter=_adapter(path, meta, lora),
            calibration=_calibration(meta.get("calibration")),
            **arrays,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise HeadError(f"The head {path} is incomplete ({exc}); retrain it.") from None
    if head.sentiment_w.shape != (head.dim, 3) or head.complaint_w.shape != (head.dim, 2):
        raise HeadError(f"The head {path} has weights of the wrong shape; retrain it.")
    return head


def _calibration(value: Any) -> dict[str, tuple[float, float]]:
    if value is None:
        return {}
    return {str(k): (float(v[0]), float(v[1])) for k, v in dict(value).items()}


def _adapter(path: Path, meta: dict[str, Any], lora: dict[str, Any]) -> Adapter | None:
    info = meta.get("adapter")
    if info is None and not lora:
        return None
    if not isinstance(info, dict) or not lora or meta.get("format_version") not in (2, 3):
        raise HeadError(f"The head {path} has a damaged adapter; retrain it.")
    rest = {k: v for k, v in info.items() if k not in ("rank", "alpha")}
    return Adapter.from_arrays(int(info["rank"]), float(info["alpha"]), lora, rest)


def softmax(logits: Matrix) -> Matrix:
    """Row-wise softmax, stable for large logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    out: Matrix = exp / exp.sum(axis=1, keepdims=True)
    return out


def complaint_weights(y: NDArray[np.int_], complaint_weight: float) -> Matrix:
    """Balanced weights for complaint-vs-not, complaints (label 1) times ``complaint_weight``."""
    out: Matrix = balanced_weights(y, 2) * np.where(y == 1, complaint_weight, 1.0)
    return out


def balanced_weights(y: NDArray[np.int_], k: int) -> Matrix:
    """Per-example weights ``n / (k_present * count[class])`` (absent classes ignored)."""
    counts = np.bincount(y, minlength=k).astype(np.float64)
    present = int((counts > 0).sum())
    per_class = np.divide(len(y), present * counts, out=np.zeros(k), where=counts > 0)
    out: Matrix = per_class[y]
    return out


def fit_softmax(
    x: Matrix,
    y: NDArray[np.int_],
    k: int,
    *,
    sample_weight: Matrix | None = None,
    l2: float = 0.01,
    max_iter: int = 50,
) -> tuple[Matrix, Matrix]:
    """Weighted, L2-regularised multinomial logistic regression by Newton's method.

    Minimises ``sum_i w_i * -log p(y_i | x_i) / sum_i w_i + l2/2 * ||W||^2`` (biases free).
    Returns ``(W, b)`` with ``W`` of shape ``(d, k)``.
    """
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    w = np.ones(n) if sample_weight is None else sample_weight
    w = w / w.sum()
    onehot = np.eye(k)[y]
    reg = np.full(d + 1, l2)
    reg[-1] = 1e-8  # biases are free; a tiny ridge keeps the Newton system solvable
    theta = np.zeros((d + 1, k))
    loss = _loss(xb, onehot, w, theta, reg)
    for _ in range(max_iter):
        probs = softmax(xb @ theta)
        grad = xb.T @ (w[:, None] * (probs - onehot)) + reg[:, None] * theta
        if np.abs(grad).max() < 1e-7:
            break
        step = _newton_step(xb, w, probs, reg, grad)
        theta, loss = _line_search(xb, onehot, w, theta, reg, step, loss)
    return theta[:-1], theta[-1]


def _loss(xb: Matrix, onehot: Matrix, w: Matrix, theta: Matrix, reg: Matrix) -> float:
    logits = xb @ theta
    logz = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
    nll = float(w @ (logz - (logits * onehot).sum(1)))
    return nll + 0.5 * float((reg[:, None] * theta**2).sum())


def _newton_step(xb: Matrix, w: Matrix, probs: Matrix, reg: Matrix, grad: Matrix) -> Matrix:
    _, p = xb.shape
    k = probs.shape[1]
    hess = np.zeros((p * k, p * k))
    for a in range(k):
        for b in range(a, k):
            coef = w * probs[:, a] * ((a == b) - probs[:, b])
            block = (xb * coef[:, None]).T @ xb
            hess[a * p : (a + 1) * p, b * p : (b + 1) * p] = block
            hess[b * p : (b + 1) * p, a * p : (a + 1) * p] = block.T
    hess[np.diag_indices_from(hess)] += np.tile(reg, k)
    flat = grad.T.reshape(-1)
    try:
        delta: Matrix = np.asarray(np.linalg.solve(hess, flat), dtype=np.float64)
    except np.linalg.LinAlgError:
        delta = np.asarray(np.linalg.lstsq(hess, flat, rcond=None)[0], dtype=np.float64)
    out: Matrix = delta.reshape(k, p).T
    return out


def _line_search(
    xb: Matrix, onehot: Matrix, w: Matrix, theta: Matrix, reg: Matrix, step: Matrix, loss: float
) -> tuple[Matrix, float]:
    t = 1.0
    for _ in range(30):
        candidate = theta - t * step
        new_loss = _loss(xb, onehot, w, candidate, reg)
        if new_loss <= loss:
            return candidate, new_loss
        t /= 2
    return theta, loss


def _weighted(balanced: Matrix, rows: Matrix | None) -> Matrix:
    return balanced if rows is None else balanced * rows


def fit_head(
    sentiment_x: NDArray[np.floating[Any]],
    sentiment_y: NDArray[np.int_],
    complaint_x: NDArray[np.floating[Any]],
    complaint_y: NDArray[np.int_],
    *,
    encoder: str,
    l2: float,
    created_at: str,
    counts: dict[str, Any] | None = None,
    complaint_weight: float = 1.0,
    sentiment_rows: Matrix | None = None,
    complaint_rows: Matrix | None = None,
) -> Head:
    """Fit both outputs (each on its own rows) after one shared standardisation.

    ``complaint_weight`` multiplies the balanced weight of every complaint row (1.0: none);
    ``sentiment_rows`` / ``complaint_rows`` multiply each row's weight (how much its source
    counts, see :mod:`classifiers.train`); none means every row counts the same.
    """
    both: Matrix = np.vstack([sentiment_x, complaint_x]).astype(np.float64)
    mean = both.mean(axis=0)
    scale = both.std(axis=0) + 1e-6
    zs = (sentiment_x.astype(np.float64) - mean) / scale
    zc = (complaint_x.astype(np.float64) - mean) / scale
    s_weight = _weighted(balanced_weights(sentiment_y, 3), sentiment_rows)
    sw, sb = fit_softmax(zs, sentiment_y, 3, sample_weight=s_weight, l2=l2)
    c_weight = _weighted(complaint_weights(complaint_y, complaint_weight), complaint_rows)
    cw, cb = fit_softmax(zc, complaint_y, 2, sample_weight=c_weight, l2=l2)
    return Head(
        encoder=encoder,
        dim=both.shape[1],
        mean=mean,
        scale=scale,
        sentiment_w=sw,
        sentiment_b=sb,
        complaint_w=cw,
        complaint_b=cb,
        counts=counts or {},
        created_at=created_at,
        l2=l2,
    )
