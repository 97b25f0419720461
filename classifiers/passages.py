"""Target-aware reading: which parts of a post are read, and how their scores combine.

Long blog posts are not classified whole: the model reads at most ``max_tokens`` tokens and
its cost grows with length, and a complaint about brand B that mentions brand A in passing
must not count against A. So a post is read as

- its **title** (when it has one),
- each sentence containing a **mention** of the brand, plus ``window`` sentences on each
  side (windows that overlap are merged into one passage),
- or, when the caller has no mention (a comment inheriting its thread's brand), its
  **head**: whole sentences from the start up to ``max_chars``.

The post's complaint probability is the **maximum** over its passages (one complaining
paragraph makes a complaint — the labelling rule for long posts), and its sentiment is that
of the same, *driving* passage, which :class:`PostReading` keeps so the queue can highlight it.

Pure python (no model, no numpy): sentence splitting and windowing are tested on their own.
Sentence splitting handles ``. ! ? …`` (repeated, with closing quotes), line breaks, and the
abbreviations of the six languages ("bl.a.", "f.eks.", "t.ex.", "z.B.", "e.g.", "esim.").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

from classifiers.base import Classifier, Scores

__all__ = [
    "Passage",
    "PostReading",
    "find_mentions",
    "passages",
    "read_post",
    "read_posts",
    "split_sentences",
]

Source = Literal["title", "mention", "head"]

# Abbreviations that do not end a sentence (lower-case, with their final dot).
_NEVER_END = frozenset(
    [
        "bl.a.",
        "f.eks.",
        "fx.",
        "t.ex.",
        "z.b.",
        "u.a.",
        "d.h.",
        "z.t.",
        "e.g.",
        "i.e.",
        "vs.",
        "ca.",
        "cirka.",
        "nr.",
        "kl.",
        "jf.",
        "jfr.",
        "dr.",
        "mr.",
        "mrs.",
        "ms.",
        "st.",
        "hr.",
        "fr.",
        "prof.",
        "bzw.",
        "ggf.",
        "evtl.",
        "evt.",
        "inkl.",
        "ekskl.",
        "exkl.",
        "bspw.",
        "vgl.",
        "s.k.",
        "p.g.a.",
        "pga.",
        "m.a.o.",
        "dvs.",
        "d.v.s.",
        "t.o.m.",
        "o.ä.",
        "u.ä.",
        "esim.",
        "ns.",
        "ks.",
        "mm.",
        "vrt.",
        "eli.",
        "tel.",
        "tlf.",
        "tfn.",
        "str.",
        "gt.",
        "v.",
        "ref.",
        "approx.",
        "min.",
        "max.",
    ]
)
# Abbreviations that may end a sentence: split only before an upper-case letter.
_MAY_END = frozenset(
    [
        "etc.",
        "osv.",
        "o.s.v.",
        "usw.",
        "m.m.",
        "m.fl.",
        "mfl.",
        "jne.",
        "yms.",
        "ym.",
        "mv.",
        "m.v.",
        "o.l.",
    ]
)

# Month names after an ordinal ("3. Juni", "3. März") do not start a sentence.
_MONTH = re.compile(
    r"(jan|feb|mar|mär|apr|maj|mai|may|jun|jul|aug|sep|okt|oct|nov|dec|dez)", re.IGNORECASE
)

_CANDIDATE = re.compile(r"[.!?…]+[\"'»”’)\]]*(?=\s)|\n")
_LAST_TOKEN = re.compile(r"(\S+)$")


@dataclass(frozen=True, slots=True)
class Passage:
    """A piece of a post that is classified on its own.

    ``start``/``end`` index into the post's text, or into its title when ``source`` is
    ``"title"``; ``text`` is exactly that slice.
    """

    text: str
    start: int
    end: int
    source: Source


@dataclass(frozen=True, slots=True)
class PostReading:
    """How a post was read: the driving passage, its scores, and every passage scored."""

    scores: Scores
    passage: Passage
    passages: tuple[Passage, ...]
    passage_scores: tuple[Scores, ...]

    @property
    def complaint(self) -> float:
        return self.scores.complaint

    @property
    def label(self) -> str:
        return self.scores.label


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` of ``text``, whitespace trimmed, empty ones dropped."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _CANDIDATE.finditer(text):
        if match.group() != "\n" and not _ends_sentence(text, match.start(), match.end()):
            continue
        spans.append((start, match.end()))
        start = match.end()
    spans.append((start, len(text)))
    return [trimmed for span in spans if (trimmed := _trim(text, *span)) is not None]


def _ends_sentence(text: str, punct_start: int, punct_end: int) -> bool:
    """Whether the punctuation at ``punct_start`` ends a sentence (``.`` needs a look back)."""
    if text[punct_start:punct_end].rstrip("\"'»”’)]") != ".":
        return True
    token = _LAST_TOKEN.search(text, 0, punct_start)
    word = (token.group(1) if token else "").lower().lstrip("(\"'«“‘") + "."
    rest = text[punct_end:].lstrip()
    following = rest[:1]
    if word in _NEVER_END:
        return False
    if word[:-1].isdigit() and _MONTH.match(rest):
        return False
    if word in _MAY_END or word[:-1].isdigit():  # "osv. det", ordinals "3. juni"
        return not following.islower()
    return True


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def passages(
    title: str | None,
    text: str,
    mentions: Sequence[tuple[int, int]],
    window: int = 1,
    max_chars: int = 600,
    others: Sequence[tuple[int, int]] = (),
) -> list[Passage]:
    """The passages of a post to classify: title, then mention windows (or the head).

    ``others``: spans of *other* companies' names. A mention window that also names another
    company keeps only the clauses that are about the brand (:func:`own_clauses`), so "Sydnet
    is a disaster, should have stayed with Nordtel" is read for Nordtel as "should have
    stayed with Nordtel".
    """
    out: list[Passage] = []
    if title and title.strip():
        t = title.strip()
        start = title.index(t)
        out.append(Passage(t[:max_chars], start, start + min(len(t), max_chars), "title"))
    sentences = split_sentences(text)
    valid = [(s, e) for s, e in mentions if 0 <= s < e <= len(text)]
    if valid and sentences:
        windows = _mention_passages(text, sentences, valid, window, max_chars)
        out.extend(p for w in windows for p in own_clauses(text, w, valid, others))
    elif sentences or not out:
        out.append(_head(text, sentences, max_chars))
    return out


def _mention_passages(
    text: str,
    sentences: list[tuple[int, int]],
    mentions: list[tuple[int, int]],
    window: int,
    max_chars: int,
) -> list[Passage]:
    ranges = sorted(
        {
            (max(0, i - window), min(len(sentences) - 1, i + window), i)
            for i in _hits(sentences, mentions)
        }
    )
    merged: list[list[int]] = []
    for lo, hi, hit in ranges:
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi, hit])
    return [_window(text, sentences, lo, hi, hit, max_chars) for lo, hi, hit in merged]


# Where a clause ends: punctuation inside a sentence, a sentence end, or before a contrasting
# conjunction (the six languages' "but", "while", "instead").
_CLAUSE_END = re.compile(
    r"[,;:–—]\s+|[.!?…]+[\"'»”’)\]]*\s+|\s+(?=(?:men|mens|but|while|whereas|however|aber|"
    r"doch|jedoch|sondern|während|mutta|vaan|kun taas|medan|dock|derimot|derimod)\b)",
    re.IGNORECASE,
)


def own_clauses(
    text: str,
    window: Passage,
    mentions: Sequence[tuple[int, int]],
    others: Sequence[tuple[int, int]],
) -> list[Passage]:
    """The runs of clauses of ``window`` that are about the brand, when it names another company.

    Each clause belongs to the names it contains; a clause with no name belongs to the name
    mentioned last before it (or, at the start, to the first one after it). Clauses naming
    the brand — alone or with the other company — and clauses that belong to the brand are
    kept; consecutive kept clauses form one passage. Without another company in the window,
    the window is returned as it is.
    """
    inside = [o for o in others if window.start <= o[0] < window.end]
    if not inside or not any(window.start <= m[0] < window.end for m in mentions):
        return [window]
    clauses = _clauses(text, window.start, window.end)
    owners = _owners(clauses, mentions, inside)
    runs: list[list[int]] = []
    for (start, end), mine in zip(clauses, owners, strict=True):
        if not mine:
            continue
        if runs and runs[-1][1] == start:
            runs[-1][1] = end
        else:
            runs.append([start, end])
    spans = [t for s, e in runs if (t := _trim(text, s, e)) is not None]
    return [Passage(text[s:e], s, e, "mention") for s, e in spans] or [window]


def _clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Clause spans covering ``text[start:end]`` without gaps (separators stay with the left)."""
    cuts = [m.end() for m in _CLAUSE_END.finditer(text, start, end) if m.end() < end]
    bounds = [start, *cuts, end]
    return [(a, b) for a, b in pairwise(bounds) if a < b]


