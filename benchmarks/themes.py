"""Storm themes for a 2,000-post incident: the time to group and label, and (``--real N``)
what the real e5 encoder makes of the same kind of posts.

- ``themes``: ``monitor.themes.find_themes`` on a storm of three known themes in five
  languages (tests/support/seeds/themed_posts.py), embeddings from the deterministic
  stand-in encoder at e5-small's dimension (384) computed beforehand: the clustering and
  labelling alone, median of ``--repeat`` runs, with the adjusted Rand index against the
  known themes.
- ``--real N``: the first N posts of the storm embedded by the configured e5 encoder
  (the classifier's model; its load is not counted), then themes on those embeddings:
  posts/s of the encoder and the ARI on real embeddings.

Usage: python benchmarks/themes.py [--posts 2000] [--repeat 5] [--real 0]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.themes import Theme, ThemePost, adjusted_rand_index, find_themes
from tests.support.seeds.themed_posts import ConceptEncoder, storm


def agreement(posts: list[ThemePost], truth: list[int], themes: list[Theme]) -> float:
    where = {pid: k for k, t in enumerate(themes) for pid in t.post_ids}
    return adjusted_rand_index(truth, [where[p.id] for p in posts])


def outcome(posts: list[ThemePost], truth: list[int], themes: list[Theme]) -> str:
    found = "; ".join(t.summary() for t in themes)
    return f"  ARI {agreement(posts, truth, themes):.3f}; {found}"


def synthetic(n: int, repeat: int) -> None:
    s = storm(n)
    vectors = ConceptEncoder(word_weight=0.5, dim=384).embed([p.text for p in s.posts])
    times, themes = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        themes = find_themes(s.posts, vectors, ignore=["Nordtel"])
        times.append(time.perf_counter() - start)
    print(f"themes, {n} posts, stand-in embeddings (384 dims), embedding excluded:")
    print(f"  median {statistics.median(times):.3f} s, max {max(times):.3f} s over {repeat} runs")
    print(
        f"  ARI {agreement(s.posts, s.truth, themes):.3f}; "
        + "; ".join(t.summary() for t in themes)
    )


def real(n: int) -> None:
    from classifiers.e5.backend import encoder_from_settings
    from monitor.settings import load_settings

    s = storm(n)
    encoder = encoder_from_settings(load_settings(None).classifier)
    encoder.embed(["warm up"])
    start = time.perf_counter()
    vectors = encoder.embed([p.text for p in s.posts])
    embed_s = time.perf_counter() - start
    start = time.perf_counter()
    themes = find_themes(s.posts, vectors, ignore=["Nordtel"])
    themes_s = time.perf_counter() - start
    print(f"real e5 ({encoder.encoder_id}), {n} posts:")
    print(f"  embedding {embed_s:.1f} s ({n / embed_s:.1f} posts/s), themes {themes_s:.3f} s")
    print(
        f"  ARI {agreement(s.posts, s.truth, themes):.3f}; "
        + "; ".join(t.summary() for t in themes)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--real", type=int, default=0, help="Also embed N posts with e5.")
    args = parser.parse_args()
    synthetic(args.posts, args.repeat)
    if args.real:
        real(args.real)


if __name__ == "__main__":
    main()
