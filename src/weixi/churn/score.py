"""Scoring a month: every member in service gets a calibrated churn probability and three reasons in words.

The population is split into ranges of member ids (the generator's member parts, merged to about
:data:`BATCH` members; one range when the parts' ids overlap). For each range one DuckDB query builds the
features (every input table read once, filtered to the range inside the Parquet scans), sorted by member id;
a background thread builds the next range's features while the main thread predicts and explains the
current one with array operations (binned gradient boosting, float32 contributions, no per-member Python).
Only the compact result is kept (member id, probability, reason codes and values); at the end the risk
deciles are ranked over everyone with numpy, and one DuckDB statement renders the reasons' words and writes
``DATA/churn/scores/month=YYYY-MM/part-0.parquet`` in member-id order. The month's file is replaced
atomically (write beside it, rename), so a rerun is safe and readers never see half a file.

``score`` returns the seconds spent in each step (``seconds``): ``features`` (DuckDB, in the background
thread, overlapping the next two), ``predict``, ``explain`` (contributions and top reasons), ``waiting``
(the main thread idle for features), ``deciles`` and ``write`` (words and the Parquet file).
"""

from __future__ import annotations

import queue
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from threadpoolctl import threadpool_limits

from weixi import settings
from weixi.adapters import archive
from weixi.churn import explain, features, reasons
from weixi.churn.errors import DataNotReady
from weixi.segments import months

BATCH = 1_000_000  # members per feature query (about)
STAGE_SCHEMA = pa.schema(
    [
        ("member_id", pa.string()),
        ("churn_probability", pa.float64()),
        ("code_1", pa.int16()),
        ("code_2", pa.int16()),
        ("code_3", pa.int16()),
        ("value_1", pa.float64()),
        ("value_2", pa.float64()),
        ("value_3", pa.float64()),
        ("now_1", pa.float64()),
        ("now_2", pa.float64()),
        ("now_3", pa.float64()),
    ]
)


def scores_path(data_dir: Path, month: str) -> Path:
    return Path(data_dir) / "churn" / "scores" / f"month={month}" / "part-0.parquet"


def member_ranges(data_dir: Path, batch: int = BATCH) -> list[tuple[str | None, str | None]]:
    """Ranges ``[lo, hi)`` of member ids (None: open) covering every id, each about ``batch`` members: the
    generator writes members in parts of consecutive ids, and their row-group statistics give the bounds.
    Ids outside every part (loaded members) fall into the first or last range. One open range when the parts'
    ids overlap or there are none."""
    spans = []
    for path in archive.part_files(data_dir, "members"):
        groups = archive.file_ranges(path)
        if groups:
            spans.append((min(g[0] for g in groups), max(g[1] for g in groups), pq.ParquetFile(path).metadata.num_rows))
    spans.sort()
    if len(spans) < 2 or any(spans[i + 1][0] <= spans[i][1] for i in range(len(spans) - 1)):
        return [(None, None)]
    bounds, size = [], 0
    for i, (lo, _, rows) in enumerate(spans):
        if i and size >= batch:
            bounds.append(lo)
            size = 0
        size += rows
    edges = [None] + bounds + [None]
    return list(zip(edges[:-1], edges[1:]))


def _binned_model(bundle: dict):
    """The gradient boosting model when it can predict from binned features directly (numeric features only,
    passed through in order, one tree per iteration); None otherwise."""
    pipe = bundle["pipeline"]
    steps = getattr(pipe, "named_steps", {})
    clf, prep = steps.get("model"), steps.get("prep")
    if bundle["categorical"] or clf is None or prep is None or type(clf).__name__ != "HistGradientBoostingClassifier":
        return None
    if getattr(clf, "is_categorical_", None) is not None and np.any(clf.is_categorical_):
        return None
    if getattr(clf, "n_trees_per_iteration_", 0) != 1 or not hasattr(clf, "_bin_mapper"):
        return None
    if getattr(prep, "remainder", None) != "drop":
        return None
    for name, trans, cols in prep.transformers:  # the specification: a fitted passthrough is a FunctionTransformer
        if name == "num":
            if not (isinstance(trans, str) and trans == "passthrough") or list(cols) != list(bundle["numeric"]):
                return None
        elif len(cols):
            return None
    return clf


