"""Which brands a post mentions: aliases, word boundaries, excludes.

Rules (each has a table-driven test in ``tests/monitor/match/test_brands.py``):

Folding
    Text and aliases are compared after *folding*: NFKD, casefold, combining marks dropped,
    Nordic letters that do not decompose spelled out (ø->o, æ->ae, œ->oe, ð->d, þ->th,
    đ->d, ł->l, ı->i; ß->ss comes from casefold), and invisible format characters (soft
    hyphen, zero-width space/joiner, BOM) removed, so "Nord\\u00adtel" still matches.
    Thus "NORDTEL", "Nordtél" and "nordtel" are one word. Folding works character by
    character, so every folded character remembers the original character it came from and
    a `Mention` span always points into the ORIGINAL text (a trailing combining mark stays
    inside the span of its base letter).

Boundaries
    An alias must not touch a word character (letter, digit, underscore) on its left or its
    right: "Nordtel" does not match inside "Supernordtelecom" or "nordtel_dk".
    Punctuation is a boundary, so "Nordtel's", "Nordtel’s", "Nordtel:s" (Swedish),
    "Nordtel:n" (Finnish), "Nordtel-kunde" and "Nordtel-routeren" all match.
    Directly attached, only an inflection suffix may follow a word-like alias: the genitive
    "-s" (da/sv/nb/de: "Nordtels kundeservice") and the Finnish case endings (with or
    without the linking -i-: "Nordtelin", "Nordtelilla", "Elisalta", "Elisaan"; ä/ö are
    folded to a/o first). The suffix is not part of the span.
    Bare compounds ("nordtelkunde") do NOT match: the crawler sees far more unrelated
    words that happen to start with a short brand name than real compounds, and Nordic
    writers usually hyphenate a proper name in a compound. Add the compound as an alias if
    a brand needs it.

Hashtags and handles
    An alias that begins with a letter or digit also matches with "#" or "@" in front
    ("#Nordtel", "@nordtel"); the span then includes the sign. A multi-word alias also
    matches its hashtag written solid ("Nord Tel" -> "#NordTel"). An alias that itself
    begins with "#" or "@" matches only that form. An "@" glued to a word (an e-mail
    address) is not a handle and stays out of the span, but the company name or domain
    after it still matches: "kundeservice@nordtel.dk" names Nordtel.

Domains
    An alias containing a dot is a domain: "nordtel.dk" matches "www.nordtel.dk/support",
    "https://nordtel.dk" and "kundeservice@nordtel.dk" (the dot and slash are boundaries),
    but not "notnordtel.dk" or "nordtel.dkx". Domains take no inflection suffix.

Whitespace
    Any run of whitespace inside an alias matches any run of whitespace in the text (spaces,
    tabs, no-break spaces, line breaks): "Nord Tel" matches "Nord  Tel" and "Nord\\nTel".

Excludes
    An exclude phrase is folded the same way and matched as a plain phrase (flexible
    whitespace, no boundary check, so "Nordtel Arena" also covers "Nordtel Arenas"). A
    mention whose span lies entirely inside an exclude match is dropped; other mentions
    of the same brand in the text still count.

Aliases
    A brand's aliases are its `BrandSpec.aliases`, or its name when that tuple is empty.
    Where aliases overlap at one position, the longest written alias wins and names the
    mention; the automatic solid-hashtag forms come last. Brands are independent: one piece
    of text may be a mention of two brands.

Performance
    Per brand: a set of literal key words checked with ``in`` first (most posts skip the
    brand there), then one compiled regular expression whose alternatives all start with a
    literal character (the left boundary is checked in Python), so ``re`` can skip ahead.
    Folding lowers ASCII runs in C and looks up only non-ASCII characters in a cached table,
    recording where a character folded to zero or several characters; spans are mapped back
    through those records with a binary search. Long posts cost most in folding;
    ``benchmarks/brands.py`` prints posts per second for short and long posts.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["BrandMatcher", "BrandSpec", "Mention", "fold"]

# Letters that NFKD does not decompose (casefolded forms), spelled the way Nordic writers
# spell them in ASCII.
_SPECIAL_FOLDS = {"ø": "o", "æ": "ae", "œ": "oe", "ð": "d", "þ": "th", "đ": "d", "ł": "l", "ı": "i"}

# Genitive -s, then Finnish case endings (folded: ä->a, ö->o), with an optional linking i.
_FINNISH_ENDINGS = (
    "n", "a", "ta", "na", "ssa", "sta", "lla", "lta", "lle", "ksi", "tta",
    "an", "en", "in", "on", "un", "yn", "han", "hin", "seen",
)  # fmt: skip
_SUFFIX_RE = "s|i?(?:" + "|".join(sorted(_FINNISH_ENDINGS, key=len, reverse=True)) + ")"


@dataclass(frozen=True)
class BrandSpec:
    """One brand from config: display name, aliases to look for, phrases that cancel them."""

    name: str
    aliases: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mention:
    """One mention of `brand`, found through `alias`; ``text[start:end]`` in the original."""

    brand: str
    alias: str
    start: int
    end: int


class _FoldTable(dict[int, str]):
    """Code point -> folded text, computed on first sight and cached (thread-safe enough:
    two threads may compute the same entry, both write the same value)."""

    def __missing__(self, code: int) -> str:
        folded = _fold_char(chr(code))
        self[code] = folded
        return folded


def _fold_char(char: str) -> str:
    """Fold one character (see the module docstring); may return "" or several chars."""
    if unicodedata.category(char) == "Cf":
        return ""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", char).casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return "".join(_SPECIAL_FOLDS.get(c, c) for c in text)


_TABLE = _FoldTable()
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_Shift = tuple[int, int, int]  # (folded offset, original offset, folded width != 1)


def _fold_with_shifts(text: str) -> tuple[str, list[_Shift]]:
    """Fold `text`; also return where a character folded to other than one character.

    ASCII runs go through ``str.lower`` in C; only non-ASCII characters are looked up.
    """
    if text.isascii():
        return text.lower(), []
    parts: list[str] = []
    shifts: list[_Shift] = []
    done = size = 0
    for run in _NON_ASCII.finditer(text):
        parts.append(text[done : run.start()].lower())
        size += run.start() - done
        for offset, char in enumerate(run.group(), run.start()):
            folded = _TABLE[ord(char)]
            if len(folded) != 1:
                shifts.append((size, offset, len(folded)))
            parts.append(folded)
            size += len(folded)
        done = run.end()
    parts.append(text[done:].lower())
    return "".join(parts), shifts


def fold(text: str) -> str:
    """Return the folded form of `text` (case, diacritics and Nordic letters folded)."""
    return _fold_with_shifts(text)[0]


class _Folded:
    """A folded text that maps folded offsets back to offsets in the original."""

    __slots__ = ("_at", "_shifts", "original", "text")

    def __init__(self, original: str) -> None:
        self.original = original
        self.text, self._shifts = _fold_with_shifts(original)
        self._at = [shift[0] for shift in self._shifts]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a folded span to the smallest original span whose fold covers it."""
        orig_start, orig_end = self._original(start), self._original(end - 1) + 1
        while orig_end < len(self.original) and not _TABLE[ord(self.original[orig_end])]:
            orig_end += 1  # keep trailing combining marks / format chars with their letter
        return orig_start, orig_end

    def _original(self, index: int) -> int:
        """Offset of the original character that folded offset `index` came from."""
        k = bisect_right(self._at, index) - 1
        if k < 0:
            return index
        at, offset, width = self._shifts[k]
        return offset if index < at + width else offset + 1 + index - at - width


