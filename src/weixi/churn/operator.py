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
from weixi.churn.errors import ChurnInputError, DataNotReady
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
        raise DataNotReady("churn_data_dir_missing", data_dir=str(data_dir))
    if not features.has_table(data_dir, "members"):
        raise DataNotReady("churn_no_members_table", data_dir=str(data_dir), expected=str(data_dir / "members"))


def feature_months(have: list[str], month: str) -> list[str]:
    """The feature months of a training run at ``month`` that have their history in ``have``."""
    last = months.shift(month, -HORIZON_MONTHS)
    wanted = [months.shift(last, -i) for i in range(TRAIN_MONTHS)]
    have_set = set(have)
    return [
        t
        for t in wanted
        if t in have_set
        and months.shift(t, -HISTORY) in have_set
        and all(months.shift(t, k) in have_set for k in range(1, HORIZON_MONTHS + 1))
    ]


def training_table(data_dir: Path, month: str, sources: features.Sources | None = None) -> tuple[Table, list[str]]:
    months.check(month)
    data_dir = Path(data_dir)
    check_data(data_dir)
    if not features.has_table(data_dir, "churn_labels"):
        raise DataNotReady("churn_no_labels_table", data_dir=str(data_dir))
    con = features.connect(sources.timezone if sources else features.DEFAULT_TIMEZONE)
    have = available_months(con, data_dir)
    use = feature_months(have, month)
    if not use:
        span = f"{have[0]} … {have[-1]}" if have else "—"
        raise DataNotReady(
            "churn_not_enough_months",
            data_dir=str(data_dir),
            month=month,
            history=HISTORY,
            horizon=HORIZON_MONTHS,
            span=span,
            latest=months.shift(have[-1], 0) if have else "-",
            needed=HISTORY + HORIZON_MONTHS + 1,
        )
    labels = archive.scan_sql(data_dir, "churn_labels")
    frames = []
    for t in use:
        end, until = months.end(t), months.end(months.shift(t, HORIZON_MONTHS))
        sql = (
            f"SELECT f.*, CAST(coalesce(l.churned AND l.churn_date > DATE '{end}' AND l.churn_date <= DATE '{until}',"
            f" false) AS TINYINT) AS label FROM ({features.build_sql(con, data_dir, t, sources)}) f "
            f"LEFT JOIN ({labels}) l ON l.member_id = f.member_id ORDER BY f.member_id"
        )  # in member order: the same rows in the same order each time, so the same folds and the same model
        frames.append(con.sql(sql).to_df())
    df = pd.concat(frames, ignore_index=True)
    y = df["label"].to_numpy().astype(np.int8)
    n = len(df)
    if n < MIN_ROWS:
        raise ChurnInputError("churn_too_few_member_months", data_dir=str(data_dir), n=n, min=MIN_ROWS)
    if min(int(y.sum()), int(n - y.sum())) < MIN_PER_CLASS:
        raise ChurnInputError(
            "churn_too_few_leavers",
            data_dir=str(data_dir),
            left=int(y.sum()),
            stayed=int(n - y.sum()),
            months=use,
            min=MIN_PER_CLASS,
        )
    cols = [c for c in features.FEATURE_NAMES if df[c].notna().any()]
    X = df[cols].astype(float)
    table = Table(
        X,
        y,
        cols,
        [],
        ids=df["member_id"].to_numpy(),
        groups=df["member_id"].to_numpy() if len(use) > 1 else None,
        ignored={
            c: "no values in the data (no close, ledger or such records)"
            for c in features.FEATURE_NAMES
            if c not in cols
        },
        positive="left",
    )
    return table, use
