"""Uplift: who is persuadable. T-learner and X-learner on scikit-learn gradient boosting.

Uplift here is the *reduction* in churn probability that treatment brings to a member:
``uplift(x) = P(churn | x, control) − P(churn | x, treated)``.

* **T-learner**: one classifier on the treated, one on the controls; uplift = μ0(x) − μ1(x).
* **X-learner** (Künzel et al. 2019): imputed effects ``D1 = μ0(X1) − Y1`` for the treated and
  ``D0 = Y0 − μ1(X0)`` for the controls, a regressor on each, blended by the treatment propensity ``e``
  (constant: the assignment is random): ``uplift = e·τ0(x) + (1 − e)·τ1(x)``.

Both are cross-fitted on two folds and compared by the Qini coefficient (area between the Qini curve of the
ranking and the random ranking, normalised by the number of members); the better one is refitted on all
rows and stored in ``DATA/models/uplift/``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

SEED = 0


def _clf():
    return HistGradientBoostingClassifier(
        max_iter=100,
        learning_rate=0.05,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        random_state=SEED,
    )


def _reg():
    return HistGradientBoostingRegressor(
        max_iter=100,
        learning_rate=0.05,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        random_state=SEED,
    )


@dataclass
class UpliftModel:
    kind: str  # t_learner | x_learner
    features: list[str]
    m0: object
    m1: object
    tau0: object | None = None
    tau1: object | None = None
    propensity: float = 0.5

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        X = X[self.features]
        if self.kind == "t_learner":
            return self.m0.predict_proba(X)[:, 1] - self.m1.predict_proba(X)[:, 1]
        e = self.propensity
        return e * self.tau0.predict(X) + (1 - e) * self.tau1.predict(X)


def fit(kind: str, X: pd.DataFrame, treated: np.ndarray, y: np.ndarray) -> UpliftModel:
    t = treated.astype(bool)
    features = list(X.columns)
    with threadpool_limits(limits=1):
        m0 = _clf().fit(X[~t], y[~t])
        m1 = _clf().fit(X[t], y[t])
        if kind == "t_learner":
            return UpliftModel(kind, features, m0, m1)
        d1 = m0.predict_proba(X[t])[:, 1] - y[t]
        d0 = y[~t] - m1.predict_proba(X[~t])[:, 1]
        tau1 = _reg().fit(X[t], d1)
        tau0 = _reg().fit(X[~t], d0)
    return UpliftModel(kind, features, m0, m1, tau0, tau1, float(t.mean()))


def qini(uplift: np.ndarray, treated: np.ndarray, y: np.ndarray) -> float:
    """Qini coefficient for a churn *reduction* ranking: saved churners (control rate minus treated rate, scaled
    to the treated count) accumulated down the ranking, minus the random ranking's line, per member."""
    order = np.argsort(-uplift, kind="stable")
    t = treated[order].astype(bool)
    stay = 1 - y[order]  # an outcome where higher is better: stayed
    nt, nc = np.cumsum(t), np.cumsum(~t)
    st, sc = np.cumsum(stay * t), np.cumsum(stay * ~t)
    with np.errstate(divide="ignore", invalid="ignore"):
        curve = st - np.where(nc > 0, sc * nt / nc, 0.0)
    n = len(uplift)
    random_line = curve[-1] * np.arange(1, n + 1) / n
    return float((curve - random_line).sum() / n / max(t.sum(), 1))


def select(X: pd.DataFrame, treated: np.ndarray, y: np.ndarray) -> tuple[UpliftModel, dict]:
    """Cross-fit both learners on two folds, pick by Qini, refit the winner on everything."""
    strata = treated.astype(int) * 2 + y.astype(int)
    scores = {}
    for kind in ("t_learner", "x_learner"):
        pred = np.zeros(len(y))
        for tr, te in StratifiedKFold(2, shuffle=True, random_state=SEED).split(X, strata):
            pred[te] = fit(kind, X.iloc[tr], treated[tr], y[tr]).predict(X.iloc[te])
        scores[kind] = qini(pred, treated, y)
    best = max(scores, key=lambda k: (scores[k], k == "t_learner"))
    return fit(best, X, treated, y), {k: round(v, 6) for k, v in scores.items()}
