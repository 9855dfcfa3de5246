"""Per-customer summaries (frequency x, recency t_x, age T) and their collapse into weighted unique rows.

Fitting is cheap at any population size because the likelihood only depends on (x, t_x, T): identical rows
are collapsed into one row with a weight (the number of customers sharing it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from weixi.clv.errors import DataError


@dataclass(frozen=True)
class RFM:
    """Weighted unique (x, t_x, T) rows. ``inverse`` maps each original customer to its row."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    weights: np.ndarray
    inverse: np.ndarray

    @property
    def customers(self) -> int:
        return int(self.weights.sum())

    @property
    def rows(self) -> int:
        return len(self.x)


def check_rfm(x, t_x, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float arrays of equal length, finite, x >= 0 integral, 0 <= t_x <= T; t_x = 0 when x = 0. T = 0 (first
    purchase on the last calibration day) is allowed: such a customer adds nothing to the likelihood."""
    x = np.asarray(x, dtype=float)
    t_x = np.asarray(t_x, dtype=float)
    T = np.asarray(T, dtype=float)
    if not (x.shape == t_x.shape == T.shape) or x.ndim != 1:
        raise DataError("clv_rfm_arrays_shape")
    if len(x) == 0:
        raise DataError("clv_no_customers")
    problems = [
        (~np.isfinite(x) | ~np.isfinite(t_x) | ~np.isfinite(T), "clv_rfm_nonfinite"),
        (x < 0, "clv_rfm_negative_frequency"),
        (x != np.floor(x), "clv_rfm_frequency_fraction"),
        (t_x < 0, "clv_rfm_negative_recency"),
        (T < 0, "clv_rfm_negative_age"),
        (t_x > T * (1 + 1e-12), "clv_rfm_recency_beyond_age"),
        ((x == 0) & (t_x != 0), "clv_rfm_recency_without_repeats"),
    ]
    for bad, code in problems:
        if bad.any():
            idx = np.flatnonzero(bad)
            i = int(idx[0])
            raise DataError(code, n=len(idx), row=i + 1, frequency=float(x[i]), recency=float(t_x[i]), age=float(T[i]))
    return x, np.minimum(t_x, T), T


def collapse(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Unique rows over the given equal-length columns: (unique columns, weights, inverse index).

    Each column is coded by its sorted distinct values and the codes are combined into one int64 key, so one
    integer sort finds the unique rows (faster than a lexicographic sort of float columns)."""
    uniques, codes = [], []
    for c in columns:
        u, inv = np.unique(c, return_inverse=True)
        uniques.append(u)
        codes.append(inv.astype(np.int64).ravel())
    sizes = [len(u) for u in uniques]
    if float(np.prod(sizes, dtype=float)) >= 2.0**62:  # the combined key would overflow: sort rows instead
        stacked = np.stack(codes, axis=1)
        keys, inverse, counts = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
        return [u[keys[:, i]] for i, u in enumerate(uniques)], counts.astype(float), inverse.ravel()
    key = codes[0]
    for code, size in zip(codes[1:], sizes[1:]):
        key = key * size + code
    keys, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    out = []
    for u, size in zip(reversed(uniques), reversed(sizes)):
        out.append(u[keys % size])
        keys = keys // size
    return out[::-1], counts.astype(float), inverse.ravel()


def summarise(x, t_x, T) -> RFM:
    """Check and collapse per-customer (x, t_x, T) into weighted unique rows."""
    x, t_x, T = check_rfm(x, t_x, T)
    (ux, ut, uT), w, inv = collapse(x, t_x, T)
    return RFM(ux, ut, uT, w, inv)


def thin(data: RFM, customers: int, seed: int = 0) -> RFM:
    """A random subsample of about ``customers`` customers (binomial thinning of the weights), used to find
    good starting values cheaply before the fit on everyone."""
    rng = np.random.default_rng(seed)
    w = rng.binomial(data.weights.astype(np.int64), min(1.0, customers / data.customers)).astype(float)
    keep = w > 0
    return RFM(data.x[keep], data.t_x[keep], data.T[keep], w[keep], np.empty(0, dtype=np.int64))
