"""Analytic gradients against central finite differences of the log-likelihood."""

from __future__ import annotations

import numpy as np
import pytest

from weixi.clv import bgnbd, gammagamma, paretonbd, sbg

RNG = np.random.default_rng(7)
X = np.array([0, 0, 1, 2, 3, 5, 8, 13, 1, 30], dtype=float)
T = np.array([5, 39, 39, 20, 38.5, 39, 30, 39, 1, 39], dtype=float)
TX = np.where(X > 0, T * RNG.uniform(0.1, 1.0, len(X)), 0.0)
W = RNG.integers(1, 5, len(X)).astype(float)


def numeric(f, params, h=1e-6):
    params = np.asarray(params, dtype=float)
    out = []
    for i in range(len(params)):
        up, down = params.copy(), params.copy()
        step = h * max(1.0, params[i])
        up[i] += step
        down[i] -= step
        out.append((f(up) - f(down)) / (2 * step))
    return np.array(out)


@pytest.mark.parametrize("params", [(0.243, 4.414, 0.793, 2.426), (1.7, 0.8, 2.5, 0.7), (0.5, 20.0, 0.3, 9.0)])
def test_bgnbd_gradient(params):
    ll, grad = bgnbd.loglik_grad(np.array(params), X, TX, T, W)
    assert ll == pytest.approx(W @ bgnbd.log_likelihood(params, X, TX, T))
    np.testing.assert_allclose(
        grad, numeric(lambda p: W @ bgnbd.log_likelihood(p, X, TX, T), params), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("params", [(0.553, 10.578, 0.606, 11.669), (1.3, 2.0, 0.4, 25.0), (0.4, 30.0, 1.8, 3.0)])
def test_paretonbd_gradient(params):
    ll, grad = paretonbd.loglik_grad(np.array(params), X, TX, T, W)
    assert ll == pytest.approx(W @ paretonbd.log_likelihood(params, X, TX, T))
    np.testing.assert_allclose(
        grad, numeric(lambda p: W @ paretonbd.log_likelihood(p, X, TX, T), params), rtol=1e-5, atol=1e-6
    )


def test_gammagamma_gradient():
    x = np.array([1, 2, 2, 5, 9], dtype=float)
    m = np.array([12.0, 30.5, 7.25, 19.0, 55.0])
    w = np.array([3.0, 1.0, 2.0, 1.0, 1.0])
    params = (6.25, 3.74, 15.44)
    _, grad = gammagamma.loglik_grad(np.array(params), x, m, w)
    np.testing.assert_allclose(grad, numeric(lambda p: w @ gammagamma.log_likelihood(p, x, m), params), rtol=1e-6)


def test_sbg_gradient():
    t, churned, n = sbg.from_survival([1000, 631, 468, 382, 326, 289, 262, 241])
    params = (0.9, 1.6)
    _, grad = sbg.loglik_grad(np.array(params), t, churned, n)
    np.testing.assert_allclose(grad, numeric(lambda p: n @ sbg.log_likelihood(p, t, churned), params), rtol=1e-6)
