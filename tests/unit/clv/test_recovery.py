"""Fitting data drawn from each model's own generative process gives back the parameters."""

from __future__ import annotations

import numpy as np
import pytest

from weixi.clv import bgnbd, gammagamma, paretonbd, sbg, simulate
from weixi.clv.rfm import collapse, summarise


def values(fit):
    return np.array(list(fit.params.values()))


def test_bgnbd_recovers_its_parameters_and_collapse_changes_nothing():
    rng = np.random.default_rng(11)
    truth = (0.6, 5.0, 0.9, 3.0)
    T = simulate.ages(rng, 30_000, 39, 12)
    x, t_x = simulate.bgnbd(rng, truth, T)
    data = summarise(x, t_x, T)
    assert data.rows < len(x)  # customers sharing (x, t_x, T) became one weighted row
    fit = bgnbd.fit(data)
    np.testing.assert_allclose(values(fit), truth, rtol=0.15)
    assert fit.customers == 30_000
    # the weighted fit is the fit on every customer
    assert fit.log_likelihood == pytest.approx(bgnbd.log_likelihood(values(fit), x, t_x, T).sum(), rel=1e-10)


def test_paretonbd_recovers_its_parameters():
    rng = np.random.default_rng(12)
    truth = (0.8, 8.0, 0.7, 12.0)
    T = simulate.ages(rng, 20_000, 39, 12)
    x, t_x = simulate.paretonbd(rng, truth, T)
    fit = paretonbd.fit(summarise(x, t_x, T))
    np.testing.assert_allclose(values(fit), truth, rtol=0.25)


def test_large_populations_start_from_a_sample_fit_and_agree(monkeypatch):
    """Above WARM_START_CUSTOMERS the fit starts from a subsample's estimate; the optimum is the same."""
    rng = np.random.default_rng(13)
    T = simulate.ages(rng, 20_000, 39, 12)
    x, t_x = simulate.bgnbd(rng, (0.243, 4.414, 0.793, 2.426), T)
    data = summarise(x, t_x, T)
    cold = bgnbd.fit(data)
    monkeypatch.setattr(bgnbd, "WARM_START_CUSTOMERS", 2_000)
    warm = bgnbd.fit(data)
    assert warm.customers == cold.customers == 20_000
    np.testing.assert_allclose(values(warm), values(cold), rtol=1e-4)
    assert warm.log_likelihood == pytest.approx(cold.log_likelihood, abs=1e-6)


def test_gammagamma_recovers_its_parameters():
    rng = np.random.default_rng(14)
    truth = (5.0, 4.0, 20.0)
    x = rng.integers(1, 12, 10_000).astype(float)
    m = np.round(simulate.gammagamma(rng, truth, x), 2)  # spends in cents
    fit = gammagamma.fit(x, m)
    np.testing.assert_allclose(values(fit), truth, rtol=0.15)


def test_sbg_recovers_its_parameters_from_member_rows():
    rng = np.random.default_rng(15)
    truth = (1.2, 3.5)
    tenure, churned = simulate.sbg(rng, truth, 20_000, 10)
    fit = sbg.fit(tenure, churned)
    np.testing.assert_allclose(values(fit), truth, rtol=0.15)
    assert fit.rows <= 11  # ten churn periods and one censored row


def test_collapse_inverse_rebuilds_the_input():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 4, 1000).astype(float)
    b = rng.integers(0, 3, 1000).astype(float)
    (ua, ub), w, inv = collapse(a, b)
    assert w.sum() == 1000 and len(ua) <= 12
    np.testing.assert_array_equal(ua[inv], a)
    np.testing.assert_array_equal(ub[inv], b)
