from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.canonical import canonical_url, post_id


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "HTTP://Blog.Example.DK:80/a?utm_source=x&b=2&a=1#top",
            "http://blog.example.dk/a?a=1&b=2",
        ),
        ("https://x.dk/p/?fbclid=abc", "https://x.dk/p/"),
        ("https://x.dk/p/#comment-12", "https://x.dk/p/#comment-12"),
        ("https://x.dk:443", "https://x.dk/"),
        (
            "https://www.google.com/url?rct=j&sa=t&url=https%3A%2F%2Fnews.dk%2Fa%3Futm_medium%3Dx&ct=ga",
            "https://news.dk/a",
        ),
    ],
)
def test_canonical_forms(given: str, expected: str) -> None:
    assert canonical_url(given) == expected


def test_same_article_with_tracking_is_one_id() -> None:
    a = post_id(canonical_url("https://news.dk/a?utm_campaign=x"))
    assert a == post_id(canonical_url("https://NEWS.dk/a"))
    assert len(a) == 32


@given(st.text())
def test_never_raises_on_garbage(text: str) -> None:
    assert isinstance(canonical_url(text), str)
    assert isinstance(canonical_url("http://" + text), str)
