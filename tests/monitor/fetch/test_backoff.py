"""monitor.fetch.backoff: pure functions, so the clock and the dice are passed in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.fetch.backoff import RETRY_AFTER_CAP, next_delay, parse_retry_after

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
MIDDLE = 0.5  # rand() == 0.5 means no jitter


@pytest.mark.parametrize(
    ("failures", "expected"), [(0, 0.0), (1, 60.0), (2, 120.0), (3, 240.0), (9, 15360.0)]
)
def test_exponential_then_capped(failures, expected):
    assert next_delay(failures, rand=lambda: MIDDLE) == min(expected, 6 * 3600.0)


def test_jitter_spreads_both_ways_and_cap_stays_a_ceiling():
    assert next_delay(1, rand=lambda: 0.0) == pytest.approx(48.0)
    assert next_delay(1, rand=lambda: 1.0) == pytest.approx(72.0)
    assert next_delay(50, rand=lambda: 1.0) == 6 * 3600.0
    assert next_delay(10**9, rand=lambda: 0.0) == pytest.approx(0.8 * 6 * 3600.0)


def test_retry_after_is_a_floor_capped_at_a_day():
    assert next_delay(1, retry_after=600, rand=lambda: MIDDLE) == 600.0
    assert next_delay(5, retry_after=10, rand=lambda: MIDDLE) == 960.0
    assert next_delay(1, retry_after=10**12, rand=lambda: MIDDLE) == RETRY_AFTER_CAP
    assert next_delay(0, retry_after=30) == 30.0


@given(
    failures=st.integers(-5, 10**6),
    retry_after=st.none() | st.floats(-1e9, 1e12),
    roll=st.floats(0.0, 1.0),
)
def test_delay_always_within_bounds(failures, retry_after, roll):
    delay = next_delay(failures, retry_after=retry_after, rand=lambda: roll)
    assert 0.0 <= delay <= max(6 * 3600.0, RETRY_AFTER_CAP)
    if retry_after is not None:
        assert delay >= min(max(retry_after, 0.0), RETRY_AFTER_CAP)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("-5", 0.0),
        ("Sat, 01 Mar 2025 12:10:00 GMT", 600.0),
        ("Sat, 01 Mar 2025 11:00:00 GMT", 0.0),  # in the past
        (None, None),
        ("", None),
        ("soon", None),
        ("1.5", None),
        ("+-5", None),
        ("Sat, 99 Mar 2025 12:10:00 GMT", None),
    ],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, NOW) == expected


def test_parse_retry_after_with_naive_now_is_utc():
    naive = datetime(2025, 3, 1, 12, 0, 0)
    assert parse_retry_after("Sat, 01 Mar 2025 12:00:30 GMT", naive) == 30.0


@given(st.text())
def test_parse_retry_after_never_raises(value):
    result = parse_retry_after(value, NOW)
    assert result is None or result >= 0.0
