"""The operator's own training set: features at month ends, labelled with who left in the months after.

``weixi churn train --month M`` learns from everything known at the end of ``M``: the label of a feature
month ``T`` is "left within :data:`HORIZON_MONTHS` months after the end of ``T``" (churn date in
``(end T, end T+2]``), so ``T`` is at most ``M - 2``. Up to :data:`TRAIN_MONTHS` feature months are stacked
(``M-2``, ``M-3``, ``M-4``) where the archive has the three months of history before them; a member appears
once per month, and cross-validation keeps a member's rows in one fold. ``weixi churn score --month M`` then
predicts, from the features at the end of ``M``, who leaves in ``M+1`` and ``M+2``.

Labels are the operator's ``churn_labels`` table (the synthetic operator's ground truth, or a loaded one).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from weixi.adapters import archive
from weixi.churn import features
from weixi.churn.errors import ChurnInputError
from weixi.churn.tabular import MIN_PER_CLASS, MIN_ROWS, Table
from weixi.segments import months

HORIZON_MONTHS = 2
TRAIN_MONTHS = 3
HISTORY = 3  # months of history before a feature month


def available_months(con: duckdb.DuckDBPyConnection, data_dir: Path) -> list[str]:
    if not features.has_table(data_dir, "usage"):
        return []
    rows = con.sql(f"SELECT DISTINCT month FROM ({archive.scan_sql(data_dir, 'usage')})").fetchall()
    return sorted(r[0] for r in rows)


def check_data(data_dir: Path) -> None:
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise ChurnInputError(f"data directory {data_dir} does not exist: set WEIXI_DATA or generate one with "
                              f"'weixi generate --out {data_dir}'")
    if not features.has_table(data_dir, "members"):
        raise ChurnInputError(f"{data_dir}: no members table (expected {data_dir / 'members'}/*.parquet)")


def feature_months(have: list[str], month: str) -> list[str]:
    """The feature months of a training run at ``month`` that have their history in ``have``."""
    last = months.shift(month, -HORIZON_MONTHS)
    wanted = [months.shift(last, -i) for i in range(TRAIN_MONTHS)]
    have_set = set(have)
    return [t for t in wanted if t in have_set and months.shift(t, -HISTORY) in have_set
            and all(months.shift(t, k) in have_set for k in range(1, HORIZON_MONTHS + 1))]


def training_table(data_dir: Path, month: str, sources: features.Sources | None = None) -> tuple[Table, list[str]]:
    months.check(month)
    data_dir = Path(data_dir)
    check_data(data_dir)
    if not features.has_table(data_dir, "churn_labels"):
        raise ChurnInputError(f"{data_dir}: no churn_labels table: training on the operator's data needs who left "
                              f"and when (member_id, churned, churn_date); or train on a file with --data FILE "
                              f"--label COL")
    con = features.connect()
    have = available_months(con, data_dir)
    use = feature_months(have, month)
    if not use:
        span = f"{have[0]} … {have[-1]}" if have else "none"
        raise ChurnInputError(
            f"{data_dir}: not enough months to train at {month}: a feature month needs {HISTORY} months of history "
            f"before it and {HORIZON_MONTHS} months after it to see who left (usage months in the archive: {span}); "
            f"the latest month to train at is {months.shift(have[-1], 0) if have else '-'} with at least "
            f"{HISTORY + HORIZON_MONTHS + 1} months of data")
    labels = archive.scan_sql(data_dir, "churn_labels")
    frames = []
    for t in use:
        end, until = months.end(t), months.end(months.shift(t, HORIZON_MONTHS))
        sql = (f"SELECT f.*, CAST(coalesce(l.churned AND l.churn_date > DATE '{end}' AND l.churn_date <= DATE '{until}',"
               f" false) AS TINYINT) AS label FROM ({features.build_sql(con, data_dir, t, sources)}) f "
               f"LEFT JOIN ({labels}) l ON l.member_id = f.member_id")
        frames.append(con.sql(sql).to_df())
    df = pd.concat(frames, ignore_index=True)
    y = df["label"].to_numpy().astype(np.int8)
    n = len(df)
    if n < MIN_ROWS:
        raise ChurnInputError(f"{data_dir}: too few rows: {n} member-months to train on; at least {MIN_ROWS} needed")
    if min(int(y.sum()), int(n - y.sum())) < MIN_PER_CLASS:
        raise ChurnInputError(f"{data_dir}: too few rows of one class: {int(y.sum())} members left and "
                              f"{int(n - y.sum())} stayed in the months after {', '.join(use)}; at least "
                              f"{MIN_PER_CLASS} of each are needed")
    cols = [c for c in features.FEATURE_NAMES if df[c].notna().any()]
    X = df[cols].astype(float)
    table = Table(X, y, cols, [], ids=df["member_id"].to_numpy(),
                  groups=df["member_id"].to_numpy() if len(use) > 1 else None,
                  ignored={c: "no values in the data (no close, ledger or such records)"
                           for c in features.FEATURE_NAMES if c not in cols}, positive="left")
    return table, use
