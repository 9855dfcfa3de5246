"""The published estimates: Fader, Hardie & Lee (2005) on the 2,357-customer CDNOW sample (39-week
calibration), and Fader & Hardie (2007) sBG on the regular and high-end survival tables."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.clv.conftest import survival
from weixi.clv import bgnbd, gammagamma, paretonbd, sbg


def values(fit):
    return np.array(list(fit.params.values()))


def test_bgnbd_cdnow_reproduces_fhl_2005(cdnow):
    fit = bgnbd.fit_customers(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    # "Counting your customers the easy way" (2005): r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = -9582.4
    np.testing.assert_allclose(values(fit), [0.243, 4.414, 0.793, 2.426], atol=1e-3)
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.05)
    assert (fit.customers, fit.rows) == (2357, 1016)
    p = values(fit)
    # Hardie's spreadsheet: a customer with x = 2, t_x = 30.43, T = 38.86 makes 1.226 purchases in the next 39 weeks
    assert bgnbd.conditional_expected(p, 39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=1e-3)
    # and the expected repeat purchases of a new customer
    np.testing.assert_allclose(
        bgnbd.expected(p, [0.1429, 1.0, 3.0, 31.8571, 32.0, 78.0]),
        [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576],
        atol=1e-3,
    )
    assert bgnbd.p_alive(p, 0, 0, 38.86) == 1.0


def test_paretonbd_cdnow_reproduces_published(cdnow):
    fit = paretonbd.fit_customers(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    # r = 0.553, α = 10.578, s = 0.606, β = 11.669; LL = -9595.0 (FHL 2005, Pareto/NBD on the same data)
    np.testing.assert_allclose(values(fit), [0.553, 10.578, 0.606, 11.669], atol=1.5e-3)
    assert fit.log_likelihood == pytest.approx(-9595.0, abs=0.05)


def test_gammagamma_cdnow_reproduces_fhl_rfm_clv(cdnow_spend):
    rep = cdnow_spend["x"] > 0
    fit = gammagamma.fit(cdnow_spend["x"][rep], cdnow_spend["zbar"][rep])
    # "RFM and CLV" (FHL 2005): p = 6.25, q = 3.74, γ = 15.44 on the 946 repeat buyers
    assert fit.customers == 946
    np.testing.assert_allclose(values(fit), [6.25, 3.74, 15.44], atol=1.5e-2)
    p, q, g = values(fit)
    assert gammagamma.population_mean_spend(values(fit)) == pytest.approx(p * g / (q - 1))


@pytest.mark.parametrize("cohort, expected", [("high_end", (0.668, 3.806)), ("regular", (0.704, 1.182))])
def test_sbg_reproduces_fader_hardie_2007(cohort, expected):
    fit = sbg.fit_survival(survival(cohort, 7))
    np.testing.assert_allclose(values(fit), expected, atol=1e-3)
    # the paper's point: the model fitted on years 0-7 projects years 8-12 closely
    actual = np.array(survival(cohort, 12)[8:], dtype=float)
    projected = 1000 * sbg.survival(values(fit), np.arange(8, 13))
    assert np.all(np.abs(projected / actual - 1) < 0.05)


def test_sbg_log_likelihood_and_derl_reference_values():
    t, churned, n = sbg.from_survival(survival("high_end", 7))
    # at α = β = 1: Σ lost_t ln(1/(t(t+1))) + 491 ln(1/8)
    direct = sum(k * np.log(1 / (ti * (ti + 1))) for ti, k in zip(t[:-1], n[:-1])) + 491 * np.log(1 / 8)
    assert float(sbg.log_likelihood((1.0, 1.0), t, churned) @ n) == pytest.approx(direct, rel=1e-12)
    assert direct == pytest.approx(-2115.5, abs=0.05)
    # discounted expected residual lifetime of the high-end survivors after 7 renewals at 10%: 7.530 periods
    assert float(sbg.derl((0.668, 3.806), 7, 0.10)) == pytest.approx(7.530, abs=2e-3)
