"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987; the form of Fader & Hardie's 2005 note).

While alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α) and dies after an exponential
lifetime with rate μ ~ Gamma(s, β). Integrating over λ, μ and the death time τ gives, for (x, t_x, T):

    L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^-(r+x) (β+T)^-s + s ∫_{t_x}^{T} (α+τ)^-(r+x) (β+τ)^-(s+1) dτ ]

The integral (the closed form writes it with Gauss hypergeometric functions, whose derivatives in r and s
have no closed form) is evaluated by a 32-node Gauss–Legendre rule after the substitution
w = ((c+t_x)/(c+τ))^m with c = max(α, β) and m = (r+s+x)/3: the integrand becomes w² times a bounded smooth
function (m = r+s+x would make it bounded but with a cusp at w = 0; the factor w² removes the cusp). Against
adaptive quadrature the relative error is below 1e-12 for typical customers and 1e-9 for 99% of random
parameter/data draws (tests/unit/clv). The gradient is analytic: derivatives are taken under the integral
sign at the same nodes.
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial.legendre import leggauss
from scipy.special import digamma, gammaln

from weixi.clv.mle import FitResult, maximise
from weixi.clv.rfm import RFM, summarise, thin

NAMES = ("r", "alpha", "s", "beta")
NODES = 32
SPLIT = 3  # w = ((c+t_x)/(c+τ))^((r+s+x)/SPLIT)
WARM_START_CUSTOMERS = 100_000  # larger populations start from a fit on a sample of this size
BLOCK = 8192  # rows evaluated at once (keeps the rows × nodes arrays in cache)
_u, _wt = leggauss(NODES)
_U01, _LOG_W01 = (_u + 1) / 2, np.log(_wt / 2)


def _block(params, x, t_x, T, want_grad: bool):
    r, alpha, s, beta = params
    c = max(alpha, beta)
    rx = r + x
    K = rx + s
    m = K / SPLIT
    log_ct = np.log(c + t_x)
    with np.errstate(divide="ignore"):
        log_w0 = m * (log_ct - np.log(c + T))
        w0 = np.exp(log_w0)
        span = -np.expm1(log_w0)  # 1 - w0
        w = w0[:, None] + span[:, None] * _U01[None, :]
        log_w = np.log(w)
        log_v = log_w / m[:, None]
        log_c_tau = log_ct[:, None] - log_v  # ln(c + τ)
        c_tau = np.exp(log_c_tau)
        a_tau = c_tau - (c - alpha)
        b_tau = c_tau - (c - beta)
        la_tau = log_c_tau if alpha == c else np.log(a_tau)
        lb_tau = log_c_tau if beta == c else np.log(b_tau)
        # ln of: weight · g(τ) · dτ/dw, with dτ/dw = (c+t_x) / (v m w)
        log_q = (np.log(span)[:, None] + _LOG_W01[None, :] - rx[:, None] * la_tau - (s + 1) * lb_tau
                 + log_c_tau - np.log(m)[:, None] - log_w)
        log_sq = np.log(s) + log_q  # the s·∫ term at each node
    la_T, lb_T = np.log(alpha + T), np.log(beta + T)
    log_A = -rx * la_T - s * lb_T
    m = np.maximum(log_A, log_sq.max(axis=1))
    e_A = np.exp(log_A - m)
    e_k = np.exp(log_sq - m[:, None])
    D = e_A + e_k.sum(axis=1)
    log_D = m + np.log(D)
    ll = gammaln(rx) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + log_D
    pA = e_A / D
    if not want_grad:
        return ll, pA
    pk = e_k / D[:, None]
    inv_c_tau = 1.0 / c_tau
    inv_a = inv_c_tau if alpha == c else 1.0 / a_tau
    inv_b = inv_c_tau if beta == c else 1.0 / b_tau
    d_r = digamma(rx) - digamma(r) + np.log(alpha) - pA * la_T - (pk * la_tau).sum(axis=1)
    d_alpha = r / alpha - rx * (pA / (alpha + T) + (pk * inv_a).sum(axis=1))
    d_s = np.log(beta) - pA * lb_T + (1.0 - pA) / s - (pk * lb_tau).sum(axis=1)
    d_beta = s / beta - pA * s / (beta + T) - (s + 1) * (pk * inv_b).sum(axis=1)
    return ll, np.stack([d_r, d_alpha, d_s, d_beta])


