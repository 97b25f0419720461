"""Upper tails of count distributions, without scipy.

``poisson_sf(x, mu)`` and ``nbinom_sf(x, mu, size)`` give P(X >= x). They accept a real ``x``
(complaint counts are probability-weighted) through the usual continuous extension: the
regularized incomplete gamma P(x, mu) for Poisson and the regularized incomplete beta
I_{mu/(mu+size)}(x, size) for the negative binomial (a gamma-Poisson mixture: variance
mu + mu^2/size). For integer x both equal the exact discrete tails. Numerical Recipes
series/continued-fraction evaluations, good to ~1e-12 relative.
"""

from __future__ import annotations

import math

_EPS = 1e-15
_TINY = 1e-300
_MAX_ITER = 500


def poisson_sf(x: float, mu: float) -> float:
    """P(X >= x) for X ~ Poisson(mu)."""
    if x <= 0:
        return 1.0
    if mu <= 0:
        return 0.0
    return regularized_gamma_lower(x, mu)


def nbinom_sf(x: float, mu: float, size: float | None) -> float:
    """P(X >= x) for a negative binomial with mean mu and dispersion size (None: Poisson)."""
    if size is None or size <= 0:
        return poisson_sf(x, mu)
    if x <= 0:
        return 1.0
    if mu <= 0:
        return 0.0
    return regularized_beta(mu / (mu + size), x, size)


def binom_sf(k: float, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    return regularized_beta(p, k, n - k + 1)


def regularized_gamma_lower(a: float, x: float) -> float:
    """P(a, x) = gamma(a, x) / Gamma(a)."""
    if x <= 0:
        return 0.0
    if x < a + 1:
        return _gamma_series(a, x)
    return 1.0 - _gamma_continued_fraction(a, x)


def _gamma_series(a: float, x: float) -> float:
    term = total = 1.0 / a
    ap = a
    for _ in range(_MAX_ITER * 4):
        ap += 1
        term *= x / ap
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gamma_continued_fraction(a: float, x: float) -> float:
    b = x + 1 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITER * 4):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < _EPS:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1) / (a + b + 2):
        return front * _beta_continued_fraction(x, a, b) / a
    return 1.0 - front * _beta_continued_fraction(1 - x, b, a) / b


def _beta_continued_fraction(x: float, a: float, b: float) -> float:
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1.0 / (_TINY if abs(d) < _TINY else d)
    h = d
    for m in range(1, _MAX_ITER):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), None):
            if aa is None:
                aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
            d = 1 + aa * d
            d = 1.0 / (_TINY if abs(d) < _TINY else d)
            c = 1 + aa / c
            c = _TINY if abs(c) < _TINY else c
            h *= d * c
        if abs(d * c - 1) < _EPS:
            break
    return h
