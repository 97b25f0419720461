"""Which language a post is written in, or None when we cannot tell.

lingua-language-detector, restricted to the configured languages (a smaller model set is
both faster to load and more accurate than all 75 languages). Decisions:

- Danish vs Norwegian: lingua's two Norwegian models together outweigh Danish on short
  texts, so when the spelling-distinct marker words of one side appear (``uger``/``uker``,
  ``uden``/``uten``, ``nu``/``nå``, ...) and none of the other's, that side gets the
  Danish+Norwegian mass. Mixed or absent markers leave lingua's call (and the prior) alone.
- Codes are ISO 639-1. "no", "nb" and "nn" all mean Norwegian: lingua's Bokmål and Nynorsk
  models are both loaded and their confidences summed, and the result is reported as "nb"
  (the code the classifier and the queue use for Norwegian).
- The source's declared language (``prior``, e.g. a feed's ``<language>da-DK</language>``;
  region subtags are ignored) multiplies that language's confidence by ``prior_weight``
  before the confidences are renormalised. With the default 2.0 it tips a close call (short
  Danish vs Norwegian) but cannot overturn a clear one: a language needs more than half the
  confidence of the leader to be lifted past it. A prior outside the configured languages
  is ignored.
- Null rather than wrong: None when the cleaned text has fewer than `MIN_LETTERS` letters
  (a URL, an emoji, "ok") or when the top confidence after the prior is below
  ``min_confidence``.
- Before detection, HTML entities are decoded (so ``p&aring;`` reads "på" rather than losing
  the letter), then URLs, e-mail addresses, @handles and #hashtags are removed: they are
  names, not language, and brand names would otherwise pull towards one language.
- Two lingua detectors: the low-accuracy mode (trigrams only, several times faster) and
  the full models. Every text goes through the trigram pass first; from ``LONG_TEXT``
  characters its answer stands (as accurate as the full models there), and a shorter text
  goes on to the full models only when the trigram pass is not near-certain (top confidence
  below ``TRIGRAMS_SURE``): on the labelled posts of classifiers/data the cascade is as
  right as the full models on every short text, at a fraction of the time (figures:
  benchmarks/RESULTS.md, "Language identification").
- lingua is built on first use (seconds and a few hundred MB for six languages) with
  its models preloaded, under a lock, so concurrent first calls build it once. `load()`
  does it eagerly, e.g. at daemon start.
- Batches are detected one text after another, not through lingua's ``*_in_parallel``
  API: the crawl detects in a worker process while the other core fetches and stores, and
  the parallel API's thread pool only added CPU there.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterable, Sequence
from typing import ClassVar

from lingua import ConfidenceValue, IsoCode639_1, Language, LanguageDetectorBuilder
from lingua import LanguageDetector as _Lingua

__all__ = ["LONG_TEXT", "MIN_LETTERS", "TRIGRAMS_SURE", "LanguageDetector"]

MIN_LETTERS = 3  # fewer letters than this after cleaning: no detection, None

_NORWEGIAN = frozenset({"no", "nb", "nn"})
_LINGUA_CODES = frozenset(lang.iso_code_639_1.name.lower() for lang in Language.all())

_NOISE = re.compile(
    r"(?:https?://|www\.)\S+"  # URLs
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail addresses
    r"|(?<!\w)[@#]\w+",  # handles and hashtags
    re.IGNORECASE,
)


MAX_CHARS = 600
# From this many characters (after cleaning) lingua's low-accuracy mode (trigrams only) is
# as accurate as the full models on the labelled examples, and faster. Shorter texts may
# need the full models (TRIGRAMS_SURE).
LONG_TEXT = 120
# A text shorter than LONG_TEXT whose trigram-only pass gives its top language at least
# this confidence keeps that answer: lower thresholds turned some answers wrong ("Aurora
# Air lost my luggage. Zero help." became Swedish), this one changed none for the worse
# (benchmarks/RESULTS.md, "Language identification").
TRIGRAMS_SURE = 0.999


def clean(text: str) -> str:
    """Decode HTML entities, drop URLs, e-mail addresses, handles and hashtags, and keep
    the first ``MAX_CHARS`` characters (cut at a space): lingua's cost grows with length,
    and a few sentences decide the language of a blog post as well as all of it does."""
    cleaned = _NOISE.sub(" ", html.unescape(text[: MAX_CHARS * 4]))
    if len(cleaned) <= MAX_CHARS:
        return cleaned
    cut = cleaned.rfind(" ", 0, MAX_CHARS)
    return cleaned[: cut if cut > MAX_CHARS // 2 else MAX_CHARS]


def _code(language: Language) -> str:
    """Report code of a lingua language: ISO 639-1, Norwegian as "nb"."""
    code = language.iso_code_639_1.name.lower()
    return "nb" if code in _NORWEGIAN else code


def _normalise_prior(prior: str | None) -> str | None:
    """'nb-NO' -> 'nb', 'no' -> 'nb', 'da_DK' -> 'da'; None stays None."""
    if not prior:
        return None
    code = re.split(r"[-_]", prior.strip().lower(), maxsplit=1)[0]
    return "nb" if code in _NORWEGIAN else code


def _lingua_languages(codes: Iterable[str]) -> tuple[Language, ...]:
    """lingua languages for validated codes; Norwegian brings Bokmål and Nynorsk."""
    found: dict[Language, None] = {}
    for code in codes:
        names = ("nb", "nn") if code in _NORWEGIAN else (code,)
        for name in names:
            found[Language.from_iso_code_639_1(IsoCode639_1.from_str(name))] = None
    return tuple(found)


class LanguageDetector:
    """Detect the language of short posts among the configured languages; thread-safe."""

    supported: ClassVar[frozenset[str]] = _LINGUA_CODES | {"no"}

    def __init__(
        self,
        languages: Sequence[str],
        *,
        min_confidence: float = 0.5,
        prior_weight: float = 2.0,
    ) -> None:
        codes = [code.strip().lower() for code in languages]
        _validate(codes, min_confidence, prior_weight)
        self._lingua_languages = _lingua_languages(codes)
        self.languages: tuple[str, ...] = tuple(
            dict.fromkeys(_code(lang) for lang in self._lingua_languages)
        )
        self.min_confidence = min_confidence
        self.prior_weight = prior_weight
        self._detectors: dict[str, _Lingua] = {}
        self._lock = threading.Lock()

    def load(self) -> None:
        """Build lingua now (takes seconds) instead of on the first detection."""
        self._lingua(full=False)
        self._lingua(full=True)

    def detect(self, text: str, prior: str | None = None) -> str | None:
        """Language code of `text`, or None when unsure; `prior` is the source's language."""
        return self.detect_many([text], [prior])[0]

    def detect_many(
        self, texts: Sequence[str], priors: Sequence[str | None] | None = None
    ) -> list[str | None]:
        """`detect` for a batch (one prior per text, or None)."""
        if priors is not None and len(priors) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(priors)} priors")
        cleaned = [clean(text) for text in texts]
        usable = [i for i, text in enumerate(cleaned) if _has_letters(text)]
        results: list[str | None] = [None] * len(texts)
        if not usable:
            return results
        trigrams = self._lingua(full=False).compute_language_confidence_values
        for i in usable:
            text = cleaned[i]
            confidences = trigrams(text)
            if len(text) < LONG_TEXT and not _sure(confidences):
                confidences = self._lingua(full=True).compute_language_confidence_values(text)
            results[i] = self._decide(confidences, priors[i] if priors else None, text)
        return results

    def _lingua(self, *, full: bool) -> _Lingua:
        """lingua with all n-gram models (``full``) or trigrams only (lingua's low-accuracy
        mode), each built once (double-checked under the lock)."""
        key = "full" if full else "trigrams"
        if key not in self._detectors:
            with self._lock:
                if key not in self._detectors:
                    builder = LanguageDetectorBuilder.from_languages(*self._lingua_languages)
                    if not full:
                        builder = builder.with_low_accuracy_mode()
                    self._detectors[key] = builder.with_preloaded_language_models().build()
        return self._detectors[key]

    def _decide(
        self, confidences: Sequence[ConfidenceValue], prior: str | None, text: str = ""
    ) -> str | None:
        """Sum Norwegian, settle a close Danish/Norwegian call by marker words, weight the
        prior, renormalise, apply the confidence floor."""
        scores = dict.fromkeys(self.languages, 0.0)
        for value in confidences:
            scores[_code(value.language)] += value.value
        if text and "da" in scores and "nb" in scores:
            _danish_or_norwegian(scores, text)
        code = _normalise_prior(prior)
        if code in scores:
            scores[code] *= self.prior_weight
        total = sum(scores.values())
        if total <= 0.0:
            return None
        best = max(self.languages, key=scores.__getitem__)
        return best if scores[best] / total >= self.min_confidence else None