def _blocks(params, x, t_x, T, want_grad):
    x, t_x, T = (np.atleast_1d(np.asarray(v, dtype=float)) for v in np.broadcast_arrays(x, t_x, T))
    for i in range(0, len(x), BLOCK):
        yield _block(params, x[i:i + BLOCK], t_x[i:i + BLOCK], T[i:i + BLOCK], want_grad)


def log_likelihood(params, x, t_x, T) -> np.ndarray:
    """Per-customer log-likelihood (vectorised)."""
    return np.concatenate([ll for ll, _ in _blocks(params, x, t_x, T, False)])


def loglik_grad(params, x, t_x, T, w) -> tuple[float, np.ndarray]:
    """Weighted total log-likelihood and its gradient in (r, alpha, s, beta)."""
    total, grad, i = 0.0, np.zeros(4), 0
    for ll, g in _blocks(params, x, t_x, T, True):
        wb = w[i:i + len(ll)]
        total += float(wb @ ll)
        grad += g @ wb
        i += len(ll)
    return total, grad


def start_values(data: RFM) -> np.ndarray:
    scale = float(np.average(data.T, weights=data.weights))
    return np.array([1.0, scale, 1.0, scale])


def fit(data: RFM, start=None) -> FitResult:
    s = start_values(data) if start is None else np.asarray(start, dtype=float)
    if data.customers > WARM_START_CUSTOMERS:
        s = np.array(list(fit(thin(data, WARM_START_CUSTOMERS), s).params.values()))
    return maximise("paretonbd", NAMES, lambda p: loglik_grad(p, data.x, data.t_x, data.T, data.weights), s,
                    data.weights.sum(), data.rows)


def fit_customers(x, t_x, T) -> FitResult:
    return fit(summarise(x, t_x, T))


def p_alive(params, x, t_x, T) -> np.ndarray:
    """P(alive at T | x, t_x, T): the share of the likelihood in which the customer outlives T."""
    return np.concatenate([pa for _, pa in _blocks(params, x, t_x, T, False)])


def expected_if_alive(params, t, x, T) -> np.ndarray:
    """E[transactions in (T, T+t] | x, T, alive at T] = (r+x)(β+T) / ((α+T)(s-1)) · [1 - ((β+T)/(β+T+t))^(s-1)];
    the bracket over (s-1) is taken as its limit ln((β+T+t)/(β+T)) at s = 1."""
    r, alpha, s, beta = params
    x, T, t = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, T, t)))
    log_ratio = np.log(beta + T + t) - np.log(beta + T)
    return (r + x) * (beta + T) / (alpha + T) * _one_minus_pow_over(s - 1, log_ratio)


def conditional_expected(params, t, x, t_x, T) -> np.ndarray:
    """E[transactions in (T, T+t] | x, t_x, T] = E[... | alive] · P(alive)."""
    return expected_if_alive(params, t, x, T) * p_alive(params, x, t_x, T)


def expected(params, t) -> np.ndarray:
    """E[X(t)] for a new customer: rβ/(α(s-1)) · [1 - (β/(β+t))^(s-1)]."""
    r, alpha, s, beta = params
    t = np.asarray(t, dtype=float)
    return r * beta / alpha * _one_minus_pow_over(s - 1, np.log(beta + t) - np.log(beta))


def _one_minus_pow_over(k: float, log_ratio):
    """(1 - e^(-k·log_ratio)) / k, continuous at k = 0 (= log_ratio)."""
    if abs(k) < 1e-10:
        return np.asarray(log_ratio, dtype=float)
    return -np.expm1(-k * log_ratio) / k
