"""Reasons: the largest positive contributions, in the words the issue quotes."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from weixi.churn import explain, reasons


def words(feature: str, value, lang: int = 0) -> str:
    feats = ["tenure_months", feature]
    expr = reasons.sql(feats, "code", "value", lang)
    return duckdb.execute(
        f"SELECT {expr} FROM (SELECT CAST(1 AS SMALLINT) AS code, CAST(? AS DOUBLE) AS value)", [value]
    ).fetchone()[0]


def test_the_issues_examples():
    assert words("data_change", -0.45) == "data use down 45% against its 3-month average"
    assert words("unresolved_complaints_30d", 2) == "2 unresolved complaints in 30 days"
    assert words("contract_days_left", 21) == "contract ends in 21 days"
    assert words("contract_days_left", -30) == "contract ended 30 days ago"
    assert words("unresolved_complaints_30d", 1) == "1 unresolved complaint in 30 days"


def test_chinese_words_and_missing_values():
    assert words("data_change", -0.45, 1) == "流量使用较近3个月平均下降45%"
    assert words("contract_days_left", None) == "no contract"
    assert words("my_column", 3.5) == "my_column = 3.5"  # an analyst's feature without a template


def test_top_reasons_are_the_largest_positive_contributions():
    contrib = np.array([[0.5, -1.0, 0.2, 0.01, 0.9], [-0.1, -0.2, 0.0, 0.03, 0.01]], dtype=np.float32)
    idx, vals = explain.top_reasons(contrib)
    assert idx[0].tolist() == [4, 0, 2]
    assert idx[1].tolist() == [3, -1, -1]  # only one contribution above the threshold


def test_lookup_takes_the_grid_point_at_or_below():
    eff = explain.Effect("x", "numeric", [0.0, 10.0, 20.0], [-1.0, 0.0, 2.0], missing=0.5, base=0.0)
    got = explain.lookup(eff, np.array([-5, 0, 9.9, 10, 25, np.nan]))
    assert got.tolist() == [-1.0, -1.0, -1.0, 0.0, 2.0, 0.5]


def _edge_values(huge: bool = False) -> np.ndarray:
    """Values at and beside every boundary a template can see: multiples of 0.5 and their neighbours, the
    percentages' roundings (x.5 %), negative zero, large values, missing; with ``huge``, values beyond 2**31 and
    2**50 (points, and an analyst's own columns)."""
    halves = np.arange(-12, 13) / 2.0
    pcts = (np.arange(-200, 201) + 0.5) / 100.0
    base = np.concatenate(
        [
            halves,
            pcts,
            [0.455, -0.455, 0.005, -0.005, 0.0049999999, 1e7, -1e7, 1.0 + 2**-40]
            + ([3e9, -3e9, 1e15, -1e15, 3e17, 2.0**52 + 1] if huge else []),
        ]
    )
    near = np.concatenate([np.nextafter(base, np.inf), np.nextafter(base, -np.inf)])
    rng = np.random.default_rng(7)
    return np.concatenate([base, near, rng.normal(0, 40, 2000), rng.uniform(-2, 2, 2000), [-0.0, np.nan, np.nan]])


def test_words_rendered_once_per_class_equal_the_words_row_by_row():
    feats = list(reasons.TEMPLATES) + ["my_column"]
    per = [_edge_values(huge=f.startswith("points_") or f not in reasons.TEMPLATES) for f in feats]
    codes = np.concatenate([np.full(len(v), i) for i, v in enumerate(per)])
    values = np.concatenate(per)
    codes[::97] = -1  # rows without a reason
    con = duckdb.connect()
    en, zh = reasons.render(con, feats, codes, values)
    expect_en, expect_zh = [None] * len(codes), [None] * len(codes)
    for f, feature in enumerate(feats):  # every row through its feature's template, row by row in SQL
        rows = np.flatnonzero(codes == f)
        con.register(
            "rows",
            pa.table(
                {
                    "code": pa.array(np.zeros(len(rows), np.int64)),
                    "value": pa.array(values[rows], mask=np.isnan(values[rows])),
                }
            ),
        )
        got = con.execute(
            f"SELECT {reasons.sql([feature], 'code', 'value', 0)}, "
            f"{reasons.sql([feature], 'code', 'value', 1)} FROM rows"
        ).fetchall()
        con.unregister("rows")
        for r, (e, z) in zip(rows.tolist(), got):
            expect_en[r], expect_zh[r] = e, z
    assert en.to_pylist() == expect_en
    assert zh.to_pylist() == expect_zh
    assert en.null_count == (codes < 0).sum()