# Written Danish and Norwegian share most words, and lingua's two Norwegian models together
# outweigh Danish on short texts ("Tre uger uden internet" came out Norwegian). A handful of
# frequent words differ in spelling; when they all point one way, they decide.
_DANISH_MARKERS = frozenset(
    [
        "uger",
        "uge",
        "ugen",
        "uden",
        "efter",
        "nu",
        "hvad",
        "meget",
        "mig",
        "dig",
        "sig",
        "nogen",
        "noget",
        "købt",
        "købe",
        "købte",
        "sidste",
        "hjælp",
        "hjælpe",
        "spørgsmål",
        "tak",
        "af",
        "blev",
        "fik",
        "lige",
        "rigtig",
        "næste",
        "igennem",
    ]
)
_NORWEGIAN_MARKERS = frozenset(
    [
        "uker",
        "uke",
        "uka",
        "uten",
        "etter",
        "nå",
        "hva",
        "mye",
        "meg",
        "deg",
        "seg",
        "noen",
        "noe",
        "kjøpt",
        "kjøpe",
        "kjøpte",
        "siste",
        "hjelp",
        "hjelpe",
        "spørsmål",
        "takk",
        "av",
        "kjempe",
        "ble",
        "fikk",
        "skikkelig",
        "neste",
        "gjennom",
        "ikkje",
        "eg",
        "kva",
        "korleis",
        "berre",
        "veke",
        "veker",
        "utan",
    ]
)
_WORD = re.compile(r"\w+")