def predict(bundle: dict, X: np.ndarray, threads: int = 1) -> np.ndarray:
    """Calibrated churn probability of each row of ``X`` (columns: numeric then categorical, as in the
    bundle). A numeric-only gradient boosting model predicts from the binned features: the same comparisons
    as sklearn's own prediction (a value is at most a split's threshold exactly when its bin is at most the
    split's bin), so the same probabilities, at a third less work."""
    clf = _binned_model(bundle)
    if clf is None:
        cols = bundle["numeric"] + bundle["categorical"]
        raw = bundle["pipeline"].predict_proba(pd.DataFrame(X, columns=cols))[:, 1]
        return bundle["calibrator"](raw)
    binned = clf._bin_mapper.transform(np.ascontiguousarray(X, dtype=np.float64))
    missing = clf._bin_mapper.missing_values_bin_idx_
    raw = np.zeros((X.shape[0], 1), dtype=clf._baseline_prediction.dtype, order="F")
    raw += clf._baseline_prediction
    for (tree,) in clf._predictors:
        raw[:, 0] += tree.predict_binned(binned, missing, threads)
    return bundle["calibrator"](clf._loss.predict_proba(raw)[:, 1])


def _explain(bundle: dict, table: pa.Table, X: np.ndarray, prob: np.ndarray) -> pa.Table:
    cols = bundle["numeric"] + bundle["categorical"]
    effects = bundle["effects"]
    where = {c: i for i, c in enumerate(cols)}
    n = table.num_rows
    values = {e.feature: X[:, where[e.feature]] for e in effects}
    feats = [e.feature for e in effects]
    nows = {f: values[c[2]] for f, c in reasons.CHANGES.items() if f in values and c[2] in values}
    if effects:
        contrib = explain.contributions(effects, values)
        for j, f in enumerate(feats):  # a value without a sentence (missing, a 0 % change) is no reason
            contrib[~reasons.speakable(f, values[f], nows.get(f)), j] = -np.inf
        reasons.one_per_group(contrib, feats)
        idx, _ = explain.top_reasons(contrib)
    else:
        idx = np.full((n, 0), -1, np.int16)
    matrix = np.column_stack([values[e.feature] for e in effects]) if effects else np.empty((n, 0))
    rows = np.arange(n)
    arrays = [table.column("member_id").combine_chunks(), pa.array(prob, pa.float64())]
    codes = [idx[:, k] if idx.shape[1] > k else np.full(n, -1, np.int16) for k in range(3)]
    for code in codes:
        arrays.append(pa.array(code, pa.int16(), mask=code < 0))
    for code in codes:
        value = matrix[rows, np.maximum(code, 0)] if matrix.shape[1] else np.full(n, np.nan)
        arrays.append(pa.array(value, pa.float64(), mask=(code < 0) | np.isnan(value)))
    now_matrix = np.column_stack([nows.get(f, np.full(n, np.nan)) for f in feats]) if feats else np.empty((n, 0))
    for code in codes:
        now = now_matrix[rows, np.maximum(code, 0)] if now_matrix.shape[1] else np.full(n, np.nan)
        arrays.append(pa.array(now, pa.float64(), mask=(code < 0) | np.isnan(now)))
    return pa.Table.from_arrays(arrays, schema=STAGE_SCHEMA)


def _matrix(bundle: dict, table: pa.Table) -> np.ndarray:
    cols = bundle["numeric"] + bundle["categorical"]
    X = np.empty((table.num_rows, len(cols)), dtype=np.float64)
    names = set(table.column_names)
    for j, c in enumerate(cols):
        X[:, j] = table.column(c).to_numpy().astype(np.float64) if c in names else np.nan
    return X


