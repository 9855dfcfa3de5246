"""Scoring a month: every member in service gets a calibrated churn probability and three reasons in words.

The feature query streams out of DuckDB in batches of :data:`BATCH` members; each batch is predicted and
explained with array operations (no per-member Python) and appended to a staging Parquet file; one DuckDB
statement then renders the reasons' words, ranks members into risk deciles and writes
``DATA/churn/scores/month=YYYY-MM/part-0.parquet`` sorted by member id. The month's file is replaced
atomically (write beside it, rename), so a rerun is safe and readers never see half a file.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from threadpoolctl import threadpool_limits

from weixi.churn import explain, features, reasons
from weixi.churn.errors import ChurnInputError
from weixi.segments import months

BATCH = 1_000_000
STAGE_SCHEMA = pa.schema([
    ("member_id", pa.string()), ("churn_probability", pa.float64()),
    ("code_1", pa.int16()), ("code_2", pa.int16()), ("code_3", pa.int16()),
    ("value_1", pa.float64()), ("value_2", pa.float64()), ("value_3", pa.float64()),
])


def scores_path(data_dir: Path, month: str) -> Path:
    return Path(data_dir) / "churn" / "scores" / f"month={month}" / "part-0.parquet"


def _predict_batch(bundle: dict, batch: pa.RecordBatch) -> pa.RecordBatch:
    cols = bundle["numeric"] + bundle["categorical"]
    data = {}
    for c in cols:
        if c in batch.schema.names:
            data[c] = batch.column(c).to_numpy(zero_copy_only=False).astype(float)
        else:
            data[c] = np.full(batch.num_rows, np.nan)
    X = pd.DataFrame(data, columns=cols)
    prob = bundle["calibrator"](bundle["pipeline"].predict_proba(X)[:, 1])
    contrib = explain.contributions(bundle["effects"], X)
    idx, _ = explain.top_reasons(contrib)
    feats = [e.feature for e in bundle["effects"]]
    matrix = X[feats].to_numpy(dtype=float)
    rows = np.arange(batch.num_rows)
    arrays = [batch.column("member_id"), pa.array(prob, pa.float64())]
    for k in range(3):
        code = idx[:, k] if idx.shape[1] > k else np.full(batch.num_rows, -1, np.int16)
        arrays.append(pa.array(code, pa.int16(), mask=code < 0))
    for k in range(3):
        code = idx[:, k] if idx.shape[1] > k else np.full(batch.num_rows, -1, np.int16)
        value = matrix[rows, np.maximum(code, 0)] if len(feats) else np.full(batch.num_rows, np.nan)
        arrays.append(pa.array(value, pa.float64(), mask=(code < 0) | np.isnan(value)))
    return pa.record_batch(arrays, schema=STAGE_SCHEMA)


def score(data_dir: Path, month: str, bundle: dict, meta: dict, sources: features.Sources | None = None,
          batch: int = BATCH) -> dict:
    months.check(month)
    data_dir = Path(data_dir)
    final = scores_path(data_dir, month)
    final.parent.parent.mkdir(parents=True, exist_ok=True)
    work = final.parent.with_name(final.parent.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    stage = work / "stage.parquet"
    con = features.connect()
    sql = features.build_sql(con, data_dir, month, sources)
    reader = con.execute(sql).to_arrow_reader(batch)
    rows = 0
    with threadpool_limits(limits=int(os.environ.get("WEIXI_SCORE_THREADS", "1"))), \
            pq.ParquetWriter(stage, STAGE_SCHEMA, compression="zstd") as writer:
        for rb in reader:
            if rb.num_rows:
                writer.write_batch(_predict_batch(bundle, rb))
                rows += rb.num_rows
    if rows == 0:
        shutil.rmtree(work, ignore_errors=True)
        raise ChurnInputError(f"{data_dir}: no members in service at the end of {month} (no members joined by then, "
                              f"or all had left)")
    feats = [e.feature for e in bundle["effects"]]
    words = []
    for k in (1, 2, 3):
        words.append(f"{reasons.sql(feats, f'code_{k}', f'value_{k}', 0)} AS reason_{k}")
    for k in (1, 2, 3):
        words.append(f"{reasons.sql(feats, f'code_{k}', f'value_{k}', 1)} AS reason_{k}_zh")
    names = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in feats) + "]"
    for k in (1, 2, 3):
        words.append(f"CASE WHEN code_{k} IS NOT NULL THEN {names}[code_{k} + 1] END AS reason_feature_{k}")
    out = work / "part-0.parquet"
    con.execute(f"""
        COPY (SELECT member_id, '{month}' AS month, churn_probability,
                     CAST(ntile(10) OVER (ORDER BY churn_probability DESC, member_id) AS TINYINT) AS risk_decile,
                     {', '.join(words)}, value_1 AS reason_value_1, value_2 AS reason_value_2, value_3 AS reason_value_3,
                     {int(meta['version'])} AS model_version
              FROM read_parquet('{stage}') ORDER BY member_id)
        TO '{out}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 65536)""")
    stage.unlink()
    old = final.parent.with_name(final.parent.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if final.parent.exists():
        final.parent.rename(old)
    work.rename(final.parent)
    shutil.rmtree(old, ignore_errors=True)
    return summary(con, final, month, meta)


def summary(con, path: Path, month: str, meta: dict) -> dict:
    stats = con.execute(f"SELECT count(*), avg(churn_probability), sum(churn_probability), "
                        f"count(*) FILTER (WHERE churn_probability >= 0.5) FROM read_parquet('{path}')").fetchone()
    top = con.execute(f"SELECT reason_feature_1, count(*) AS n FROM read_parquet('{path}') "
                      f"WHERE risk_decile = 1 AND reason_feature_1 IS NOT NULL GROUP BY 1 ORDER BY n DESC, 1 LIMIT 5"
                      ).fetchall()
    return {"month": month, "members": int(stats[0]), "mean_probability": round(float(stats[1]), 6),
            "expected_leavers": round(float(stats[2]), 1), "at_least_50pct": int(stats[3]),
            "model_version": meta["version"], "model": meta.get("model"), "horizon_months": meta.get("horizon_months"),
            "top_reasons_top_decile": {r[0]: int(r[1]) for r in top}, "path": str(path)}
