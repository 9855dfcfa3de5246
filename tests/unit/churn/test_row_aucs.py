"""The permutation importance's AUCs, all shuffled copies at once (:func:`weixi.churn.model.row_aucs`), are the
ROC-AUC scikit-learn gives each copy, ties between a churner and a stayer included."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from weixi.churn.model import row_aucs


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 300),
    rows=st.integers(1, 6),
    decimals=st.integers(0, 3),  # 0: scores of 0 and 1 only, ties everywhere
    seed=st.integers(0, 2**32 - 1),
)
def test_each_rows_auc_is_scikit_learns(n, rows, decimals, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[0], y[-1] = 0, 1  # both classes, as the importance requires
    scores = np.round(rng.random((rows, n)), decimals)
    expected = [roc_auc_score(y, row) for row in scores]
    assert np.allclose(row_aucs(y, scores), expected, rtol=0, atol=1e-12)


def test_a_perfect_an_inverted_and_a_constant_score():
    y = np.array([0, 0, 1, 1])
    scores = np.array([[0.1, 0.2, 0.8, 0.9], [0.9, 0.8, 0.2, 0.1], [0.5, 0.5, 0.5, 0.5]])
    assert row_aucs(y, scores).tolist() == [1.0, 0.0, 0.5]