def deciles(prob: np.ndarray) -> np.ndarray:
    """``ntile(10) OVER (ORDER BY probability DESC, position)`` for rows in member-id order: the first
    ``n mod 10`` deciles get one row more, as SQL's ntile does."""
    n = len(prob)
    order = np.argsort(-prob, kind="stable")  # ties keep member-id order
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    size, extra = divmod(n, 10)
    large = extra * (size + 1)
    out = np.where(rank < large, rank // max(size + 1, 1), extra + (rank - large) // max(size, 1)) + 1
    return out.astype(np.int8)


class _Producer(threading.Thread):
    """Runs the feature queries one after the other on its own thread (DuckDB releases the GIL), at most one
    result ahead of the consumer."""

    def __init__(self, con, sqls: list[str]):
        super().__init__(daemon=True)
        self.con, self.sqls, self.q, self.seconds, self.stop = con, sqls, queue.Queue(maxsize=1), 0.0, False

    def run(self):
        try:
            for sql in self.sqls:
                if self.stop:
                    return
                start = time.perf_counter()
                table = self.con.execute(sql).to_arrow_table()
                self.seconds += time.perf_counter() - start
                self.q.put(table)
            self.q.put(None)
        except BaseException as exc:  # handed to the consumer, which raises it
            self.q.put(exc)

    def __iter__(self):
        while True:
            item = self.q.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


def score(
    data_dir: Path, month: str, bundle: dict, meta: dict, sources: features.Sources | None = None, batch: int = BATCH
) -> dict:
    months.check(month)
    data_dir = Path(data_dir)
    started = time.perf_counter()
    final = scores_path(data_dir, month)
    final.parent.parent.mkdir(parents=True, exist_ok=True)
    work = final.parent.with_name(final.parent.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    con = features.connect(sources.timezone if sources else features.DEFAULT_TIMEZONE)
    con.execute(f"SET memory_limit = '{settings.duckdb_memory()}'")
    con.execute("SET parquet_metadata_cache = true")  # every range's query opens the same files
    extras = features.close_extras(data_dir, month)
    if sources is not None and sources.ledger is not None:
        extras.update(features.ledger_extras(con, sources.ledger, month))
    ranges = member_ranges(data_dir, batch)
    if len(ranges) > 1:  # computed once over everyone; read per range
        con.execute(f"CREATE TEMP TABLE churn_secondaries AS {features.secondaries_sql(data_dir, month)}")
        extras["secondaries"] = "SELECT * FROM churn_secondaries"
        if "tier_events" in extras:
            con.execute(f"CREATE TEMP TABLE churn_tier_events AS {extras['tier_events']}")
            extras["tier_events"] = "SELECT * FROM churn_tier_events"
    sqls = [
        f"SELECT * FROM ({features.feature_sql(data_dir, month, extras, r if len(ranges) > 1 else None)}) "
        f"ORDER BY member_id"
        for r in ranges
    ]
    seconds = {"setup": time.perf_counter() - started, "predict": 0.0, "explain": 0.0, "waiting": 0.0}
    producer = _Producer(con, sqls)
    producer.start()
    parts: list[pa.Table] = []
    threads = settings.SCORE_THREADS.value()
    try:
        with threadpool_limits(limits=threads):
            tick = time.perf_counter()
            for table in producer:
                seconds["waiting"] += time.perf_counter() - tick
                if table.num_rows:
                    tick = time.perf_counter()
                    X = _matrix(bundle, table)
                    prob = predict(bundle, X, threads)
                    seconds["predict"] += time.perf_counter() - tick
                    tick = time.perf_counter()
                    parts.append(_explain(bundle, table, X, prob))
                    seconds["explain"] += time.perf_counter() - tick
                del table
                tick = time.perf_counter()
    except BaseException:
        producer.stop = True
        while producer.is_alive():  # let it finish its query and leave
            try:
                producer.q.get(timeout=0.1)
            except queue.Empty:
                pass
        shutil.rmtree(work, ignore_errors=True)
        raise
    producer.join()
    seconds["features"] = producer.seconds
    rows = sum(p.num_rows for p in parts)
    if rows == 0:
        shutil.rmtree(work, ignore_errors=True)
        raise DataNotReady("churn_no_members_in_service", data_dir=str(data_dir), month=month)
    tick = time.perf_counter()
    compact = pa.concat_tables(parts)
    del parts
    compact = compact.append_column("risk_decile", pa.array(deciles(compact.column("churn_probability").to_numpy())))
    seconds["deciles"] = time.perf_counter() - tick
    tick = time.perf_counter()
    out = work / "part-0.parquet"
    _write(con, compact, out, [e.feature for e in bundle["effects"]], month, int(meta["version"]))
    del compact
    seconds["write"] = time.perf_counter() - tick
    old = final.parent.with_name(final.parent.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if final.parent.exists():
        final.parent.rename(old)
    work.rename(final.parent)
    shutil.rmtree(old, ignore_errors=True)
    result = summary(con, final, month, meta)
    seconds["total"] = time.perf_counter() - started
    result["seconds"] = {k: round(v, 2) for k, v in seconds.items()}
    return result


def _write(con, compact: pa.Table, out: Path, feats: list[str], month: str, version: int) -> None:
    """Render the reasons' sentences (once per distinct reason, :func:`reasons.render`) and write
    the scores in the rows' order (member id)."""
    n = compact.num_rows
    names = pa.array(feats, pa.string())
    words, zh, feature, kinds, compare = [], [], [], [], []
    for k in (1, 2, 3):
        code = compact.column(f"code_{k}").to_numpy(zero_copy_only=False)
        code = np.where(np.isnan(code), -1, code).astype(np.int64) if code.dtype.kind == "f" else code.astype(np.int64)
        value = compact.column(f"value_{k}").to_numpy(zero_copy_only=False).astype(np.float64)
        now = compact.column(f"now_{k}").to_numpy(zero_copy_only=False).astype(np.float64)
        en_k, zh_k = reasons.render(con, feats, code, value, now)
        kinds.append(reasons.kind_names(feats, code, value, now) if feats else pa.nulls(n, pa.string()))
        compare.append(pa.array(now, pa.float64(), mask=np.isnan(now) | (code < 0)))
        words.append(en_k)
        zh.append(zh_k)
        feature.append(names.take(pa.array(np.maximum(code, 0), mask=code < 0)) if feats else pa.nulls(n, pa.string()))
    table = pa.Table.from_arrays(
        [
            compact.column("member_id"),
            pa.array([month], pa.string()).take(pa.array(np.zeros(n, np.int64))),
            compact.column("churn_probability"),
            compact.column("risk_decile"),
            *words,
            *zh,
            *feature,
            compact.column("value_1"),
            compact.column("value_2"),
            compact.column("value_3"),
            *kinds,
            *compare,
            pa.array(np.full(n, version, dtype=np.int32)),
        ],
        names=[
            "member_id",
            "month",
            "churn_probability",
            "risk_decile",
            "reason_1",
            "reason_2",
            "reason_3",
            "reason_1_zh",
            "reason_2_zh",
            "reason_3_zh",
            "reason_feature_1",
            "reason_feature_2",
            "reason_feature_3",
            "reason_value_1",
            "reason_value_2",
            "reason_value_3",
            "reason_kind_1",
            "reason_kind_2",
            "reason_kind_3",
            "reason_compare_1",
            "reason_compare_2",
            "reason_compare_3",
            "model_version",
        ],
    )
    pq.write_table(table, out, compression="zstd", row_group_size=65536)


def summary(con, path: Path, month: str, meta: dict) -> dict:
    stats = con.execute(
        f"SELECT count(*), avg(churn_probability), sum(churn_probability), "
        f"count(*) FILTER (WHERE churn_probability >= 0.5) FROM read_parquet('{path}')"
    ).fetchone()
    top = con.execute(
        f"SELECT reason_feature_1, count(*) AS n FROM read_parquet('{path}') "
        f"WHERE risk_decile = 1 AND reason_feature_1 IS NOT NULL GROUP BY 1 ORDER BY n DESC, 1 LIMIT 5"
    ).fetchall()
    return {
        "month": month,
        "members": int(stats[0]),
        "mean_probability": round(float(stats[1]), 6),
        "expected_leavers": round(float(stats[2]), 1),
        "at_least_50pct": int(stats[3]),
        "model_version": meta["version"],
        "model": meta.get("model"),
        "horizon_months": meta.get("horizon_months"),
        "top_reasons_top_decile": {r[0]: int(r[1]) for r in top},
        "path": str(path),
    }
