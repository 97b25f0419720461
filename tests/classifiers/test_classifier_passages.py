"""Target-aware reading: sentence splitting, mention windows, aggregation (pure python)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from classifiers import Scores, find_mentions, passages, read_post
from classifiers.passages import split_sentences


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Jeg har bl.a. ringet tre gange. Ingen svarer!!! Hvad sker der?",
            ["Jeg har bl.a. ringet tre gange.", "Ingen svarer!!!", "Hvad sker der?"],
        ),
        (
            "Vi har t.ex. väntat i två veckor… Inget svar från Teleborg.",
            ["Vi har t.ex. väntat i två veckor…", "Inget svar från Teleborg."],
        ),
        (
            "Jeg har f.eks. ventet i 3 uker osv. Det er for dårlig.",
            ["Jeg har f.eks. ventet i 3 uker osv.", "Det er for dårlig."],
        ),
        (
            "Das ist z.B. ärgerlich. Wirklich?! Am 3. Juni kam nichts.",
            ["Das ist z.B. ärgerlich.", "Wirklich?!", "Am 3. Juni kam nichts."],
        ),
        (
            'They said "we will call you." Nobody did, e.g. yesterday.',
            ['They said "we will call you."', "Nobody did, e.g. yesterday."],
        ),
        (
            "Odotin esim. tunnin. Kukaan ei vastannut.",
            ["Odotin esim. tunnin.", "Kukaan ei vastannut."],
        ),
        ("linje et\nlinje to\n\n  linje tre  ", ["linje et", "linje to", "linje tre"]),
        ("Den 3. juni kom pakken", ["Den 3. juni kom pakken"]),
        ("", []),
    ],
)
def test_sentences_split_in_six_languages(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


TEXT = (
    "I went to Teleborg's shop today. The new phone is nice. "
    "Then Nordtel cut my line again! Three weeks without internet. "
    "The weather was lovely. Teleborg staff were kind."
)


def spans(name: str) -> list[tuple[int, int]]:
    return find_mentions(TEXT, [name])


def test_mention_windows_take_neighbouring_sentences_and_merge_overlaps() -> None:
    (nordtel,) = passages(None, TEXT, spans("Nordtel"), window=1)
    assert nordtel.source == "mention"
    assert nordtel.text == (
        "The new phone is nice. Then Nordtel cut my line again! Three weeks without internet."
    )
    assert TEXT[nordtel.start : nordtel.end] == nordtel.text
    assert len(passages(None, TEXT, spans("Teleborg"), window=2)) == 2  # adjacent: kept apart
    wide = passages(None, TEXT, spans("Teleborg"), window=3)
    assert len(wide) == 1
    assert wide[0].start == 0
    assert wide[0].end == len(TEXT)
    narrow = passages(None, TEXT, spans("Teleborg"), window=0)
    assert [p.text for p in narrow] == [
        "I went to Teleborg's shop today.",
        "Teleborg staff were kind.",
    ]


def test_title_is_read_and_a_post_without_mentions_is_read_from_its_head() -> None:
    parts = passages("  Nordtel again  ", "Kort tekst. Anden sætning.", [], max_chars=13)
    assert [(p.source, p.text) for p in parts] == [
        ("title", "Nordtel again"),
        ("head", "Kort tekst."),
    ]
    (only,) = passages(None, "ord " * 400, [], max_chars=50)
    assert only.source == "head"
    assert len(only.text) <= 50
    assert not only.text.endswith(" ")
    assert passages(None, "", []) == [passages(None, "", [])[0]]


def test_long_window_is_capped_around_the_mention() -> None:
    text = "A" * 300 + ". Nordtel svarer ikke. " + "B" * 300 + "."
    (part,) = passages(None, text, find_mentions(text, ["Nordtel"]), window=1, max_chars=100)
    assert part.text == "Nordtel svarer ikke."


def test_inflected_brand_names_are_found() -> None:
    text = "Nordtels kundeservice, Nordtelin asiakaspalvelu ja Nordtel's app."
    assert [text[s:e] for s, e in find_mentions(text, ["Nordtel"])] == [
        "Nordtels",
        "Nordtelin",
        "Nordtel's",
    ]


class KeywordClassifier:
    """Complaint probability 0.9 for texts with 'cut' or 'without', else 0.1."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def classify(
        self, texts: Sequence[str], langs: Sequence[str | None] | None = None
    ) -> list[Scores]:
        self.batches.append(list(texts))
        return [
            Scores(0.8, 0.1, 0.1, 0.9)
            if ("cut" in t or "without" in t)
            else Scores(0.1, 0.2, 0.7, 0.1)
            for t in texts
        ]


def test_complaint_about_b_does_not_count_against_a_mentioned_in_passing() -> None:
    clf = KeywordClassifier()
    text = (
        "Nordtel cut my line again. Three weeks without internet. No apology. "
        "Nothing else to say. Anyway, lunch was good. My sister works at Teleborg and likes it."
    )
    for_teleborg = read_post(clf, None, text, find_mentions(text, ["Teleborg"]), window=1)
    assert for_teleborg.label == "not_complaint"
    assert "cut" not in for_teleborg.passage.text
    assert "Teleborg" in for_teleborg.passage.text
    for_nordtel = read_post(clf, None, text, find_mentions(text, ["Nordtel"]), window=1)
    assert for_nordtel.label == "complaint"
    assert for_nordtel.passage.text.startswith("Nordtel cut my line again.")


def test_the_most_complaining_passage_drives_and_all_are_classified_in_one_batch() -> None:
    clf = KeywordClassifier()
    reading = read_post(clf, "Nordtel review", TEXT, spans("Nordtel"))
    assert len(clf.batches) == 1
    assert len(clf.batches[0]) == 2
    assert reading.passage.source == "mention"
    assert reading.complaint == 0.9
    assert reading.scores.sentiment == "negative"
    assert [p.source for p in reading.passages] == ["title", "mention"]
