"""An analyst's table: column types inferred, every bad input named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from weixi.churn.errors import ChurnInputError
from weixi.churn.tabular import classify, from_frame


def frame(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": [f"C{i:05d}" for i in range(n)],
            "tenure": [str(v) for v in rng.integers(0, 72, n)],
            "total": [" " if i % 17 == 0 else f"{v:.2f}" for i, v in enumerate(rng.uniform(10, 5000, n))],
            "partner": rng.choice(["Yes", "No"], n),
            "contract": rng.choice(["Month-to-month", "One year", "Two year"], n),
            "churn": ["Yes" if i % 4 == 0 else "No" for i in range(n)],
        }
    )


def test_types_are_inferred_and_blanks_are_missing():
    t = from_frame(frame(), "churn", "id")
    assert t.numeric == ["tenure", "total", "partner"] and t.categorical == ["contract"]
    assert t.X["total"].isna().sum() == len(range(0, 200, 17))  # " " is missing, not an error
    assert set(t.X["partner"].dropna()) == {0.0, 1.0}
    assert t.positive == "Yes" and t.y.sum() == 50


def test_an_identifier_column_is_ignored_and_reported():
    t = from_frame(frame(), "churn")  # no --id: the id column looks like a feature
    assert "id" in t.ignored and "identifier" in t.ignored["id"]
    assert "id" not in t.X.columns


def test_classify_kinds():
    assert classify(pd.Series(["1", " 2.5", "", None]))[0] == "numeric"
    assert classify(pd.Series(["是", "否", ""]))[0] == "yesno"
    assert classify(pd.Series(["a", "b"]))[0] == "categorical"
    assert classify(pd.Series([None, " "]))[0] == "empty"


def test_label_with_one_class():
    df = frame()
    df["churn"] = "No"
    with pytest.raises(ChurnInputError, match="label column 'churn' has one class only"):
        from_frame(df, "churn", "id")


def test_all_missing_column_is_named():
    df = frame()
    df["notes"] = ""
    with pytest.raises(ChurnInputError, match=r"column\(s\) 'notes' have no values \(all missing\)"):
        from_frame(df, "churn", "id")


def test_too_few_rows():
    with pytest.raises(ChurnInputError, match="too few rows: 40 labelled row"):
        from_frame(frame(40), "churn", "id")


def test_non_existent_columns_are_named_with_the_option():
    with pytest.raises(ChurnInputError, match=r"no column 'Churned' \(given by --label\); columns are: id, tenure"):
        from_frame(frame(), "Churned", "id")
    with pytest.raises(ChurnInputError, match=r"no column 'customer' \(given by --id\)"):
        from_frame(frame(), "churn", "customer")


def test_a_label_with_unclear_values_asks_for_positive():
    df = frame()
    df["churn"] = np.where(np.arange(200) % 3 == 0, "left", "stayed")
    with pytest.raises(ChurnInputError, match="say which one means churned with --positive"):
        from_frame(df, "churn", "id")
    t = from_frame(df, "churn", "id", positive="left")
    assert t.y.sum() == 67
    with pytest.raises(ChurnInputError, match="--positive 'gone' does not occur"):
        from_frame(df, "churn", "id", positive="gone")


def test_rows_without_a_label_are_dropped_and_counted():
    df = frame(230)
    df.loc[:9, "churn"] = ""
    t = from_frame(df, "churn", "id")
    assert t.dropped_rows == 10 and len(t.y) == 220
