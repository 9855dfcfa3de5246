"""Customer value from a fitted transaction model (BG/NBD or Pareto/NBD) and the Gamma-Gamma spend model.

For each customer: P(alive), expected transactions over a horizon, the same discounted, expected value of
a transaction and CLV = discounted expected transactions × expected value. Discounting: the horizon is cut
into equal steps (one model time unit each, at most ``MAX_STEPS``); the transactions expected in a step are
discounted to the calibration end at the annual ``discount_rate`` from the end of the step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from weixi.clv import bgnbd, gammagamma, paretonbd
from weixi.clv.errors import DataError
from weixi.clv.mle import single_threaded_blas
from weixi.clv.rfm import collapse

TRANSACTION_MODELS = {"bgnbd": bgnbd, "paretonbd": paretonbd}
MAX_STEPS = 120
UNITS_PER_YEAR = {"day": 365.25, "week": 365.25 / 7, "month": 12.0}


@dataclass(frozen=True)
class Scores:
    p_alive: np.ndarray
    expected_transactions: np.ndarray
    discounted_transactions: np.ndarray
    expected_spend: np.ndarray | None
    clv: np.ndarray | None


def steps(horizon: float) -> np.ndarray:
    """End points of the discounting steps over (0, horizon]."""
    if not horizon > 0:
        raise DataError("clv_horizon_must_be_positive")
    n = min(MAX_STEPS, max(1, math.ceil(horizon - 1e-9)))
    return np.linspace(horizon / n, horizon, n)


def score(
    model: str,
    params,
    x,
    t_x,
    T,
    horizon: float,
    discount_rate: float = 0.0,
    unit: str = "week",
    spend_params=None,
    monetary=None,
) -> Scores:
    """Scores per (x, t_x, T) row; pass collapsed unique rows and broadcast back for speed."""
    with single_threaded_blas():
        return _score(model, params, x, t_x, T, horizon, discount_rate, unit, spend_params, monetary)


def _score(model, params, x, t_x, T, horizon, discount_rate, unit, spend_params, monetary) -> Scores:
    mod = TRANSACTION_MODELS[model]
    p = tuple(params)
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    alive = mod.p_alive(p, x, t_x, T)
    # E[transactions | alive] depends on (x, T) only: sum the discounted steps once per distinct pair
    (ux, uT), _, inv = collapse(x, T)
    per_unit = (1.0 + discount_rate) ** (1.0 / UNITS_PER_YEAR[unit])
    cumulative = np.zeros_like(ux)
    discounted = np.zeros_like(ux)
    for end in steps(horizon):
        now = mod.expected_if_alive(p, end, ux, uT)
        discounted += (now - cumulative) / per_unit**end
        cumulative = now
    expected_tx = cumulative[inv] * alive
    discounted = discounted[inv] * alive
    spend = clv = None
    if spend_params is not None:
        spend = gammagamma.conditional_expected_spend(
            tuple(spend_params), x, np.zeros_like(x) if monetary is None else monetary
        )
        clv = discounted * spend
    return Scores(alive, expected_tx, discounted, spend, clv)