def _danish_or_norwegian(scores: dict[str, float], text: str) -> None:
    """Give the Danish+Norwegian mass to the side the marker words agree on (all of them
    on one side); with markers on both sides, or none, leave lingua's scores alone."""
    words = [w.lower() for w in _WORD.findall(text)]
    danish = sum(1 for w in words if w in _DANISH_MARKERS)
    norwegian = sum(1 for w in words if w in _NORWEGIAN_MARKERS)
    if bool(danish) != bool(norwegian):
        winner, loser = ("da", "nb") if danish else ("nb", "da")
        scores[winner] += scores[loser]
        scores[loser] = 0.0


def _sure(confidences: Sequence[ConfidenceValue]) -> bool:
    """True when the top language has at least TRIGRAMS_SURE of the confidence."""
    return max((value.value for value in confidences), default=0.0) >= TRIGRAMS_SURE


def _has_letters(text: str) -> bool:
    """True when `text` has at least MIN_LETTERS letters."""
    count = 0
    for char in text:
        if char.isalpha():
            count += 1
            if count >= MIN_LETTERS:
                return True
    return False


def _validate(codes: Sequence[str], min_confidence: float, prior_weight: float) -> None:
    """Raise ValueError for unknown codes or out-of-range parameters."""
    if not codes:
        raise ValueError("no languages configured")
    unknown = sorted(set(codes) - LanguageDetector.supported)
    if unknown:
        supported = ", ".join(sorted(LanguageDetector.supported))
        raise ValueError(f"unsupported language code(s) {unknown}; supported: {supported}")
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence must be between 0 and 1, not {min_confidence}")
    if prior_weight < 1.0:
        raise ValueError(f"prior_weight must be at least 1, not {prior_weight}")
