"""Scoring internals: the binned prediction path, risk deciles, member-id ranges."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from weixi.churn import model, score


def _bundle(categorical: bool = False) -> dict:
    rng = np.random.default_rng(7)
    n = 3000
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.integers(0, 5, n).astype(float), "c": rng.normal(size=n)})
    X.loc[rng.random(n) < 0.1, "c"] = np.nan
    y = ((X.a + 0.5 * X.b + rng.normal(size=n)) > 1.5).astype(int)
    numeric, cats = ["a", "b", "c"], []
    if categorical:
        X["d"] = rng.choice(["x", "y", "z"], n)
        cats = ["d"]
    pipe = model.gradient_boosting(numeric, cats).fit(X, y)
    cal = model.Calibrator("platt").fit(pipe.predict_proba(X)[:, 1], y.to_numpy())
    return {"pipeline": pipe, "calibrator": cal, "numeric": numeric, "categorical": cats, "effects": []}, X


def test_binned_prediction_is_sklearns_prediction():
    bundle, X = _bundle()
    assert score._binned_model(bundle) is not None
    rng = np.random.default_rng(1)
    new = np.column_stack([rng.normal(scale=3, size=5000), rng.integers(-2, 9, 5000), rng.normal(size=5000)])
    new[rng.random(5000) < 0.2, 0] = np.nan  # missing where training had none
    new[rng.random(5000) < 0.2, 2] = np.nan
    new[:5, 0] = [np.inf, -np.inf, 1e300, -1e300, 0.0]
    expected = bundle["calibrator"](bundle["pipeline"].predict_proba(pd.DataFrame(new, columns=["a", "b", "c"]))[:, 1])
    assert np.array_equal(score.predict(bundle, new), expected)


def test_models_the_binned_path_cannot_take_fall_back():
    bundle, X = _bundle(categorical=True)
    assert score._binned_model(bundle) is None
    logistic = dict(
        bundle, pipeline=model.logistic(["a"], []).fit(X[["a"]], (X.a > 0).astype(int)), numeric=["a"], categorical=[]
    )
    assert score._binned_model(logistic) is None
    p = score.predict(logistic, X[["a"]].to_numpy())
    assert np.array_equal(p, logistic["calibrator"](logistic["pipeline"].predict_proba(X[["a"]])[:, 1]))


def test_deciles_are_sql_ntile_with_ties_in_member_order():
    rng = np.random.default_rng(3)
    for n in (1, 9, 10, 11, 1003):
        prob = np.round(rng.random(n), 2)  # many ties
        ids = [f"M{i:05d}" for i in range(n)]
        t = pa.table({"member_id": ids, "p": prob, "pos": np.arange(n)})
        con = duckdb.connect()
        con.register("t", t)
        want = [
            r[0]
            for r in con.execute(
                "SELECT ntile(10) OVER (ORDER BY p DESC, member_id) AS d, pos FROM t ORDER BY pos"
            ).fetchall()
        ]
        assert score.deciles(prob).tolist() == want, n


def test_member_ranges_follow_the_generator_parts(tmp_path):
    members = tmp_path / "members"
    members.mkdir()
    for k in range(5):
        ids = [f"M{k * 100 + i:04d}" for i in range(100)]
        pq.write_table(pa.table({"member_id": ids}), members / f"part-{k:05d}.parquet")
    assert score.member_ranges(tmp_path, 200) == [(None, "M0200"), ("M0200", "M0400"), ("M0400", None)]
    assert score.member_ranges(tmp_path, 10_000) == [(None, None)]
    pq.write_table(pa.table({"member_id": ["M0050", "M0999"]}), members / "part-00005.parquet")  # overlaps
    assert score.member_ranges(tmp_path, 200) == [(None, None)]
