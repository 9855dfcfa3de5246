"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"; Colombo & Jiang 1999).

Each transaction's value is Gamma(p, ν) with a customer-level rate ν ~ Gamma(q, γ), independent of the
transaction process. For a customer with x > 0 repeat transactions of average value m_x:

    f(m_x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q · m_x^(px-1) · x^(px) / (γ + x·m_x)^(px+q)

and the expected value of a future transaction is (p(γ + x·m_x)) / (px + q - 1), a weighted mean of the
population mean pγ/(q-1) and the customer's own average m_x.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from weixi.clv.errors import DataError
from weixi.clv.mle import FitResult, maximise
from weixi.clv.rfm import collapse

NAMES = ("p", "q", "gamma")


def check(x, m) -> tuple[np.ndarray, np.ndarray]:
    """Repeat customers only: x > 0 whole numbers and positive finite average spend."""
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    if x.shape != m.shape or x.ndim != 1:
        raise DataError("clv_spend_arrays_shape")
    if len(x) == 0:
        raise DataError("clv_no_repeat_customers")
    for bad, code in (
        (~np.isfinite(x) | ~np.isfinite(m), "clv_spend_nonfinite"),
        (x <= 0, "clv_spend_frequency_zero"),
        (x != np.floor(x), "clv_spend_frequency_fraction"),
        (m <= 0, "clv_spend_monetary_not_positive"),
    ):
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(code, n=int(bad.sum()), row=i + 1, frequency=float(x[i]), monetary=float(m[i]))
    return x, m


def log_likelihood(params, x, m) -> np.ndarray:
    p, q, g = params
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(g)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(g + x * m)
    )


def loglik_grad(params, x, m, w) -> tuple[float, np.ndarray]:
    p, q, g = params
    px = p * x
    log_gxm = np.log(g + x * m)
    psi = digamma(px + q)
    d_p = x * (psi - digamma(px) + np.log(m) + np.log(x) - log_gxm)
    d_q = psi - digamma(q) + np.log(g) - log_gxm
    d_g = q / g - (px + q) / (g + x * m)
    return float(w @ log_likelihood(params, x, m)), np.array([w @ d_p, w @ d_q, w @ d_g])


def fit(x, m, start=None) -> FitResult:
    """Fit on repeat customers; identical (x, m_x) rows are collapsed with weights."""
    x, m = check(x, m)
    (ux, um), w, _ = collapse(x, m)
    s = np.array([1.0, 1.0, float(np.average(um, weights=w))]) if start is None else np.asarray(start, float)
    return maximise("gammagamma", NAMES, lambda prm: loglik_grad(prm, ux, um, w), s, w.sum(), len(ux))


def conditional_expected_spend(params, x, m) -> np.ndarray:
    """E[value of a transaction | x, m_x]; customers without repeat purchases (x = 0) or without a known
    average (m_x missing or 0) get the population mean pγ/(q-1)."""
    p, q, g = params
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    known = (x > 0) & np.isfinite(m) & (m > 0)
    x = np.where(known, x, 0.0)
    m = np.where(known, m, 0.0)
    return p * (g + x * m) / (p * x + q - 1)


def population_mean_spend(params) -> float:
    p, q, g = params
    return p * g / (q - 1) if q > 1 else float("inf")