def _owners(
    clauses: list[tuple[int, int]],
    mentions: Sequence[tuple[int, int]],
    others: Sequence[tuple[int, int]],
) -> list[bool]:
    """Per clause: whether it is about the brand (see :func:`own_clauses`)."""
    named: list[tuple[bool, bool] | None] = []  # (names the brand, last name is the brand)
    for start, end in clauses:
        names = sorted(
            [(m[0], True) for m in mentions if start <= m[0] < end]
            + [(o[0], False) for o in others if start <= o[0] < end]
        )
        named.append((any(t for _, t in names), names[-1][1]) if names else None)
    owners, last = [], next((n[1] for n in named if n is not None), True)
    for entry in named:
        if entry is None:
            owners.append(last)
        else:
            owners.append(entry[0])
            last = entry[1]
    return owners


def _hits(sentences: list[tuple[int, int]], mentions: list[tuple[int, int]]) -> set[int]:
    """Indices of the sentences that contain (or, between sentences, precede) a mention."""
    hits: set[int] = set()
    for start, _ in mentions:
        index = 0
        for i, (s, _e) in enumerate(sentences):
            if s <= start:
                index = i
        hits.add(index)
    return hits


def _window(
    text: str, sentences: list[tuple[int, int]], lo: int, hi: int, hit: int, max_chars: int
) -> Passage:
    """Sentences ``lo..hi``; outer sentences are dropped first when longer than ``max_chars``."""
    while sentences[hi][1] - sentences[lo][0] > max_chars and lo < hi:
        if hit - lo >= hi - hit:
            lo += 1
        else:
            hi -= 1
    start, end = sentences[lo][0], sentences[hi][1]
    if end - start > max_chars:  # one very long sentence: keep max_chars from its start
        end = _cut(text, start, start + max_chars)
    return Passage(text[start:end], start, end, "mention")


