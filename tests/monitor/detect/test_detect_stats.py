"""Count tails against exact sums: the p-values every detector relies on."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.detect.stats import binom_sf, nbinom_sf, poisson_sf


def _poisson_exact(k: int, mu: float) -> float:
    return 1 - sum(math.exp(-mu) * mu**i / math.factorial(i) for i in range(k))


def _nbinom_exact(k: int, mu: float, size: float) -> float:
    p = size / (size + mu)
    pmf = [
        math.exp(math.lgamma(i + size) - math.lgamma(size) - math.lgamma(i + 1))
        * p**size
        * (1 - p) ** i
        for i in range(k)
    ]
    return 1 - sum(pmf)


@pytest.mark.parametrize(("k", "mu"), [(1, 0.5), (3, 1.0), (6, 0.05), (40, 10.0), (130, 100.0)])
def test_poisson_tail_matches_exact_sum(k: int, mu: float) -> None:
    assert poisson_sf(k, mu) == pytest.approx(_poisson_exact(k, mu), rel=1e-6)


@pytest.mark.parametrize(("k", "mu"), [(1, 0.5), (3, 1.0), (40, 10.0), (80, 100.0)])
def test_negative_binomial_tail_matches_exact_sum(k: int, mu: float) -> None:
    assert nbinom_sf(k, mu, 20.0) == pytest.approx(_nbinom_exact(k, mu, 20.0), rel=1e-6)


def test_binomial_tail() -> None:
    exact = sum(math.comb(10, i) * 0.3**i * 0.7 ** (10 - i) for i in range(7, 11))
    assert binom_sf(7, 10, 0.3) == pytest.approx(exact, rel=1e-9)


def test_edges() -> None:
    assert poisson_sf(0, 3.0) == 1.0
    assert poisson_sf(2, 0.0) == 0.0
    assert nbinom_sf(5, 2.0, None) == poisson_sf(5, 2.0)


@given(st.floats(0.1, 200), st.floats(0.01, 200), st.floats(0.01, 5))
def test_tails_fall_as_the_count_rises(x: float, mu: float, step: float) -> None:
    assert poisson_sf(x + step, mu) <= poisson_sf(x, mu) + 1e-12
    assert nbinom_sf(x + step, mu, 20.0) <= nbinom_sf(x, mu, 20.0) + 1e-12
    if x >= 2 * mu + 3:  # far in the tail the overdispersed tail is the heavier one
        assert poisson_sf(x, mu) <= nbinom_sf(x, mu, 20.0) + 1e-12
