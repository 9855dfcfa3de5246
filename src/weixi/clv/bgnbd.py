"""BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each repeat purchase they
drop out with probability p ~ Beta(a, b). For a customer with x repeat purchases, the last at t_x, observed
for T:

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
        + [x > 0] · B(a+1, b+x-1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, gammaln, hyp2f1

from weixi.clv.mle import FitResult, maximise
from weixi.clv.rfm import RFM, summarise, thin

NAMES = ("r", "alpha", "a", "b")
WARM_START_CUSTOMERS = 20_000  # larger populations start from a fit on a sample of this size


def _parts(params, x, t_x, T, xi=None, ux=None):
    """Per-row log-likelihood and its two terms; functions of x alone are computed once per distinct x."""
    r, alpha, a, b = params
    if xi is None:
        ux, xi = np.unique(x, return_inverse=True)
    rx = r + x
    term1 = betaln(a, b + ux)[xi] - rx * np.log(alpha + T)
    rep = x > 0
    term2 = np.full_like(term1, -np.inf)
    b_rep = betaln(a + 1, b + np.maximum(ux, 1) - 1)[xi]
    term2[rep] = b_rep[rep] - rx[rep] * np.log(alpha + t_x[rep])
    mix = np.logaddexp(term1, term2)
    ll = (gammaln(r + ux) - gammaln(r) + r * np.log(alpha) - betaln(a, b))[xi] + mix
    return ll, term1, term2, mix, xi, ux


def log_likelihood(params, x, t_x, T) -> np.ndarray:
    """Per-customer log-likelihood (vectorised)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    return _parts(params, x, t_x, T)[0]


def loglik_grad(params, x, t_x, T, w, xi=None, ux=None) -> tuple[float, np.ndarray]:
    """Weighted total log-likelihood and its gradient in (r, alpha, a, b)."""
    r, alpha, a, b = params
    ll, term1, term2, mix, xi, ux = _parts(params, x, t_x, T, xi, ux)
    w1 = np.exp(term1 - mix)  # share of the "still alive" term
    w2 = 1.0 - w1
    rx = r + x
    la_T, la_t = np.log(alpha + T), np.log(alpha + t_x)
    psi_abx = digamma(a + b + ux)
    d_r = (digamma(r + ux) - digamma(r) + np.log(alpha))[xi] - w1 * la_T - w2 * la_t
    d_alpha = r / alpha - rx * (w1 / (alpha + T) + w2 / (alpha + t_x))
    d_a = -(digamma(a) - digamma(a + b)) + w1 * (digamma(a) - psi_abx)[xi] + w2 * (digamma(a + 1) - psi_abx)[xi]
    d_b = (
        -(digamma(b) - digamma(a + b))
        + w1 * (digamma(b + ux) - psi_abx)[xi]
        + w2 * np.where(ux > 0, digamma(b + np.maximum(ux, 1) - 1) - psi_abx, 0.0)[xi]
    )
    grad = np.array([w @ d_r, w @ d_alpha, w @ d_a, w @ d_b])
    return float(w @ ll), grad


def start_values(data: RFM) -> np.ndarray:
    scale = float(np.average(data.T, weights=data.weights))
    return np.array([1.0, scale, 1.0, 1.0])


def fit(data: RFM, start=None, warm_start: bool = True) -> FitResult:
    s = start_values(data) if start is None else np.asarray(start, dtype=float)
    hess_inv0 = None
    if warm_start and data.customers > WARM_START_CUSTOMERS:
        warm = fit(thin(data, WARM_START_CUSTOMERS), s, warm_start=False)
        s, hess_inv0 = np.array(list(warm.params.values())), warm.hess_inv
    ux, xi = np.unique(data.x, return_inverse=True)
    return maximise(
        "bgnbd",
        NAMES,
        lambda p: loglik_grad(p, data.x, data.t_x, data.T, data.weights, xi, ux),
        s,
        data.weights.sum(),
        data.rows,
        hess_inv0,
    )


def fit_customers(x, t_x, T) -> FitResult:
    return fit(summarise(x, t_x, T))


def p_alive(params, x, t_x, T) -> np.ndarray:
    """P(still alive at T | x, t_x, T) = 1 / (1 + [x > 0] a/(b+x-1) ((α+T)/(α+t_x))^(r+x))."""
    r, alpha, a, b = params
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    rep = x > 0
    log_odds = np.where(
        rep,
        np.log(a) - np.log(np.where(rep, b + x - 1, 1.0)) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)),
        -np.inf,
    )
    return 1.0 / (1.0 + np.exp(log_odds))


def expected_if_alive(params, t, x, T) -> np.ndarray:
    """E[transactions in (T, T+t] | x, T, alive at T] (the first factor of FHL 2005, eq. 10)."""
    r, alpha, a, b = params
    x, T, t = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, T, t)))
    z = t / (alpha + T + t)
    ratio = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
    return (a + b + x - 1) / (a - 1) * (1.0 - ratio * hyp2f1(r + x, b + x, a + b + x - 1, z))


def conditional_expected(params, t, x, t_x, T) -> np.ndarray:
    """E[transactions in (T, T+t] | x, t_x, T] (FHL 2005, eq. 10) = E[... | alive] · P(alive)."""
    return expected_if_alive(params, t, x, T) * p_alive(params, x, t_x, T)


def expected(params, t) -> np.ndarray:
    """E[X(t)]: expected repeat transactions in (0, t] for a new customer (FHL 2005, eq. 7)."""
    r, alpha, a, b = params
    t = np.asarray(t, dtype=float)
    return (a + b - 1) / (a - 1) * (1.0 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