def _is_word_before(text: str, index: int) -> bool:
    """True when the character before `index` is a word character (regex ``\\w``)."""
    return index > 0 and (text[index - 1].isalnum() or text[index - 1] == "_")


def _phrase_pattern(folded: str) -> str:
    """Regex for a folded phrase: literal, with any whitespace run matching any run."""
    return r"\s+".join(re.escape(word) for word in folded.split())


def _alias_variants(alias: str) -> list[tuple[bool, str]]:
    """Regexes for one alias, each starting with a literal: (automatic variant?, pattern).

    The left boundary is checked outside the regex (see `_CompiledBrand`), so that every
    alternative starts with a literal character and ``re`` can skip ahead on it.
    """
    folded = fold(alias).strip()
    body = _phrase_pattern(folded)
    variants = [(False, body)]
    if folded[0].isalnum() or folded[0] == "_":
        variants += [(False, "\\#" + body), (False, "@" + body)]
        if len(folded.split()) > 1:
            solid = re.escape("".join(folded.split()))
            variants += [(True, "\\#" + solid), (True, "@" + solid)]
    if folded[-1].isalpha() and "." not in folded:
        end = f"(?=(?:{_SUFFIX_RE})?(?!\\w))"
    else:
        end = "(?!\\w)"
    return [(auto, pattern + end) for auto, pattern in variants]


