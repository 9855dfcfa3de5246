"""Draws from the generative processes of the models, for parameter-recovery tests and benchmarks.

Pure numpy: the caller passes a ``numpy.random.Generator``; every draw is vectorised.
"""

from __future__ import annotations

import numpy as np


def ages(rng: np.random.Generator, n: int, max_age: float, cohort_span: float, per_unit: int | None = 7) -> np.ndarray:
    """Customer ages T: first purchases spread uniformly over ``cohort_span`` units before ``max_age``;
    rounded to whole days (``per_unit`` days per unit) like ages computed from dated transactions."""
    T = max_age - rng.uniform(0, cohort_span, n)
    return _round(T, per_unit, floor=1)


def _round(v: np.ndarray, per_unit: int | None, floor: int = 0) -> np.ndarray:
    if per_unit is None:
        return v
    return np.maximum(np.round(v * per_unit), floor) / per_unit


def bgnbd(rng: np.random.Generator, params, T: np.ndarray, per_unit: int | None = 7):
    """(x, t_x) under BG/NBD: λ ~ Gamma(r, α), p ~ Beta(a, b); the number of repeat purchases until dropout
    J ~ Geometric(p); x = min(J, N(T)) with N(T) ~ Poisson(λT); given N(T) = N, the x-th purchase time is
    the x-th of N uniform order statistics, T·Beta(x, N-x+1)."""
    r, alpha, a, b = params
    n = len(T)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    J = rng.geometric(p)
    N = rng.poisson(lam * T)
    x = np.minimum(J, N)
    return x.astype(float), _recency(rng, x, N, T, per_unit)


def paretonbd(rng: np.random.Generator, params, T: np.ndarray, per_unit: int | None = 7):
    """(x, t_x) under Pareto/NBD: λ ~ Gamma(r, α), μ ~ Gamma(s, β), lifetime τ ~ Exp(μ); purchases are a
    Poisson(λ) process on (0, min(τ, T)]; t_x is the last of them."""
    r, alpha, s, beta = params
    n = len(T)
    lam = rng.gamma(r, 1.0 / alpha, n)
    mu = rng.gamma(s, 1.0 / beta, n)
    span = np.minimum(rng.exponential(1.0 / mu), T)
    x = rng.poisson(lam * span)
    return x.astype(float), _recency(rng, x, x, span, per_unit, T)


def _recency(rng, x, N, span, per_unit, T=None):
    t_x = np.zeros(len(x))
    rep = x > 0
    t_x[rep] = span[rep] * rng.beta(x[rep], N[rep] - x[rep] + 1)
    if per_unit is not None:
        t_x[rep] = np.maximum(np.round(t_x[rep] * per_unit), 1) / per_unit
    return np.minimum(t_x, span if T is None else T)


def gammagamma(rng: np.random.Generator, params, x: np.ndarray) -> np.ndarray:
    """Average spend m_x of x > 0 transactions: ν ~ Gamma(q, rate γ), each spend ~ Gamma(p, rate ν), so the
    sum of x spends ~ Gamma(p·x, rate ν)."""
    p, q, gamma = params
    nu = rng.gamma(q, 1.0 / gamma, len(x))
    return rng.gamma(p * x, 1.0 / nu) / x


def sbg(rng: np.random.Generator, params, n: int, periods: int) -> tuple[np.ndarray, np.ndarray]:
    """(tenure, churned) under sBG: θ ~ Beta(α, β), churn period ~ Geometric(θ), observed for ``periods``."""
    alpha, beta = params
    theta = rng.beta(alpha, beta, n)
    churn_at = rng.geometric(theta)
    churned = churn_at <= periods
    return np.where(churned, churn_at, periods).astype(float), churned
