"""Turning the sentence pools into posts: seeded, varied, never the same text twice.

A :class:`Composer` holds the random generator of one story. ``complaint(lang)`` joins an
opener, a detail and (often) a closer and fills the placeholders; ``reaction(lang)`` does
the same for a comment under the exploding blog post; ``take(pool, lang)`` hands out the
entries of an ordinary pool in a shuffled order, each once before any repeats.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from monitor.demo.scenario import texts_storm as storm

T = TypeVar("T")


class Composer:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._used: set[str] = set()
        self._decks: dict[tuple[int, str], list[object]] = {}

    def pick(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]

    def lang(self, weights: Mapping[str, float]) -> str:
        langs = list(weights)
        return self.rng.choices(langs, weights=[weights[k] for k in langs])[0]

    def fill(self, template: str, lang: str) -> str:
        return template.format(
            city=self.pick(storm.CITIES[lang]),
            minutes=self.rng.choice((35, 42, 48, 55, 61, 67, 74, 80, 95, 110)),
            amount=self.rng.choice((149, 199, 249, 299, 349, 399, 449, 529)),
        )

    def complaint(self, lang: str) -> str:
        """An outage / double-charge complaint that names Nordtel."""
        return self._fresh(lambda: self._opened(lang))

    def reaction(self, lang: str) -> str:
        """A comment under the exploding blog post."""
        return self._fresh(lambda: self._joined(self.pick(storm.REACTIONS[lang]), "both", lang))

    def title(self, lang: str) -> str:
        return self.fill(self.pick(storm.TITLES[lang]), lang)

    def author(self, lang: str) -> str:
        return self.pick(storm.AUTHORS[lang])

    def take(self, pool: Mapping[str, Sequence[T]], lang: str) -> T:
        """The next entry of ``pool[lang]``: every entry once, in a shuffled order."""
        key = (id(pool), lang)
        deck = self._decks.get(key)
        if not deck:
            deck = list(pool[lang])
            self.rng.shuffle(deck)
            self._decks[key] = deck
        return deck.pop()  # type: ignore[return-value]

    def entry(self, pool: Mapping[str, Sequence[tuple[str, str]]], lang: str) -> tuple[str, str]:
        """The next ``(title, text)`` of an ordinary pool, placeholders filled."""
        title, text = self.take(pool, lang)
        return self.fill(title, lang), self.fill(text, lang)

    def _opened(self, lang: str) -> str:
        theme = self.rng.choices(("outage", "billing", "both"), weights=(5, 3, 1))[0]
        return self._joined(self.pick(storm.OPENERS[lang][theme]), theme, lang)

    def _joined(self, first: str, theme: str, lang: str) -> str:
        details = storm.DETAILS[lang]
        fitting = details["any"] + (details.get(theme) or details["outage"] + details["billing"])
        parts = [first, self.pick(fitting)]
        if self.rng.random() < 0.6:
            parts.append(self.pick(storm.CLOSERS[lang]))
        return self.fill(" ".join(parts), lang)

    def _fresh(self, make: Callable[[], str]) -> str:
        text = make()
        for _ in range(50):
            if text not in self._used:
                break
            text = make()
        self._used.add(text)
        return text
