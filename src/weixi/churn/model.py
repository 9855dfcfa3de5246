"""Training: gradient boosting and a logistic baseline, picked by cross-validated ROC-AUC, then calibrated.

1. Both candidates are cross-validated on the same folds (stratified; grouped by member when a member appears
   in several training months). Each gives out-of-fold scores; the one with the higher mean fold ROC-AUC wins
   (ties go to the simpler logistic model).
2. Calibration is cross-fitted: each fold's out-of-fold scores are calibrated by a map fitted on the other
   folds' scores, so the reported Brier score and calibration plot are honest. The final calibrator (isotonic
   with at least 200 churners, else Platt scaling on the log-odds) is fitted on all out-of-fold scores.
3. The winner is refitted on every row; its calibrated probability is what ``churn score`` writes.

Metrics are computed on the calibrated out-of-fold probabilities: ROC-AUC, PR-AUC (average precision),
lift and capture rate in the top decile, Brier score.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, QuantileTransformer
from sklearn.utils.parallel import Parallel, delayed
from threadpoolctl import threadpool_limits

from weixi.churn.tabular import Table

FOLDS = 5
SEED = 0
ISOTONIC_MIN_POSITIVES = 200
IMPORTANCE_ROWS = 2500
FIT_THREADS = 4  # cross-validation fits side by side at most (each holds a copy of its training rows)
EPS = 1e-6
P_MIN = 0.001  # calibrated probabilities stay within [0.1%, 99.9%]: no member is certain


def gradient_boosting(numeric: list[str], categorical: list[str]) -> Pipeline:
    prep = ColumnTransformer(
        [
            ("num", "passthrough", numeric),
            (
                "cat",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan),
                categorical,
            ),
        ],
        verbose_feature_names_out=False,
    )
    mask = [False] * len(numeric) + [True] * len(categorical)
    model = HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=400,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=True,
        validation_fraction=0.15,
        n_iter_no_change=25,
        random_state=SEED,
        categorical_features=mask if any(mask) else None,
    )
    return Pipeline([("prep", prep), ("model", model)])


def logistic(numeric: list[str], categorical: list[str]) -> Pipeline:
    num = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
            ("scale", QuantileTransformer(output_distribution="normal", n_quantiles=200, random_state=SEED)),
        ]
    )
    cat = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value="(missing)")),
            ("onehot", OneHotEncoder(handle_unknown="ignore", min_frequency=5)),
        ]
    )
    prep = ColumnTransformer([("num", num, numeric), ("cat", cat, categorical)], verbose_feature_names_out=False)
    return Pipeline([("prep", prep), ("model", LogisticRegression(C=0.5, max_iter=2000))])


CANDIDATES = {"gradient_boosting": gradient_boosting, "logistic": logistic}
PREFERENCE = ("logistic", "gradient_boosting")  # on a tie, the simpler model


class Calibrator:
    """Maps a raw probability to a calibrated one (isotonic, or Platt scaling on the log-odds)."""

    def __init__(self, method: str):
        self.method = method
        self._iso: IsotonicRegression | None = None
        self._platt: LogisticRegression | None = None

    def fit(self, raw: np.ndarray, y: np.ndarray) -> "Calibrator":
        if self.method == "isotonic":
            self._iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
        else:
            self._platt = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(raw)[:, None], y)
        return self

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=float)
        if self._iso is not None:
            return np.clip(self._iso.predict(raw), P_MIN, 1 - P_MIN)
        return np.clip(self._platt.predict_proba(_logit(raw)[:, None])[:, 1], P_MIN, 1 - P_MIN)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


@dataclass
class Trained:
    name: str  # the winning candidate
    pipeline: Pipeline
    calibrator: Calibrator
    numeric: list[str]
    categorical: list[str]
    metrics: dict
    candidates: dict  # name -> {"auc": mean fold AUC, "fold_auc": [...]}
    calibration: list[dict]  # per bin: mean predicted, observed rate, rows
    lift: list[dict]  # per decile: rate, lift, cumulative capture
    importance: list[dict]  # feature, importance (drop in ROC-AUC when shuffled), std
    sample: pd.DataFrame = field(repr=False, default=None)  # rows kept for reason tables

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.calibrator(self.pipeline.predict_proba(X[self.numeric + self.categorical])[:, 1])


def _folds(table: Table, folds: int):
    if table.groups is not None:
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=SEED)
        return list(splitter.split(table.X, table.y, table.groups))
    return list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED).split(table.X, table.y))


def train(table: Table, folds: int = FOLDS, candidates: tuple[str, ...] = tuple(CANDIDATES)) -> Trained:
    """Cross-validate the candidates, pick, calibrate and refit (see the module's docstring)."""
    # One thread: on a shared machine OpenMP's spinning threads make small fits many times slower.
    with threadpool_limits(limits=1):
        return _train(table, folds, candidates)


def _train(table: Table, folds: int, candidates: tuple[str, ...]) -> Trained:
    X, y = table.X[table.numeric + table.categorical], table.y.astype(int)
    splits = _folds(table, folds)
    fitted = _fit_folds(table, X, y, candidates, splits)
    results: dict[str, dict] = {}
    for name in candidates:
        oof = np.zeros(len(y))
        fold_auc, models = [], []
        for (_, test_idx), (pipe, scores) in zip(splits, fitted[name]):
            oof[test_idx] = scores
            fold_auc.append(float(roc_auc_score(y[test_idx], oof[test_idx])))
            models.append(pipe)
        results[name] = {"oof": oof, "fold_auc": fold_auc, "auc": float(np.mean(fold_auc)), "models": models}
    best = max(candidates, key=lambda n: (round(results[n]["auc"], 4), -PREFERENCE.index(n)))
    raw = results[best]["oof"]
    method = "isotonic" if int(y.sum()) >= ISOTONIC_MIN_POSITIVES else "sigmoid"
    calibrated = np.zeros(len(y))
    for k, (_, test_idx) in enumerate(splits):
        others = np.concatenate([s[1] for j, s in enumerate(splits) if j != k])
        calibrated[test_idx] = Calibrator(method).fit(raw[others], y[others])(raw[test_idx])
    final = CANDIDATES[best](table.numeric, table.categorical).fit(X, y)
    calibrator = Calibrator(method).fit(raw, y)
    metrics = evaluate(y, calibrated)
    metrics.update(
        rows=int(len(y)),
        folds=len(splits),
        model=best,
        calibration=method,
        auc_uncalibrated=float(roc_auc_score(y, raw)),
        positives=int(y.sum()),
    )
    importance = _importance(results[best]["models"], splits, X, y)
    sample = X.sample(n=min(len(X), 1000), random_state=SEED)
    return Trained(
        best,
        final,
        calibrator,
        list(table.numeric),
        list(table.categorical),
        metrics,
        {n: {"auc": round(r["auc"], 4), "fold_auc": [round(a, 4) for a in r["fold_auc"]]} for n, r in results.items()},
        calibration_bins(y, calibrated),
        lift_table(y, calibrated),
        importance,
        sample,
    )


def _fit_folds(table: Table, X: pd.DataFrame, y: np.ndarray, candidates, splits) -> dict[str, list[tuple]]:
    """Each candidate fitted on each fold's training rows, with its scores of the fold's held-out rows, in fold
    order. The fits run side by side on up to :data:`FIT_THREADS` threads, each fit on one thread (the caller's
    ``threadpool_limits``): they are independent, so the models and scores are those of one fit after another (a
    test compares them), in less time (14.4 s -> 9.7 s for the 20,000-member demo's 48,068 rows on two cores)."""
    jobs = [(name, k) for name in candidates for k in range(len(splits))]

    def fit(job: tuple[str, int]) -> tuple:
        name, k = job
        train_idx, test_idx = splits[k]
        pipe = CANDIDATES[name](table.numeric, table.categorical)
        pipe.fit(X.iloc[train_idx], y[train_idx])
        return pipe, pipe.predict_proba(X.iloc[test_idx])[:, 1]

    workers = max(1, min(FIT_THREADS, os.cpu_count() or 1, len(jobs)))
    # scikit-learn's Parallel: each thread gets the caller's scikit-learn configuration (a thread pool of our own
    # would fit with the defaults, and scikit-learn warns of it)
    done = Parallel(n_jobs=workers, backend="threading")(delayed(fit)(job) for job in jobs)
    out: dict[str, list[tuple]] = {name: [] for name in candidates}
    for (name, _), result in zip(jobs, done):
        out[name].append(result)
    return out


def evaluate(y: np.ndarray, p: np.ndarray) -> dict:
    """ROC-AUC, PR-AUC, top-decile lift and capture rate, Brier score of probabilities ``p``."""
    y = np.asarray(y, dtype=int)
    top = _top_decile(p)
    base = y.mean()
    rate = y[top].mean() if top.any() else 0.0
    return {
        "auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "lift_top_decile": float(rate / base) if base > 0 else 0.0,
        "capture_top_decile": float(y[top].sum() / y.sum()) if y.sum() else 0.0,
        "brier": float(brier_score_loss(y, p)),
        "base_rate": float(base),
    }


def _top_decile(p: np.ndarray) -> np.ndarray:
    """The 10% highest scores (ties broken by position, so exactly ceil(n/10) rows)."""
    order = np.argsort(-np.asarray(p), kind="stable")
    mask = np.zeros(len(p), dtype=bool)
    mask[order[: int(np.ceil(len(p) / 10))]] = True
    return mask


def calibration_bins(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict]:
    """Equal-count bins of predicted probability: mean predicted vs observed churn rate."""
    order = np.argsort(p, kind="stable")
    out = []
    for chunk in np.array_split(order, bins):
        if len(chunk):
            out.append(
                {"predicted": float(p[chunk].mean()), "observed": float(y[chunk].mean()), "rows": int(len(chunk))}
            )
    return out


def lift_table(y: np.ndarray, p: np.ndarray) -> list[dict]:
    """Deciles from the highest risk down: churn rate, lift over the base rate, cumulative capture."""
    order = np.argsort(-p, kind="stable")
    base, total = y.mean(), max(int(y.sum()), 1)
    out, captured = [], 0
    for d, chunk in enumerate(np.array_split(order, 10), start=1):
        captured += int(y[chunk].sum())
        rate = float(y[chunk].mean()) if len(chunk) else 0.0
        out.append(
            {
                "decile": d,
                "rows": int(len(chunk)),
                "rate": rate,
                "lift": rate / base if base else 0.0,
                "capture": captured / total,
            }
        )
    return out


def row_aucs(y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The ROC-AUC of each row of ``scores`` (k rows of n) against the labels ``y`` (n, both classes present): the
    Mann-Whitney statistic over average ranks, which counts a tie between a churner and a stayer as half, as
    ``roc_auc_score`` does; all rows at once (the permutation importance scores hundreds of shuffled copies, and
    ``roc_auc_score`` one at a time took 2-3 s of a 900-member training)."""
    y = np.asarray(y, dtype=bool)
    positives = int(y.sum())
    negatives = len(y) - positives
    ranks = rankdata(scores, axis=1)
    return (ranks[:, y].sum(axis=1) - positives * (positives + 1) / 2) / (positives * negatives)


def _importance(models, splits, X: pd.DataFrame, y: np.ndarray, repeats: int = 3) -> list[dict]:
    """Permutation importance: the drop in ROC-AUC when one column is shuffled, on each fold's held-out rows
    (at most :data:`IMPORTANCE_ROWS` in all), averaged over folds and ``repeats`` shuffles. All shuffled copies
    of a fold are scored in one call."""
    per_fold = []
    rng = np.random.default_rng(SEED)
    cols = list(X.columns)
    for pipe, (_, test_idx) in zip(models, splits):
        take = max(IMPORTANCE_ROWS // len(splits), 50)
        idx = test_idx if len(test_idx) <= take else rng.choice(test_idx, take, replace=False)
        yv = y[idx]
        if len(np.unique(yv)) < 2:
            continue
        base = X.iloc[idx].reset_index(drop=True)
        copies = []
        for c in cols:
            for _ in range(repeats):
                copy = base.copy()
                copy[c] = base[c].to_numpy()[rng.permutation(len(base))]
                copies.append(copy)
        p = pipe.predict_proba(pd.concat([base] + copies, ignore_index=True))[:, 1]
        aucs = row_aucs(yv, p.reshape(1 + len(copies), len(base)))
        per_fold.append((aucs[0] - aucs[1:]).reshape(len(cols), repeats).mean(axis=1))
    if not per_fold:
        return []
    mean, std = np.mean(per_fold, axis=0), np.std(per_fold, axis=0)
    rows = [{"feature": c, "importance": float(m), "std": float(s)} for c, m, s in zip(cols, mean, std)]
    return sorted(rows, key=lambda r: -r["importance"])
