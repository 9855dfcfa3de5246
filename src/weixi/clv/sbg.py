"""Shifted-beta-geometric contract renewals (Fader & Hardie 2007, "How to project customer retention").

At the end of each contract period a customer churns with probability θ ~ Beta(α, β), constant for the
customer. The chance of churning in period t (t = 1, 2, ...) and of still being a customer after t periods:

    P(T = t) = B(α+1, β+t-1) / B(α, β)        S(t) = B(α, β+t) / B(α, β)

Data are rows (t, churned, count): ``count`` customers churned in period t (churned) or were still
customers after t periods when observation stopped (not churned, right-censored). A cohort survival table
n_0, n_1, ..., n_k (customers at the start and after each period) becomes rows (t, True, n_{t-1} - n_t)
for t = 1..k and (k, False, n_k).
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, hyp2f1

from weixi.clv.errors import DataError
from weixi.clv.mle import FitResult, maximise
from weixi.clv.rfm import collapse

NAMES = ("alpha", "beta")


def from_survival(alive) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows (t, churned, count) from one cohort's counts n_0 >= n_1 >= ... >= n_k."""
    n = np.asarray(alive, dtype=float)
    if len(n) < 2:
        raise DataError("clv_survival_too_short")
    if np.any(~np.isfinite(n)) or np.any(n < 0) or np.any(n != np.floor(n)):
        raise DataError("clv_survival_counts_invalid")
    lost = n[:-1] - n[1:]
    if np.any(lost < 0):
        i = int(np.flatnonzero(lost < 0)[0])
        raise DataError("clv_survival_rises", period=i, before=float(n[i]), next=i + 1, after=float(n[i + 1]))
    k = len(n) - 1
    t = np.append(np.arange(1, k + 1), k).astype(float)
    churned = np.append(np.ones(k, bool), False)
    return t, churned, np.append(lost, n[-1])


def check(t, churned, count=None):
    t = np.asarray(t, dtype=float)
    churned = np.asarray(churned, dtype=bool)
    count = np.ones_like(t) if count is None else np.asarray(count, dtype=float)
    if len(t) == 0 or count.sum() <= 0:
        raise DataError("clv_renewals_empty")
    for bad, code in (
        (~np.isfinite(t) | ~np.isfinite(count), "clv_renewals_nonfinite"),
        (t != np.floor(t), "clv_renewals_tenure_fraction"),
        (churned & (t < 1), "clv_renewals_churn_before_1"),
        (t < 0, "clv_renewals_negative_tenure"),
        (count < 0, "clv_renewals_negative_count"),
    ):
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(code, n=int(bad.sum()), row=i + 1, tenure=float(t[i]))
    if not churned[count > 0].any():
        raise DataError("clv_nobody_churned")
    return t, churned, count


def log_likelihood(params, t, churned) -> np.ndarray:
    a, b = params
    t = np.asarray(t, dtype=float)
    churned = np.asarray(churned, dtype=bool)
    return np.where(churned, betaln(a + 1, b + np.maximum(t, 1) - 1), betaln(a, b + t)) - betaln(a, b)


def loglik_grad(params, t, churned, w) -> tuple[float, np.ndarray]:
    a, b = params
    ll = log_likelihood(params, t, churned)
    tm = np.maximum(t, 1)
    d_a = np.where(churned, digamma(a + 1) - digamma(a + b + tm), digamma(a) - digamma(a + b + t))
    d_b = np.where(churned, digamma(b + tm - 1) - digamma(a + b + tm), digamma(b + t) - digamma(a + b + t))
    d_a = d_a - (digamma(a) - digamma(a + b))
    d_b = d_b - (digamma(b) - digamma(a + b))
    return float(w @ ll), np.array([w @ d_a, w @ d_b])


def fit(t, churned, count=None, start=None) -> FitResult:
    t, churned, count = check(t, churned, count)
    (ut, uc), _, inv = collapse(t, churned.astype(float))
    w = np.bincount(inv, weights=count)
    keep = w > 0
    ut, uc, w = ut[keep], uc[keep].astype(bool), w[keep]
    s = np.array([1.0, 1.0]) if start is None else np.asarray(start, dtype=float)
    return maximise("sbg", NAMES, lambda p: loglik_grad(p, ut, uc, w), s, w.sum(), len(ut))


def fit_survival(alive) -> FitResult:
    return fit(*from_survival(alive))


def survival(params, t) -> np.ndarray:
    """S(t) = B(α, β+t)/B(α, β): share of a cohort still customers after t periods."""
    a, b = params
    t = np.asarray(t, dtype=float)
    return np.exp(betaln(a, b + t) - betaln(a, b))


def retention(params, t) -> np.ndarray:
    """r(t) = (β+t-1)/(α+β+t-1): share of customers at the end of period t-1 who renew at the end of t."""
    a, b = params
    t = np.asarray(t, dtype=float)
    return (b + t - 1) / (a + b + t - 1)


def p_renew(params, tenure) -> np.ndarray:
    """P(a customer who has renewed ``tenure`` times renews again) = (β+n)/(α+β+n)."""
    a, b = params
    n = np.asarray(tenure, dtype=float)
    return (b + n) / (a + b + n)


def expected_renewals(params, tenure, horizon: int) -> np.ndarray:
    """Expected number of further renewals in the next ``horizon`` periods for a customer with ``tenure``
    renewals so far: Σ_{k=1..horizon} B(α, β+n+k) / B(α, β+n)."""
    a, b = params
    n = np.asarray(tenure, dtype=float)
    k = np.arange(1, horizon + 1, dtype=float)
    return np.exp(betaln(a, b + n[..., None] + k) - betaln(a, b + n)[..., None]).sum(axis=-1)


def derl(params, tenure, discount: float) -> np.ndarray:
    """Discounted expected residual lifetime (Fader & Hardie 2010): the present value, in periods, of the
    future payments of a customer who has renewed ``tenure`` times, at ``discount`` per period:
    (β+n)/(α+β+n) · 2F1(1, β+n+1; α+β+n+1; 1/(1+d))."""
    a, b = params
    n = np.asarray(tenure, dtype=float)
    return (b + n) / (a + b + n) * hyp2f1(1.0, b + n + 1, a + b + n + 1, 1.0 / (1.0 + discount))
