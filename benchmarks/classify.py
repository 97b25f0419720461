"""Classifier throughput: posts/s and peak RSS, Stormwatch's reading vs a bare forward pass.

Usage: .venv/bin/python benchmarks/classify.py [--cache-dir DIR] [--quick]

For short posts (~30 tokens), forum posts (~130) and long blog posts (~1,000 tokens), in
fp32 and dynamic int8, batches of 8 and 16, it prints posts/s of

- ``ours``: the e5 backend end to end (passages, tokenise, encode, pool, head), fresh cache;
- ``bare``: the same texts through a bare transformers forward pass of the same model
  (tokenise + ``model(**batch)``, no pooling, no head) — the overhead ratio is bare/ours
  time;
- for long posts ``ours`` reads the mention windows (the daemon's way) and ``whole`` is the
  bare forward of the whole post truncated to 512 tokens — the saving is the ratio.

Every text is unique, so the embedding cache never hides work. A full run takes ~2 minutes
on 2 cores. Peak RSS is the process maximum (``ru_maxrss``) after each precision.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Run as a script, this folder comes first on sys.path, where alerts.py would shadow the
# alerts package: put the repository root ahead of it (tests/test_layout.py checks).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from classifiers import ClassifierSettings, read_posts
from classifiers.cache import EmbeddingCache
from classifiers.e5.backend import QUERY_PREFIX, E5Classifier, E5Encoder
from classifiers.e5.locate import resolve_model
from classifiers.head import default_head_path, fit_head, load_head

SENTENCES = [
    "Jeg har ringet til kundeservice fire gange i denne uge",
    "Ventetiden var over en time hver gang og ingen ringede tilbage",
    "Vi flyttede i sidste måned og har stadig ikke fået internet",
    "Teknikeren kom aldrig selvom vi tog fri fra arbejde",
    "Regningen var dobbelt så høj som aftalt i kontrakten",
    "Jag har väntat i tre veckor på att paketet ska komma fram",
    "Butiken i centrum var trevlig och personalen hjälpsam",
    "Vejret i weekenden var fantastisk og vi var ude hele dagen",
    "Min nabo anbefalede en anden udbyder, men vi blev hængende",
    "Appen virker ikke længere efter den seneste opdatering",
]
BRAND = "Nordtel"


def text_of(tokens: int, rng: random.Random, mention_every: int = 0) -> str:
    """About ``tokens`` tokens of sentences (~12 tokens each), optionally mentioning the brand."""
    out = []
    for i in range(max(1, tokens // 12)):
        sentence = rng.choice(SENTENCES)
        if mention_every and i % mention_every == mention_every // 2:
            sentence = f"{BRAND} svarer ikke: {sentence.lower()}"
        out.append(f"{sentence} ({rng.randrange(10**6)}).")
    return " ".join(out)


def posts_per_second(run: Callable[[list[str]], object], texts: list[str]) -> float:
    start = time.perf_counter()
    run(texts)
    return len(texts) / (time.perf_counter() - start)


def bare_forward(encoder: E5Encoder, max_length: int) -> Callable[[list[str]], object]:
    import torch

    tokenizer, model = encoder.load()

    def run(texts: list[str]) -> None:
        for i in range(0, len(texts), encoder.batch_size):
            batch = tokenizer(
                [QUERY_PREFIX + t for t in texts[i : i + encoder.batch_size]],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            with torch.inference_mode():
                model(**batch)

    return run


def ours(settings: ClassifierSettings, encoder: E5Encoder) -> Callable[[list[str]], object]:
    head = _head(encoder)

    def run(texts: list[str]) -> None:
        clf = E5Classifier(settings, encoder=encoder, head=head, cache=EmbeddingCache())
        posts = [(None, t, [(m.start(), m.end()) for m in _mentions(t)]) for t in texts]
        read_posts(clf, posts, window=settings.window_sentences)

    return run


def _mentions(text: str) -> list:  # type: ignore[type-arg]
    import re

    return list(re.finditer(BRAND, text))


def _head(encoder: E5Encoder):  # type: ignore[no-untyped-def]
    path = default_head_path()
    if path.exists():
        return load_head(path)
    import numpy as np  # no trained head yet: a random one costs the same

    x = np.random.default_rng(0).normal(size=(30, encoder.dim))
    y = np.arange(30) % 2
    return fit_head(x, np.arange(30) % 3, x, y, encoder=encoder.encoder_id, l2=1.0, created_at="")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", default="~/.cache/stormwatch/models")
    parser.add_argument("--quick", action="store_true", help="fewer posts per case")
    args = parser.parse_args()
    rng = random.Random(0)
    scale = 1 if args.quick else 2
    cases = {
        "short ~30 tok": ([text_of(30, rng) for _ in range(48 * scale)], 64),
        "forum ~130 tok": ([text_of(130, rng) for _ in range(16 * scale)], 160),
        "blog ~1000 tok": ([text_of(1000, rng, mention_every=40) for _ in range(6 * scale)], 512),
    }
    # the packaged head's fine-tuning, merged at load as in production (both columns use it)
    adapter = load_head(default_head_path()).adapter if default_head_path().exists() else None
    print(f"{'case':<16}{'prec':>6}{'batch':>6}{'ours/s':>9}{'bare/s':>9}{'overhead':>10}")
    for int8 in (False, True):
        settings = ClassifierSettings(cache_dir=args.cache_dir, int8=int8, max_tokens=128)
        source = resolve_model(settings)
        for batch in (8, 16):
            encoder = E5Encoder(
                source, threads=2, int8=int8, max_tokens=160, batch_size=batch, adapter=adapter
            )
            encoder.embed(["warm-up: load the model before timing"])
            for name, (texts, bare_len) in cases.items():
                ours_rate = posts_per_second(ours(settings, encoder), texts)
                bare_rate = posts_per_second(bare_forward(encoder, bare_len), texts)
                label = "whole" if bare_len == 512 else "bare"
                print(
                    f"{name:<16}{'int8' if int8 else 'fp32':>6}{batch:>6}{ours_rate:>9.1f}"
                    f"{bare_rate:>9.1f}{bare_rate / ours_rate:>9.2f}x"
                    + (f"  (bare = {label} post, 512 tok)" if label == "whole" else "")
                )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS after {'int8' if int8 else 'fp32'}: {peak:.0f} MB")


if __name__ == "__main__":
    main()