def _head(text: str, sentences: list[tuple[int, int]], max_chars: int) -> Passage:
    if not sentences:
        return Passage("", 0, 0, "head")
    start, end = sentences[0][0], sentences[0][1]
    for _, e in sentences[1:]:
        if e - start > max_chars:
            break
        end = e
    if end - start > max_chars:
        end = _cut(text, start, start + max_chars)
    return Passage(text[start:end], start, end, "head")


def _cut(text: str, start: int, limit: int) -> int:
    """Cut at the last whitespace before ``limit`` (or at ``limit`` if there is none)."""
    space = text.rfind(" ", start, limit)
    return space if space > start else limit


def find_mentions(text: str, names: Sequence[str]) -> list[tuple[int, int]]:
    """Spans of ``names`` in ``text``: case-insensitive, whole words, inflected endings allowed.

    A small fallback for example files that give a ``brand`` but no spans (the daemon passes
    its matcher's spans). Endings cover genitives and Finnish cases: "Nordtels", "Nordtel's",
    "Nordtelin", "Nordtelille".
    """
    spans: list[tuple[int, int]] = []
    for name in names:
        if not name.strip():
            continue
        pattern = re.compile(
            r"(?<!\w)" + re.escape(name.strip()) + r"(?:[-:'’]?\w{0,6})?(?!\w)", re.IGNORECASE
        )
        spans.extend((m.start(), m.end()) for m in pattern.finditer(text))
    return sorted(set(spans))


def read_post(
    classifier: Classifier,
    title: str | None,
    text: str,
    mentions: Sequence[tuple[int, int]],
    *,
    window: int = 1,
    max_chars: int = 600,
) -> PostReading:
    """Classify every passage of a post in one batch; the most complaining passage drives."""
    return read_posts(classifier, [(title, text, mentions)], window=window, max_chars=max_chars)[0]


def read_posts(
    classifier: Classifier,
    posts: Sequence[tuple[str | None, str, Sequence[tuple[int, int]]]],
    *,
    window: int = 1,
    max_chars: int = 600,
    langs: Sequence[str | None] | None = None,
    others: Sequence[Sequence[tuple[int, int]]] | None = None,
) -> list[PostReading]:
    """:func:`read_post` for many ``(title, text, mentions)`` at once: one classify call.

    ``langs``: each post's language where known, handed to the classifier per passage;
    ``others``: each post's spans of other companies' names (see :func:`passages`).
    """
    other = list(others) if others is not None else [()] * len(posts)
    parts = [
        passages(t, x, m, window=window, max_chars=max_chars, others=o)
        for (t, x, m), o in zip(posts, other, strict=True)
    ]
    per_post = list(langs) if langs is not None else [None] * len(parts)
    flat = classifier.classify(
        [p.text for group in parts for p in group],
        [lang for group, lang in zip(parts, per_post, strict=True) for _ in group],
    )
    readings, offset = [], 0
    for group in parts:
        scores = flat[offset : offset + len(group)]
        offset += len(group)
        best = max(range(len(group)), key=lambda i: scores[i].complaint)
        readings.append(PostReading(scores[best], group[best], tuple(group), tuple(scores)))
    return readings