def _compile_variants(aliases: Sequence[str]) -> list[tuple[int, re.Pattern[str]]]:
    """(alias index, pattern) for every variant, in the order they are tried.

    Written aliases first, longest first, then the automatic solid-hashtag forms of
    multi-word aliases, so the most literal alias names a mention.
    """
    variants = [
        (auto, -len(fold(alias)), index, pattern)
        for index, alias in enumerate(aliases)
        for auto, pattern in _alias_variants(alias)
    ]
    variants.sort(key=lambda v: (v[0], v[1]))
    return [(index, re.compile(pattern)) for _, _, index, pattern in variants]


def _compile_excludes(excludes: Sequence[str]) -> re.Pattern[str] | None:
    """Pattern whose lookahead group 1 finds every exclude match, overlapping ones too."""
    if not excludes:
        return None
    phrases = sorted({fold(e).strip() for e in excludes}, key=len, reverse=True)
    return re.compile("(?=(" + "|".join(_phrase_pattern(p) for p in phrases) + "))")


def _check_phrases(brand: BrandSpec, aliases: Sequence[str]) -> None:
    """Raise ValueError if the brand has no name or a phrase folds to nothing."""
    if not brand.name.strip():
        raise ValueError("brand name must not be empty")
    for kind, phrases in (("alias", aliases), ("exclude", brand.excludes)):
        for phrase in phrases:
            if not fold(phrase).strip():
                raise ValueError(f"brand {brand.name!r}: empty {kind} {phrase!r}")


class _CompiledBrand:
    """A brand's compiled alias and exclude patterns."""

    __slots__ = ("aliases", "excludes", "keys", "name", "pattern", "variants")

    def __init__(self, brand: BrandSpec) -> None:
        self.name = brand.name
        self.aliases = tuple(brand.aliases) or (brand.name,)
        _check_phrases(brand, self.aliases)
        self.variants = _compile_variants(self.aliases)
        self.pattern = re.compile("|".join(p.pattern for _, p in self.variants))
        self.keys = tuple({max(fold(alias).split(), key=len) for alias in self.aliases})
        self.excludes = _compile_excludes(brand.excludes)

    def mentions(self, folded: _Folded) -> list[Mention]:
        """Every non-excluded mention of this brand in `folded`, in text order."""
        text = folded.text
        if not any(key in text for key in self.keys):
            return []  # fast path: every match contains the longest word of its alias
        found = self._matches(text)
        if not found:
            return []
        covers = self._exclude_spans(text)
        return [
            Mention(
                self.name, self.aliases[self._alias_index(text, start)], *folded.span(start, end)
            )
            for start, end in found
            if not any(xs <= start and end <= xe for xs, xe in covers)
        ]

    def _matches(self, text: str) -> list[tuple[int, int]]:
        """Folded spans of alias matches with a word boundary on the left, left to right."""
        spans = []
        position = 0
        while match := self.pattern.search(text, position):
            if _is_word_before(text, match.start()):
                position = match.start() + 1
            else:
                spans.append(match.span())
                position = match.end()
        return spans

    def _alias_index(self, text: str, start: int) -> int:
        """Index of the alias whose variant matched at `start` (the first one that does)."""
        return next(index for index, pattern in self.variants if pattern.match(text, start))

    def _exclude_spans(self, text: str) -> list[tuple[int, int]]:
        """Folded spans of every exclude match (overlapping matches included)."""
        if self.excludes is None:
            return []
        return [match.span(1) for match in self.excludes.finditer(text)]


class BrandMatcher:
    """Find brand mentions in post text. Compile once, reuse for every post; thread-safe."""

    def __init__(self, brands: Sequence[BrandSpec]) -> None:
        self._brands = tuple(_CompiledBrand(brand) for brand in brands)

    def mentions(self, text: str) -> list[Mention]:
        """Every mention of every brand in `text`, ordered by position (then config order)."""
        folded = _Folded(text)
        found = [m for brand in self._brands for m in brand.mentions(folded)]
        return sorted(found, key=lambda m: (m.start, m.end))

    def match(self, *texts: str) -> list[str]:
        """Names of the brands mentioned in any of `texts`, in config order, no duplicates."""
        folded = [_Folded(text) for text in texts if text]
        names: dict[str, None] = {}
        for brand in self._brands:
            if any(brand.mentions(f) for f in folded):
                names.setdefault(brand.name, None)
        return list(names)
