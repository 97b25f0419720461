"""A syndicated copy counts once (issue 19).

The same article republished under another guid and link, or reposted with other case and
spacing, is one voice: counted twice it made one complaint look like a growing storm.
Short texts are left alone: two people often write the same few words.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.detect.engine import Detector
from monitor.detect.events import PostEvent
from monitor.detect.replay import replay
from monitor.parse.text import copy_key as content_key

T0 = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
ARTICLE = (
    "Nordtel has been down across Jutland since this morning. Customers report that the "
    "support line hangs up after forty minutes in the queue and nobody answers the chat."
)


def event(post_id: str, text: str, at: datetime = T0, brand: str = "Nordtel") -> PostEvent:
    return PostEvent(post_id, brand, at, 0.95, 0.9, text_snippet=text)


def test_a_copy_with_other_case_spacing_and_punctuation_is_the_same_text() -> None:
    variant = "  " + ARTICLE.upper().replace(". ", ".\n\n").replace(",", " ,") + "  "
    assert content_key(variant) == content_key(ARTICLE)
    assert content_key(ARTICLE + " Update: still down.") != content_key(ARTICLE)


def test_a_syndicated_copy_counts_once_for_its_brand() -> None:
    detector = Detector()
    added = detector.observe(
        [
            event("site-a/1", ARTICLE),
            event("site-b/77", ARTICLE.lower()),  # another guid and link, the same words
            event("site-c/9", " ".join(ARTICLE.split()) + " "),
        ]
    )
    assert added == 1
    assert detector.observe([event("site-a/1", ARTICLE)]) == 0  # the same post again
    other_brand = event("site-d/2", ARTICLE, brand="Sydnet")
    assert detector.observe([other_brand]) == 1, "each brand counts the text once"


def test_short_identical_texts_are_different_voices() -> None:
    detector = Detector()
    texts = [event(f"p{i}", "Nordtel down again?") for i in range(5)]
    assert detector.observe(texts) == 5


def test_forty_copies_of_one_article_do_not_page_as_a_storm() -> None:
    quiet = [  # two ordinary complaints a day for two weeks: the baseline
        event(f"q{d}-{k}", f"complaint {d} {k}", T0 - timedelta(days=14 - d, hours=5 * k))
        for d in range(14)
        for k in range(2)
    ]
    burst = T0 + timedelta(minutes=5)
    copies = [event(f"copy-{i}", ARTICLE, burst + timedelta(seconds=20 * i)) for i in range(40)]
    voices = [
        event(f"own-{i}", f"{ARTICLE} I am customer {i} and I am done with you.", burst)
        for i in range(40)
    ]
    common = {"evaluate_from": T0 - timedelta(hours=1), "end": T0 + timedelta(hours=2)}
    assert replay(quiet + copies, **common).pages == []  # type: ignore[arg-type]
    assert replay(quiet + voices, **common).pages, "forty different posts are a storm"  # type: ignore[arg-type]
