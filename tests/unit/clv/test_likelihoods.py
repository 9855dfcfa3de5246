"""Each vectorised log-likelihood against the paper's formula written out for one customer at a time."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import hyp2f1

from weixi.clv import bgnbd, gammagamma, paretonbd, sbg

CASES = [
    (0, 0.0, 10.0),
    (1, 2.5, 10.0),
    (3, 9.0, 10.0),
    (7, 4.0, 38.86),
    (2, 30.43, 38.86),
    (15, 38.0, 39.0),
    (40, 20.0, 26.0),
    (0, 0.0, 0.5),
]


def lbeta(a, b):
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def bgnbd_direct(params, x, t_x, T):
    """FHL 2005, eq. 6, in plain floats."""
    r, alpha, a, b = params
    common = math.exp(math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha))
    alive = math.exp(lbeta(a, b + x) - lbeta(a, b)) / (alpha + T) ** (r + x)
    dead = math.exp(lbeta(a + 1, b + x - 1) - lbeta(a, b)) / (alpha + t_x) ** (r + x) if x > 0 else 0.0
    return math.log(common * (alive + dead))


def pareto_closed_form(params, x, t_x, T):
    """Fader & Hardie's (2005) note: the Pareto/NBD likelihood through Gauss hypergeometric functions."""
    r, alpha, s, beta = params
    k = r + s + x
    if alpha >= beta:
        big, other, second = alpha, beta, s + 1
    else:
        big, other, second = beta, alpha, r + x

    def term(t):
        return hyp2f1(k, second, k + 1, (big - other) / (big + t)) / (big + t) ** k

    a0 = term(t_x) - term(T)
    core = 1 / ((alpha + T) ** (r + x) * (beta + T) ** s) + s / k * a0
    return math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha) + s * math.log(beta) + math.log(core)


def pareto_by_quad(params, x, t_x, T):
    """The integral form, by adaptive quadrature."""
    r, alpha, s, beta = params
    integral = quad(lambda u: (alpha + u) ** -(r + x) * (beta + u) ** -(s + 1), t_x, T, epsabs=0, epsrel=1e-13)[0]
    core = (alpha + T) ** -(r + x) * (beta + T) ** -s + s * integral
    return math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha) + s * math.log(beta) + math.log(core)


@pytest.mark.parametrize("params", [(0.243, 4.414, 0.793, 2.426), (2.0, 1.5, 3.0, 0.4), (0.5, 30.0, 1.2, 8.0)])
def test_bgnbd_matches_the_formula_customer_by_customer(params):
    x, t_x, T = map(np.array, zip(*CASES))
    expected = [bgnbd_direct(params, *c) for c in CASES]
    np.testing.assert_allclose(bgnbd.log_likelihood(params, x, t_x, T), expected, rtol=1e-12)


@pytest.mark.parametrize(
    "params", [(0.553, 10.578, 0.606, 11.669), (1.5, 3.0, 0.4, 20.0), (0.3, 25.0, 2.0, 5.0), (0.8, 2.0, 0.9, 2.0)]
)
def test_paretonbd_matches_the_closed_form_and_adaptive_quadrature(params):
    x, t_x, T = map(np.array, zip(*CASES))
    ours = paretonbd.log_likelihood(params, x, t_x, T)
    np.testing.assert_allclose(ours, [pareto_by_quad(params, *c) for c in CASES], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours, [pareto_closed_form(params, *c) for c in CASES], rtol=1e-8)


def test_paretonbd_p_alive_and_expectations_match_the_closed_forms():
    p = (0.553, 10.578, 0.606, 11.669)
    r, alpha, s, beta = p
    for x, t_x, T in CASES:
        core = math.exp(
            pareto_closed_form(p, x, t_x, T)
            - math.lgamma(r + x)
            + math.lgamma(r)
            - r * math.log(alpha)
            - s * math.log(beta)
        )
        alive = 1 / ((alpha + T) ** (r + x) * (beta + T) ** s) / core
        assert paretonbd.p_alive(p, [x], [t_x], [T])[0] == pytest.approx(alive, rel=1e-9)
        t = 39.0
        e = (r + x) * (beta + T) / ((alpha + T) * (s - 1)) * (1 - ((beta + T) / (beta + T + t)) ** (s - 1)) * alive
        assert paretonbd.conditional_expected(p, t, x, t_x, T) == pytest.approx(e, rel=1e-9)
    assert paretonbd.expected(p, 52.0) == pytest.approx(
        r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + 52)) ** (s - 1))
    )


def test_bgnbd_p_alive_is_one_without_repeats_and_falls_with_time_since_last_purchase():
    p = (0.243, 4.414, 0.793, 2.426)
    assert bgnbd.p_alive(p, 0, 0, 30) == 1.0
    recent, stale = bgnbd.p_alive(p, [5, 5], [29.0, 5.0], [30.0, 30.0])
    assert 0 < stale < recent < 1


def test_gammagamma_matches_the_formula():
    params = (6.25, 3.74, 15.44)
    p, q, g = params
    rows = [(1, 10.0), (2, 22.35), (5, 47.5), (12, 8.1)]
    for x, m in rows:
        direct = (
            math.lgamma(p * x + q)
            - math.lgamma(p * x)
            - math.lgamma(q)
            + q * math.log(g)
            + (p * x - 1) * math.log(m)
            + p * x * math.log(x)
            - (p * x + q) * math.log(g + m * x)
        )
        assert gammagamma.log_likelihood(params, [x], [m])[0] == pytest.approx(direct, rel=1e-12)
    # the expected spend is a weighted mean of the population mean and the customer's own average
    x, m = 4, 30.0
    weight = p * x / (p * x + q - 1)
    assert gammagamma.conditional_expected_spend(params, x, m) == pytest.approx(
        (1 - weight) * p * g / (q - 1) + weight * m
    )
    # without repeat purchases, or without a known average, the population mean
    assert gammagamma.conditional_expected_spend(params, [0, 3], [0.0, np.nan]) == pytest.approx([p * g / (q - 1)] * 2)


def test_sbg_matches_the_recursive_formula():
    """Fader & Hardie 2007, eq. 7: P(T=1) = α/(α+β), P(T=t) = (β+t-2)/(α+β+t-1) · P(T=t-1)."""
    a, b = 0.704, 1.182
    probs = [a / (a + b)]
    for t in range(2, 9):
        probs.append((b + t - 2) / (a + b + t - 1) * probs[-1])
    ll = sbg.log_likelihood((a, b), np.arange(1, 9), np.ones(8, bool))
    np.testing.assert_allclose(ll, np.log(probs), rtol=1e-12)
    surv = 1 - np.cumsum(probs)
    np.testing.assert_allclose(sbg.survival((a, b), np.arange(1, 9)), surv, rtol=1e-10)
    np.testing.assert_allclose(sbg.log_likelihood((a, b), np.arange(1, 9), np.zeros(8, bool)), np.log(surv), rtol=1e-10)
    assert sbg.retention((a, b), 3) == pytest.approx(surv[2] / surv[1])
