"""Training, evaluation arithmetic, uplift and the retention plan, on data whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from weixi.churn import model
from weixi.churn.tabular import Table
from weixi.plans.retention import load_retention_plan, load_retention_text
from weixi.targets import evaluate, uplift


def known_table(n=1500, seed=1):
    rng = np.random.default_rng(seed)
    x1, x2, noise = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    p = 1 / (1 + np.exp(-(-1.5 + 2.0 * x1 - 1.0 * x2)))
    y = (rng.uniform(size=n) < p).astype(np.int8)
    X = pd.DataFrame({"x1": x1, "x2": x2, "noise": noise})
    return Table(X, y, ["x1", "x2", "noise"], []), p


def test_training_reports_cross_validated_metrics_and_ranks_the_signal_first():
    table, p = known_table()
    trained = model.train(table)
    m = trained.metrics
    best_possible = model.evaluate(table.y, p)["auc"]
    assert m["auc"] > best_possible - 0.03 and m["rows"] == 1500 and m["folds"] == 5
    assert 0 < m["brier"] < 0.25 and m["lift_top_decile"] > 2
    assert trained.importance[0]["feature"] == "x1" and trained.importance[-1]["feature"] == "noise"
    assert set(trained.candidates) == {"gradient_boosting", "logistic"}
    # calibrated: each bin's mean prediction is near its observed rate
    assert all(abs(b["predicted"] - b["observed"]) < 0.08 for b in trained.calibration)


def test_fits_side_by_side_give_what_one_fit_after_another_gives(monkeypatch):
    """The cross-validation fits run on several threads: each candidate's model and held-out scores per fold, and
    what training reports, are those of the fits run one after another."""
    table, _ = known_table(n=1200, seed=3)
    table.X["plan"] = np.where(table.X["noise"] > 0, "a", "b")  # a categorical column: the encoders' path too
    table.categorical = ["plan"]
    X, y = table.X[table.numeric + table.categorical], table.y.astype(int)
    splits = model._folds(table, model.FOLDS)
    one_by_one = {  # each fold's fit, one after another, here
        name: [
            make(table.numeric, table.categorical).fit(X.iloc[tr], y[tr]).predict_proba(X.iloc[te])[:, 1]
            for tr, te in splits
        ]
        for name, make in model.CANDIDATES.items()
    }
    monkeypatch.setattr(model, "FIT_THREADS", 1)
    trained_alone = model.train(table)
    monkeypatch.setattr(model, "FIT_THREADS", 4)
    monkeypatch.setattr(model.os, "cpu_count", lambda: 4)
    together = model._fit_folds(table, X, y, tuple(model.CANDIDATES), splits)
    trained_together = model.train(table)
    for name in model.CANDIDATES:
        assert [np.array_equal(a, b) for a, (_, b) in zip(one_by_one[name], together[name])] == [True] * len(splits)
    assert trained_together.metrics == trained_alone.metrics
    assert trained_together.candidates == trained_alone.candidates
    assert trained_together.importance == trained_alone.importance


def test_lift_and_capture_by_hand():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0] * 10)
    p = np.where(y == 1, 0.9, 0.1)
    p[2] = 0.95  # one non-churner ranks first
    got = model.evaluate(y, p)
    # top decile = 10 rows: 9 churners of 20; base rate 0.2 -> lift 4.5, capture 9/20
    assert got["lift_top_decile"] == pytest.approx(4.5) and got["capture_top_decile"] == pytest.approx(0.45)


def test_rate_lift_and_interval_by_hand():
    treated = np.array([1] * 80 + [0] * 920)  # 8%
    control = np.array([1] * 12 + [0] * 88)  # 12%
    got = evaluate.rate_lift(treated, control)
    se = math.sqrt(0.08 * 0.92 / 1000 + 0.12 * 0.88 / 100)
    assert got["lift"] == pytest.approx(0.04)
    assert got["lift_ci95"] == pytest.approx([0.04 - 1.959964 * se, 0.04 + 1.959964 * se], rel=1e-5)
    assert got["significant"] is False and got["relative_lift"] == pytest.approx(1 / 3)


def test_revenue_is_summed_exactly_in_fen():
    got = evaluate.revenue_diff(np.array([1001, 2002, 3003], dtype=np.int64), np.array([1, 1], dtype=np.int64))
    assert got["revenue_treated_yuan"] == "60.06" and got["revenue_control_yuan"] == "0.02"


def test_uplift_learners_find_the_persuadable():
    rng = np.random.default_rng(3)
    n = 4000
    x = rng.uniform(-1, 1, n)
    treated = rng.uniform(size=n) < 0.5
    base = 0.3
    effect = np.where(x > 0, 0.2, 0.0)  # treatment cuts churn by 20 points only for x > 0
    y = (rng.uniform(size=n) < base - effect * treated).astype(int)
    X = pd.DataFrame({"x": x, "z": rng.normal(size=n)})
    best, qini = uplift.select(X, treated.astype(int), y)
    assert set(qini) == {"t_learner", "x_learner"} and max(qini.values()) > 0
    other = uplift.fit("x_learner" if best.kind == "t_learner" else "t_learner", X, treated.astype(int), y)
    for m in (best, other):
        pred = m.predict(X)
        assert pred[x > 0.2].mean() > 0.12 and abs(pred[x < -0.2].mean()) < 0.06, m.kind


def test_packaged_retention_plan_quotes_the_seed():
    plan, diags = load_retention_plan()
    assert plan is not None, [d.format() for d in diags]
    ids = [o.id for o in plan.offers]
    assert ids[:3] == ["phone_for_credit", "prepay_credit", "fiber_migration"]
    phone = plan.offers[0].eligible  # 不能为副卡、无月租用户; 补贴未到期…不纳入; 有效使用4G卡用户
    assert phone.card_role == ("primary",) and phone.subsidy_running is False and "4G" in phone.network
    assert str(plan.control_share) == "0.1"


def test_retention_plan_errors_have_positions():
    text = (
        "kind: retention\nplan: p\nname: n\nexpiring: {window_days: 0}\nhigh_risk: {min_probability: 2}\n"
        'control: {share: "1.5"}\nvalue: {margin_share: "0.5", months: 12}\n'
        "offers:\n  - {id: a, name: A, eligible: {network: [3G]}}\n  - {id: a, name: B}\n"
    )
    plan, diags = load_retention_text(text, "r.yaml")
    assert plan is None
    msgs = [d.format() for d in diags]
    assert any(m.startswith("r.yaml:4:") and "window_days" in m for m in msgs)
    assert any(m.startswith("r.yaml:5:") and "probability" in m for m in msgs)
    assert any(m.startswith("r.yaml:6:") and "share" in m for m in msgs)
    assert any("3G" in m for m in msgs) and any("used twice" in m for m in msgs)
