"""What a storm is about: an incident's posts grouped into themes across languages.

Pure functions, no clock and no database: the caller passes the posts and their sentence
embeddings (the classifier's multilingual encoder, :class:`classifiers.Encoder`), and gets
back themes, each with its most telling words per language, its size and share, its
languages, its first post and its most representative post.

Decisions:

- **k-means with k chosen by silhouette** (cosine distance, numpy only): scale-free, so
  no distance cut tuned to one encoder's similarity range; deterministic (farthest-point
  seeding, no random state), so the same posts always give the same themes.
- **One theme unless the split is clear**: below ``MIN_SILHOUETTE`` the incident is one
  story and is said so, rather than cut into arbitrary halves.
- **Crumbs are not themes**: farthest-point seeding likes stray posts; a cluster under
  ``MIN_THEME_SHARE`` of the posts joins its nearest theme.
- **Labels by class-based TF-IDF per language**: a theme's words are compared with the
  other themes' words in the same language, so the brand name and words every post shares
  score low; the stop-word lists are short and written here (no external service).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from classifiers.base import Encoder
    from monitor.queue.service import QueueRow

__all__ = [
    "STOP_WORDS",
    "Theme",
    "ThemePost",
    "adjusted_rand_index",
    "cluster",
    "find_themes",
    "incident_themes",
    "label_words",
    "theme_posts",
    "themes_for",
    "themes_line",
    "tokens",
]

MAX_THEMES = 8
# Why 0.15: k-means cuts of one shapeless 384-dimensional cloud score below 0.05, storms of
# separate stories above 0.5 (tests/monitor/test_themes.py); one story should not become two halves.
MIN_SILHOUETTE = 0.15
MIN_THEME_SHARE = 0.03  # a cluster under 3 % of the posts joins its nearest theme
SILHOUETTE_SAMPLE = 1000  # silhouette on at most this many posts (an evenly spaced sample)
KMEANS_ROUNDS = 30
# A theme whose first post comes this long after the storm's first post appeared mid-storm
# ("new: refunds, 14 posts since 02:10"): the manager hears of it, not only of the total.
NEW_THEME_AFTER = timedelta(minutes=30)
WORDS_PER_LANGUAGE = 3
UNKNOWN_LANG = "und"

_STOP_TEXT = {
    "da": (
        "og i at det er en den til på med for af ikke har de som jeg vi du der men om så "
        "var et kan mig min mit skal være blev bliver nu også fra eller hvad når hvor her "
        "efter ud op igen ved alle have havde hos jo bare meget noget ingen man sig dem "
        "jer os hvorfor"
    ),
    "sv": (
        "och i att det är en ett som på med för av inte har de jag vi du den men om så "
        "var kan mig min mitt ska vara blev nu också från eller vad när här efter ut upp "
        "igen vid alla hade hos bara mycket något ingen man sig dem oss varför till"
    ),
    "nb": (
        "og i at det er en et som på med for av ikke har de jeg vi du den men om så var "
        "kan meg min mitt skal være ble blir nå også fra eller hva når her etter ut opp "
        "igjen ved alle hadde hos bare mye noe ingen man seg dem oss hvorfor til"
    ),
    "en": (
        "the a an and or of to in on for with is are was were be been it its this that "
        "i we you they he she my our your their me us them not no but if so at by from "
        "as have has had do does did again just all any can will would still why what "
        "when there here"
    ),
    "de": (
        "der die das und oder ein eine einen ist sind war waren zu in im auf für mit von "
        "nicht kein keine aber wenn so an am bei aus ich wir sie er es mein mich mir uns "
        "hat haben hatte noch schon wieder nur auch was warum wie den dem des"
    ),
    "fi": (
        "ja on ei se että ole oli ovat mutta tai kun jos niin kuin myös vielä nyt minä "
        "me te he hän sinä minun meidän mitä miksi taas jo vain tämä tuo kaikki"
    ),
}
STOP_WORDS: dict[str, frozenset[str]] = {
    lang: frozenset(text.split()) for lang, text in _STOP_TEXT.items()
}

_WORD = re.compile(r"[^\W\d_]{2,}")


@dataclass(frozen=True, slots=True)
class ThemePost:
    """One post of an incident, as themes need it."""

    id: str
    text: str
    lang: str | None
    at: datetime


@dataclass(frozen=True)
class Theme:
    """One thing the storm is about."""

    label: str  # the most telling words in its representative post's language
    words: dict[str, list[str]]  # language -> its most telling words there
    size: int
    share: float  # of the incident's posts
    langs: dict[str, int]  # language -> posts, largest first
    first_at: datetime
    representative_id: str  # the post nearest the theme's centre
    representative_text: str
    post_ids: list[str] = field(default_factory=list)
    new: bool = False  # it began NEW_THEME_AFTER or more after the storm's first post

    def summary(self) -> str:
        """``57 about internet outage odense`` (for pages and one-line listings)."""
        return f"{self.size} about {self.label}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "words": self.words,
            "size": self.size,
            "share": round(self.share, 4),
            "langs": self.langs,
            "first_at": self.first_at.isoformat(),
            "representative": {"id": self.representative_id, "text": self.representative_text},
            "post_ids": self.post_ids,
            "new": self.new,
        }


def find_themes(
    posts: Sequence[ThemePost], embeddings: NDArray[np.float32], ignore: Iterable[str] = ()
) -> list[Theme]:
    """The themes of ``posts`` (rows of ``embeddings`` in the same order), largest first;
    ``ignore``: words never used in labels (the brand: every post names it)."""
    if len(posts) != len(embeddings):
        raise ValueError(f"{len(posts)} posts but {len(embeddings)} embeddings")
    if not posts:
        return []
    vectors = _normalised(np.asarray(embeddings, dtype=np.float32))
    labels = cluster(vectors)
    words = label_words(posts, labels, ignore=ignore)
    start = min(p.at for p in posts)
    themes = [
        _theme(posts, vectors, labels, k, words[k], start) for k in range(int(labels.max()) + 1)
    ]
    return sorted(themes, key=lambda t: (-t.size, t.first_at))


def themes_line(themes: Sequence[Theme], limit: int = 3) -> str:
    """The page's one line: ``57 about internet outage odense, new: 22 about double billing``
    (the largest ``limit`` themes; the rest counted)."""
    parts = [("new: " if t.new else "") + t.summary() for t in themes[:limit]]
    rest = sum(t.size for t in themes[limit:])
    return ", ".join(parts + ([f"{rest} more"] if rest else []))


def themes_for(
    posts: Sequence[ThemePost],
    embed: Callable[[Sequence[str]], NDArray[np.float32]],
    ignore: Iterable[str] = (),
) -> list[Theme]:
    """Embed the posts' texts with ``embed`` (an Encoder's ``embed``), then find themes."""
    if not posts:
        return []
    return find_themes(posts, embed([p.text for p in posts]), ignore)


# --- clustering ------------------------------------------------------------------------------


def cluster(vectors: NDArray[np.float32], max_k: int = MAX_THEMES) -> NDArray[np.int64]:
    """A theme number per row: k-means on the rows as unit vectors, k by best silhouette
    (0..k-1, numbered by first appearance); all zeros when no split is clear."""
    vectors = _normalised(np.asarray(vectors, dtype=np.float32))
    n = len(vectors)
    best: tuple[float, NDArray[np.int64]] = (MIN_SILHOUETTE, np.zeros(n, dtype=np.int64))
    sample = _sample(n)
    distances = 1.0 - vectors[sample] @ vectors[sample].T
    smallest = max(2, MIN_THEME_SHARE * n)
    for k in range(2, min(max_k, n - 1) + 1):
        labels = _without_crumbs(vectors, _kmeans(vectors, k), smallest)
        found = int(labels.max()) + 1
        if found < 2:
            continue
        score = _silhouette(distances, labels[sample], found)
        if score > best[0]:
            best = (score, labels)
    return _renumber(best[1])


def _without_crumbs(
    vectors: NDArray[np.float32], labels: NDArray[np.int64], smallest: float
) -> NDArray[np.int64]:
    """Clusters under ``smallest`` posts (a stray post the seeding picked) join the nearest
    real cluster, so they neither count as themes nor stop a larger k from being tried."""
    sizes = np.bincount(labels)
    kept = np.flatnonzero(sizes >= smallest)
    if len(kept) == 0:
        return np.zeros(len(labels), dtype=np.int64)
    centres = _normalised(np.vstack([vectors[labels == c].mean(axis=0) for c in kept]))
    nearest = np.argmax(vectors @ centres.T, axis=1)
    keep = np.isin(labels, kept)
    remap = {int(c): i for i, c in enumerate(kept)}
    fixed = np.array([remap.get(int(v), 0) for v in labels], dtype=np.int64)
    return np.where(keep, fixed, nearest).astype(np.int64)


def _normalised(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def _sample(n: int) -> NDArray[np.int64]:
    return np.linspace(0, n - 1, min(n, SILHOUETTE_SAMPLE)).round().astype(np.int64)


def _kmeans(vectors: NDArray[np.float32], k: int) -> NDArray[np.int64]:
    centres = _seeds(vectors, k)
    labels = np.zeros(len(vectors), dtype=np.int64)
    for round_ in range(KMEANS_ROUNDS):
        new = np.argmax(vectors @ centres.T, axis=1)
        if round_ and np.array_equal(new, labels):
            break
        labels = new
        for c in range(k):
            members = vectors[labels == c]
            if len(members):
                centres[c] = _normalised(members.mean(axis=0, keepdims=True))[0]
    return labels


def _seeds(vectors: NDArray[np.float32], k: int) -> NDArray[np.float32]:
    """Farthest-point seeding from the post nearest the mean: deterministic, spread out."""
    mean = vectors.mean(axis=0)
    chosen = [int(np.argmax(vectors @ mean))]
    nearest = vectors @ vectors[chosen[0]]
    for _ in range(1, k):
        chosen.append(int(np.argmin(nearest)))
        nearest = np.maximum(nearest, vectors @ vectors[chosen[-1]])
    return vectors[chosen].copy()


def _silhouette(distances: NDArray[np.float32], labels: NDArray[np.int64], k: int) -> float:
    onehot = np.eye(k, dtype=np.float32)[labels]
    counts = onehot.sum(axis=0)
    sums = distances @ onehot  # each post's summed distance to each cluster
    own = counts[labels] - 1
    a = sums[np.arange(len(labels)), labels] / np.maximum(own, 1)
    others = np.where(onehot > 0, np.inf, sums / np.maximum(counts, 1))
    b = others.min(axis=1)
    s = np.where(own > 0, (b - a) / np.maximum(np.maximum(a, b), 1e-9), 0.0)
    return float(s.mean())


def _renumber(labels: NDArray[np.int64]) -> NDArray[np.int64]:
    order = {int(v): i for i, v in enumerate(dict.fromkeys(labels.tolist()))}
    return np.array([order[int(v)] for v in labels], dtype=np.int64)


# --- labels ----------------------------------------------------------------------------------


def tokens(text: str, lang: str | None) -> list[str]:
    """Lower-cased words of ``text`` without the language's stop words (or any list's,
    when the language is unknown)."""
    stop = STOP_WORDS.get(lang or "") or frozenset().union(*STOP_WORDS.values())
    return [w for w in _WORD.findall(text.lower()) if w not in stop]


def label_words(
    posts: Sequence[ThemePost],
    labels: NDArray[np.int64],
    top: int = WORDS_PER_LANGUAGE,
    ignore: Iterable[str] = (),
) -> list[dict[str, list[str]]]:
    """Per theme, per language: its ``top`` words by class-based TF-IDF among the themes'
    texts in that language (term share in the theme x log(1 + average words per theme /
    the term's count over all themes))."""
    themes = int(labels.max()) + 1 if len(labels) else 0
    skip = {w for phrase in ignore for w in tokens(phrase, None)}
    counts: dict[str, list[Counter[str]]] = {}
    for post, k in zip(posts, labels.tolist(), strict=True):
        lang = post.lang or UNKNOWN_LANG
        counts.setdefault(lang, [Counter() for _ in range(themes)])[k].update(
            w for w in tokens(post.text, post.lang) if w not in skip
        )
    result: list[dict[str, list[str]]] = [{} for _ in range(themes)]
    for lang, per_theme in counts.items():
        for k, words in enumerate(_ctfidf(per_theme, top)):
            if words:
                result[k][lang] = words
    return result


def _ctfidf(per_theme: list[Counter[str]], top: int) -> list[list[str]]:
    overall: Counter[str] = Counter()
    for c in per_theme:
        overall.update(c)
    present = [c for c in per_theme if c]
    average = sum(overall.values()) / max(len(present), 1)
    ranked = []
    for c in per_theme:
        total = sum(c.values()) or 1
        score = {w: n / total * math.log(1 + average / overall[w]) for w, n in c.items()}
        ranked.append([w for w, _ in sorted(score.items(), key=lambda kv: (-kv[1], kv[0]))][:top])
    return ranked


# --- one theme -------------------------------------------------------------------------------


def _theme(
    posts: Sequence[ThemePost],
    vectors: NDArray[np.float32],
    labels: NDArray[np.int64],
    k: int,
    words: dict[str, list[str]],
    storm_start: datetime,
) -> Theme:
    members = np.flatnonzero(labels == k)
    centre = vectors[members].mean(axis=0)
    nearest = posts[int(members[int(np.argmax(vectors[members] @ centre))])]
    langs = Counter(posts[i].lang or UNKNOWN_LANG for i in members.tolist())
    ordered = dict(sorted(langs.items(), key=lambda kv: (-kv[1], kv[0])))
    first_at = min(posts[i].at for i in members.tolist())
    # The label speaks the representative post's language: the largest language of a theme
    # can be a bloc of another theme's posts pulled in (seen on real e5 embeddings).
    by_rep = [nearest.lang or UNKNOWN_LANG, *ordered]
    main = next((lang for lang in by_rep if words.get(lang)), None)
    return Theme(
        label=" ".join(words[main]) if main else "(no words)",
        words={lang: words[lang] for lang in ordered if lang in words},
        size=len(members),
        share=len(members) / len(posts),
        langs=ordered,
        first_at=first_at,
        representative_id=nearest.id,
        representative_text=nearest.text,
        post_ids=[posts[i].id for i in members.tolist()],
        new=first_at - storm_start >= NEW_THEME_AFTER,
    )


def adjusted_rand_index(truth: Sequence[int], found: Sequence[int]) -> float:
    """Agreement of two partitions, 1 for identical, ~0 for chance (Hubert & Arabie)."""
    _, t = np.unique(np.asarray(truth), return_inverse=True)
    _, f = np.unique(np.asarray(found), return_inverse=True)
    table = np.zeros((t.max() + 1, f.max() + 1), dtype=np.float64)
    np.add.at(table, (t, f), 1)
    pairs = (table * (table - 1) / 2).sum()
    rows = (table.sum(axis=1) * (table.sum(axis=1) - 1) / 2).sum()
    cols = (table.sum(axis=0) * (table.sum(axis=0) - 1) / 2).sum()
    n = len(t)
    expected = rows * cols / (n * (n - 1) / 2) if n > 1 else 0.0
    top = (rows + cols) / 2 - expected
    return 1.0 if top == 0 else float((pairs - expected) / top)


def theme_posts(rows: Iterable[QueueRow]) -> list[ThemePost]:
    """An incident's queue rows as themes read them: the passage the classifier read (the
    title when there is no passage)."""
    return [
        ThemePost(r.post_id, r.passage or r.title or "", r.lang, r.published_at)
        for r in rows
        if (r.passage or r.title)
    ]


def incident_themes(
    rows: Iterable[QueueRow], brand: str, encoder: Callable[[], Encoder]
) -> tuple[list[Theme], str]:
    """An incident's themes, or why there are none (the classifier's one-sentence error, e.g.
    no model): what the CLI and the API show. ``encoder`` is called only when needed."""
    from classifiers.errors import ClassifierError

    posts = theme_posts(rows)
    try:
        return themes_for(posts, encoder().embed if posts else _nothing, [brand]), ""
    except ClassifierError as exc:
        return [], f"themes not available: {exc}"


def _nothing(texts: Sequence[str]) -> NDArray[np.float32]:
    return np.zeros((len(texts), 1), dtype=np.float32)
