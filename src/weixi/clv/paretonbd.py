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
WARM_START_CUSTOMERS = 20_000  # larger populations start from a fit on a sample of this size
BLOCK = 4096  # rows evaluated at once (keeps the rows × nodes arrays in cache)
_u, _wt = leggauss(NODES)
_U01, _W01 = (_u + 1) / 2, _wt / 2


def _block(params, x, t_x, T, want_grad: bool):
    r, alpha, s, beta = params
    c = max(alpha, beta)
    alpha_is_c = alpha >= beta
    shift = c - min(alpha, beta)  # the other factor's base: (other + τ) = (c + τ) - shift
    rx = r + x
    m = (rx + s) / SPLIT
    e_c = rx if alpha_is_c else np.full_like(rx, s + 1)  # exponent of (c + τ)
    e_o = np.full_like(rx, s + 1) if alpha_is_c else rx  # exponent of (other + τ)
    log_ct = np.log(c + t_x)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_w0 = m * (log_ct - np.log(c + T))
        span = -np.expm1(log_w0)  # 1 - w0; 0 when t_x = T
        log_w = np.log(np.exp(log_w0)[:, None] + span[:, None] * _U01[None, :])
        log_c_tau = log_ct[:, None] - log_w / m[:, None]  # ln(c + τ) at the nodes
        c_tau = np.exp(log_c_tau)
        o_tau = c_tau - shift
        log_o_tau = np.log(o_tau)
        # ln g(τ)·dτ/dw without the row constants, with dτ/dw = (c+t_x) / (v m w) = (c+τ) / (m w)
        core = (1.0 - e_c)[:, None] * log_c_tau - e_o[:, None] * log_o_tau - log_w
        top = core.max(axis=1)
        e_k = np.exp(core - top[:, None]) * _W01[None, :]
        total = e_k.sum(axis=1)
        log_sI = top + np.log(total) + np.log(span) - np.log(m) + np.log(s)  # ln(s · ∫)
    la_T, lb_T = np.log(alpha + T), np.log(beta + T)
    log_A = -rx * la_T - s * lb_T
    log_D = np.logaddexp(log_A, log_sI)
    ll = gammaln(rx) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + log_D
    pA = np.exp(log_A - log_D)
    if not want_grad:
        return ll, pA
    # node shares of the likelihood: pk = s·q_k / D, summing to 1 - pA
    scale = np.where(total > 0, (1.0 - pA) / np.where(total > 0, total, 1.0), 0.0)
    pk = e_k * scale[:, None]
    la_tau, lb_tau = (log_c_tau, log_o_tau) if alpha_is_c else (log_o_tau, log_c_tau)
    inv_a, inv_b = (1.0 / c_tau, 1.0 / o_tau) if alpha_is_c else (1.0 / o_tau, 1.0 / c_tau)
    rowdot = lambda u, v: np.einsum("ij,ij->i", u, v)  # noqa: E731
    d_r = digamma(rx) - digamma(r) + np.log(alpha) - pA * la_T - rowdot(pk, la_tau)
    d_alpha = r / alpha - rx * (pA / (alpha + T) + rowdot(pk, inv_a))
    d_s = np.log(beta) - pA * lb_T + (1.0 - pA) / s - rowdot(pk, lb_tau)
    d_beta = s / beta - pA * s / (beta + T) - (s + 1) * rowdot(pk, inv_b)
    return ll, np.stack([d_r, d_alpha, d_s, d_beta])


def _blocks(params, x, t_x, T, want_grad):
    x, t_x, T = (np.atleast_1d(np.asarray(v, dtype=float)) for v in np.broadcast_arrays(x, t_x, T))
    for i in range(0, len(x), BLOCK):
        yield _block(params, x[i : i + BLOCK], t_x[i : i + BLOCK], T[i : i + BLOCK], want_grad)


def log_likelihood(params, x, t_x, T) -> np.ndarray:
    """Per-customer log-likelihood (vectorised)."""
    shape = np.broadcast(x, t_x, T).shape
    return np.concatenate([ll for ll, _ in _blocks(params, x, t_x, T, False)]).reshape(shape)


def loglik_grad(params, x, t_x, T, w) -> tuple[float, np.ndarray]:
    """Weighted total log-likelihood and its gradient in (r, alpha, s, beta)."""
    total, grad, i = 0.0, np.zeros(4), 0
    for ll, g in _blocks(params, x, t_x, T, True):
        wb = w[i : i + len(ll)]
        total += float(wb @ ll)
        grad += g @ wb
        i += len(ll)
    return total, grad


def start_values(data: RFM) -> np.ndarray:
    scale = float(np.average(data.T, weights=data.weights))
    return np.array([1.0, scale, 1.0, scale])


def fit(data: RFM, start=None, warm_start: bool = True) -> FitResult:
    s = start_values(data) if start is None else np.asarray(start, dtype=float)
    hess_inv0 = None
    if warm_start and data.customers > WARM_START_CUSTOMERS:
        warm = fit(thin(data, WARM_START_CUSTOMERS), s, warm_start=False)
        s, hess_inv0 = np.array(list(warm.params.values())), warm.hess_inv
    return maximise(
        "paretonbd",
        NAMES,
        lambda p: loglik_grad(p, data.x, data.t_x, data.T, data.weights),
        s,
        data.weights.sum(),
        data.rows,
        hess_inv0,
    )


def fit_customers(x, t_x, T) -> FitResult:
    return fit(summarise(x, t_x, T))


def p_alive(params, x, t_x, T) -> np.ndarray:
    """P(alive at T | x, t_x, T): the share of the likelihood in which the customer outlives T."""
    shape = np.broadcast(x, t_x, T).shape
    return np.concatenate([pa for _, pa in _blocks(params, x, t_x, T, False)]).reshape(shape)


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
