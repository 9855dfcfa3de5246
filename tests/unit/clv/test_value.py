"""Scores: horizon sums and discounting against a direct computation, one customer at a time."""

from __future__ import annotations

import numpy as np
import pytest

from weixi.clv import bgnbd, paretonbd, value

BG = (0.243, 4.414, 0.793, 2.426)
PN = (0.553, 10.578, 0.606, 11.669)


@pytest.mark.parametrize("model, params", [("bgnbd", BG), ("paretonbd", PN)])
def test_discounted_transactions_are_the_weekly_increments_discounted(model, params):
    mod = {"bgnbd": bgnbd, "paretonbd": paretonbd}[model]
    x, t_x, T = np.array([0.0, 2.0, 7.0]), np.array([0.0, 30.43, 12.0]), np.array([38.86, 38.86, 30.0])
    s = value.score(model, params, x, t_x, T, horizon=26, discount_rate=0.10, unit="week")
    weekly = (1.10) ** (1 / (365.25 / 7))
    for i in range(3):
        cum = [0.0] + [float(mod.conditional_expected(params, k, x[i], t_x[i], T[i])) for k in range(1, 27)]
        direct = sum((cum[k] - cum[k - 1]) / weekly**k for k in range(1, 27))
        assert s.discounted_transactions[i] == pytest.approx(direct, rel=1e-10)
        assert s.expected_transactions[i] == pytest.approx(cum[-1], rel=1e-10)
    undiscounted = value.score(model, params, x, t_x, T, horizon=26, discount_rate=0.0)
    np.testing.assert_allclose(undiscounted.discounted_transactions, undiscounted.expected_transactions, rtol=1e-12)
    assert np.all(s.discounted_transactions < s.expected_transactions)


def test_clv_is_discounted_transactions_times_expected_spend():
    gg = (6.25, 3.74, 15.44)
    s = value.score(
        "bgnbd",
        BG,
        [0, 3],
        [0, 20.0],
        [30.0, 30.0],
        horizon=52,
        discount_rate=0.1,
        spend_params=gg,
        monetary=[0.0, 40.0],
    )
    p, q, g = gg
    assert s.expected_spend[0] == pytest.approx(p * g / (q - 1))
    assert s.expected_spend[1] == pytest.approx(p * (g + 3 * 40.0) / (3 * p + q - 1))
    np.testing.assert_allclose(s.clv, s.discounted_transactions * s.expected_spend)


def test_long_horizons_use_at_most_max_steps_steps():
    assert len(value.steps(52)) == 52 and len(value.steps(0.5)) == 1
    ends = value.steps(520)
    assert len(ends) == value.MAX_STEPS and ends[-1] == 520
    with pytest.raises(ValueError):
        value.steps(0)
