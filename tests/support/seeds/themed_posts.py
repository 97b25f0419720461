"""Storms whose posts carry known themes, in mixed languages, and a stand-in encoder.

``storm(n)`` writes ``n`` posts about three themes (an internet outage in Odense, double
billing, a rude agent) in Danish, Swedish, Norwegian, English and German, each post built
from a theme's phrases plus words every theme shares (the brand, "igen", "seriously").
``ConceptEncoder`` implements :class:`classifiers.Encoder` the way a multilingual model
behaves on such posts: words that mean the same thing in any language point the same way
(a small concept dictionary), every other word adds its own fixed direction. It never sees
a post's theme, only its text. Used by tests/monitor/test_themes.py and benchmarks/themes.py.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from monitor.themes import ThemePost, tokens

START = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)

# theme -> language -> phrases (each names the theme's concept in that language)
PHRASES: dict[str, dict[str, list[str]]] = {
    "outage": {
        "da": ["internettet er nede i Odense", "intet internet i Odense", "nedbrud på fiber"],
        "sv": ["internet ligger nere i Odense", "avbrott på internet", "inget internet"],
        "nb": ["internett er nede i Odense", "brudd på internett", "nettet er nede"],
        "en": ["internet outage in Odense", "the internet is down", "fibre outage again"],
        "de": ["Internet Störung in Odense", "kein Internet seit heute", "Störung der Leitung"],
    },
    "billing": {
        "da": ["regningen er trukket to gange", "dobbelt regning", "betalt regningen dobbelt"],
        "sv": ["dubbel faktura", "fakturan drogs två gånger", "betalat fakturan dubbelt"],
        "nb": ["regningen trukket to ganger", "dobbel regning", "betalt regningen dobbelt"],
        "en": ["charged twice on my bill", "double billing", "the invoice was charged twice"],
        "de": ["doppelte Rechnung", "Rechnung zweimal abgebucht", "doppelt bezahlt"],
    },
    "agent": {
        "da": ["kundeservice var uhøflig", "medarbejderen lagde på", "uhøflig medarbejder"],
        "sv": ["otrevlig kundtjänst", "handläggaren lade på", "otrevlig personal"],
        "nb": ["kundeservice var frekk", "frekk medarbeider", "medarbeideren la på"],
        "en": ["rude support agent", "the agent hung up on me", "rude customer service"],
        "de": ["unfreundlicher Kundenservice", "Mitarbeiter hat aufgelegt", "sehr unfreundlich"],
    },
}
SHARED = ["Nordtel", "igen", "seriously", "wtf", "nu", "heute", "#fail", "kunde", "tredje gang"]
LANGS = ("da", "sv", "nb", "en", "de")

# The words that mean each theme, in every language: the encoder's "knowledge" and the
# words a theme's label must contain one of.
_CONCEPT_TEXT = {
    "outage": (
        "internettet internet internett odense nede nere down nedbrud avbrott brudd outage "
        "störung fiber fibre nettet leitung"
    ),
    "billing": (
        "regningen regning faktura fakturan dubbel dobbelt dobbel double twice bill billing "
        "invoice charged rechnung doppelte doppelt abgebucht zweimal gange ganger gånger "
        "betalt betalat bezahlt"
    ),
    "agent": (
        "kundeservice uhøflig medarbejderen medarbejder otrevlig kundtjänst handläggaren "
        "personal frekk medarbeider medarbeideren rude agent hung unfreundlicher "
        "unfreundlich kundenservice mitarbeiter aufgelegt lagde lade la"
    ),
}
CONCEPTS = {name: frozenset(text.split()) for name, text in _CONCEPT_TEXT.items()}
THEMES = tuple(PHRASES)


@dataclass(frozen=True)
class Storm:
    posts: list[ThemePost]
    truth: list[int]  # each post's theme (index into THEMES)


def storm(n: int, weights: Sequence[float] = (0.55, 0.3, 0.15), seed: int = 7) -> Storm:
    """``n`` posts, themes drawn with ``weights``, languages mixed, a post a minute or so."""
    rng = np.random.default_rng(seed)
    posts, truth = [], []
    for i in range(n):
        k = int(rng.choice(len(THEMES), p=np.asarray(weights) / sum(weights)))
        lang = LANGS[int(rng.integers(len(LANGS)))]
        phrase = PHRASES[THEMES[k]][lang][int(rng.integers(3))]
        extra = [SHARED[int(j)] for j in rng.choice(len(SHARED), size=2, replace=False)]
        text = f"{extra[0]}: {phrase} {extra[1]}"
        at = START + timedelta(minutes=i + k * 45)  # later themes start later
        posts.append(ThemePost(f"p{i}", text, lang, at))
        truth.append(k)
    return Storm(posts, truth)


class ConceptEncoder:
    """A deterministic stand-in for the multilingual encoder (see the module docstring)."""

    encoder_id = "concept-stand-in"
    dim = 48

    def __init__(
        self, concept_weight: float = 1.0, word_weight: float = 0.35, dim: int = 48
    ) -> None:
        self.dim = dim
        self.concept_weight = concept_weight
        self.word_weight = word_weight
        self.calls = 0
        self._concepts = {name: _direction(f"concept:{name}", self.dim) for name in CONCEPTS}

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.calls += 1
        rows = [self._one(t) for t in texts]
        return np.vstack(rows).astype(np.float32) if rows else np.zeros((0, self.dim), np.float32)

    def _one(self, text: str) -> NDArray[np.float32]:
        vector = np.zeros(self.dim, dtype=np.float32)
        for word in tokens(text, None):
            vector += self.word_weight * _direction(word, self.dim)
            for name, words in CONCEPTS.items():
                if word in words:
                    vector += self.concept_weight * self._concepts[name]
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector


def _direction(key: str, dim: int) -> NDArray[np.float32]:
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    v = rng.standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)
