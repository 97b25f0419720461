"""The packaged labelled examples: they load, ids are unique, and eval is held out.

The rules are those of ``classifiers/data/README.md``: every post mentions its ``brand``, and
no eval text is a near copy of a train text (difflib ratio >= 0.8), so the eval figures
measure posts the head has not seen.
"""

from __future__ import annotations

import difflib
from collections import Counter

import pytest

from classifiers.dataset import Example, load_examples, packaged_paths
from classifiers.passages import find_mentions

MAX_RATIO = 0.8
# review-page posts that do not repeat the brand name (classifiers/data/README.md)
NO_MENTION = {"da-002", "da-060", "en-002", "en-039", "nb-044", "da-e020"}


@pytest.fixture(scope="module")
def train() -> list[Example]:
    return load_examples(packaged_paths("train"))


@pytest.fixture(scope="module")
def held_out() -> list[Example]:
    return load_examples(packaged_paths("eval"))


def test_ids_are_unique_across_train_and_eval(
    train: list[Example], held_out: list[Example]
) -> None:
    ids = Counter(ex.id for ex in [*train, *held_out])
    assert not [i for i, n in ids.items() if n > 1]
    assert all("-e" in ex.id for ex in held_out)
    assert not any(ex.id.split("-", 1)[1].startswith("e") for ex in train)


def test_every_post_but_a_few_reviews_mentions_its_brand(
    train: list[Example], held_out: list[Example]
) -> None:
    missing = [
        ex.id
        for ex in [*train, *held_out]
        if ex.brand and not find_mentions(f"{ex.title or ''}\n{ex.text}", [ex.brand])
    ]
    assert set(missing) <= NO_MENTION, sorted(set(missing) - NO_MENTION)


def test_every_language_has_both_labels_in_eval(held_out: list[Example]) -> None:
    by_lang: dict[str, set[str]] = {}
    for ex in held_out:
        by_lang.setdefault(ex.lang, set()).add(ex.label)
    assert set(by_lang) == {"da", "sv", "nb", "en", "de", "fi"}
    assert all(labels == {"complaint", "not_complaint"} for labels in by_lang.values())


def test_no_eval_text_is_a_near_copy_of_a_train_text(
    train: list[Example], held_out: list[Example]
) -> None:
    close = []
    for ev in held_out:
        matcher = difflib.SequenceMatcher(None, autojunk=False)
        matcher.set_seq2(ev.text)
        for tr in train:
            matcher.set_seq1(tr.text)
            if (
                matcher.real_quick_ratio() >= MAX_RATIO
                and matcher.quick_ratio() >= MAX_RATIO
                and matcher.ratio() >= MAX_RATIO
            ):
                close.append((ev.id, tr.id, round(matcher.ratio(), 3)))
    assert not close
