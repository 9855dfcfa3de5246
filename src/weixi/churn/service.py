"""Churn services: train on the operator's history or an analyst's table, score a month. The CLI, API and
console call these; they raise :class:`weixi.churn.errors.ChurnError` kinds (bad input, data not ready, not scored, no model)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from weixi import settings
from weixi.churn import explain, features, model, operator, report, score, store, tabular
from weixi.churn.errors import ChurnInputError, ModelNotTrained, NotScored

MODEL_KEYS = ("auc", "pr_auc", "lift_top_decile", "brier", "rows", "folds")


def ledger_engine(db: str | None = None):
    """The points ledger when there is one (``db``, else ``$WEIXI_DB``, else an existing ./weixi.db) with its
    schema; None otherwise — the points features are then left empty."""
    from sqlalchemy import inspect

    from weixi.adapters.db import make_engine

    value = db or settings.DB.raw()
    if value is None and not Path("weixi.db").exists():
        return None
    if value and "://" not in value and not Path(value).exists():
        return None
    try:
        engine = make_engine(value)
        if "lots" not in inspect(engine).get_table_names():
            return None
        return engine
    except Exception:  # an unreachable ledger only costs the points features
        return None


def operator_zone(engine) -> str:
    """The active plan's timezone in the database ``engine`` (the default without a database or a plan)."""
    if engine is None:
        return settings.DEFAULT_TIMEZONE
    from sqlalchemy.exc import SQLAlchemyError

    from weixi.plans.service import plan_zone

    try:
        return plan_zone(engine).key
    except SQLAlchemyError:  # no plan tables in this database: the points features' database only
        return settings.DEFAULT_TIMEZONE


def _finish(
    trained: model.Trained, data_dir: Path, source: dict, extra: dict, report_dir: str | None, ignored: dict
) -> dict:
    eff = explain.effects(trained.pipeline, trained.sample, trained.numeric, trained.categorical)
    bundle = {
        "pipeline": trained.pipeline,
        "calibrator": trained.calibrator,
        "numeric": trained.numeric,
        "categorical": trained.categorical,
        "effects": eff,
        "name": trained.name,
    }
    meta = {
        "kind": "churn",
        "model": trained.name,
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": source,
        "metrics": trained.metrics,
        "candidates": trained.candidates,
        "calibration": trained.calibration,
        "lift": trained.lift,
        "importance": trained.importance,
        "features": trained.numeric + trained.categorical,
        "ignored": ignored,
        **extra,
    }
    version, path = store.save(data_dir, bundle, meta)
    meta["version"] = version
    out = {k: trained.metrics[k] for k in MODEL_KEYS}
    out.update(
        capture_top_decile=trained.metrics["capture_top_decile"],
        model=trained.name,
        model_version=version,
        model_path=str(path),
        calibration_method=trained.metrics["calibration"],
        candidates={n: c["auc"] for n, c in trained.candidates.items()},
        top_features=[r["feature"] for r in trained.importance[:5]],
        ignored_columns=ignored,
    )
    if report_dir:
        out["report"] = str(report.write(Path(report_dir), meta))
    return out


def train_operator(data_dir: Path, month: str, report_dir: str | None = None, db: str | None = None) -> dict:
    """Train on the operator's archive at ``month`` (labels from ``churn_labels``); store a new model version."""
    data_dir = Path(data_dir)
    ledger = ledger_engine(db)
    table, used = operator.training_table(data_dir, month, features.Sources(ledger, operator_zone(ledger)))
    trained = model.train(table)
    source = {
        "kind": "operator",
        "data": str(data_dir),
        "month": month,
        "feature_months": used,
        "description": f"operator archive {data_dir}, feature months {', '.join(used)}, "
        f"label: left within {operator.HORIZON_MONTHS} months",
    }
    out = _finish(trained, data_dir, source, {"horizon_months": operator.HORIZON_MONTHS}, report_dir, table.ignored)
    out.update(feature_months=used, horizon_months=operator.HORIZON_MONTHS)
    return out


def train_file(
    path: str,
    label: str,
    data_dir: Path,
    id_col: str | None = None,
    positive: str | None = None,
    report_dir: str | None = None,
) -> dict:
    """Train on an analyst's CSV or Parquet table; the model is stored as a version like any other."""
    df = tabular.read_file(path)
    table = tabular.from_frame(df, label, id_col, positive, source=str(path))
    trained = model.train(table)
    source = {
        "kind": "file",
        "path": str(Path(path).resolve()),
        "label": label,
        "id": id_col,
        "positive": table.positive,
        "numeric": table.numeric,
        "categorical": table.categorical,
        "rows_without_label": table.dropped_rows,
        "description": f"{path}, label {label} = {table.positive!r} means churned",
    }
    out = _finish(trained, Path(data_dir), source, {}, report_dir, table.ignored)
    out["rows_without_label"] = table.dropped_rows
    return out


def score_month(data_dir: Path, month: str, version: int | None = None, db: str | None = None) -> dict:
    """Score every member in service at the end of ``month`` with the latest operator model (or ``version``)."""
    data_dir = Path(data_dir)
    operator.check_data(data_dir)
    bundle, meta = store.load(data_dir, version, source=None if version is not None else "operator")
    if meta.get("source", {}).get("kind") != "operator":
        raise ChurnInputError("churn_model_not_operator", version=meta["version"], path=meta["source"].get("path"))
    ledger = ledger_engine(db)
    return score.score(data_dir, month, bundle, meta, features.Sources(ledger, operator_zone(ledger)))


def scores(data_dir: Path, month: str):
    """The scored month as a pyarrow table (raises when the month was not scored)."""
    import pyarrow.parquet as pq

    path = score.scores_path(Path(data_dir), month)
    if not path.exists():
        raise NotScored("churn_month_not_scored", month=month)
    return pq.read_table(path)


def model_info(data_dir: Path, version: int | None = None) -> dict:
    v = version if version is not None else store.latest(Path(data_dir))
    if v is None:
        raise ModelNotTrained("churn_no_model_yet", root=str(store.root(Path(data_dir))))
    return store.read_meta(Path(data_dir), v)


def list_models(data_dir: Path) -> list[dict]:
    out = []
    for v in store.versions(Path(data_dir)):
        m = store.read_meta(Path(data_dir), v)
        out.append(
            {
                "version": v,
                "model": m.get("model"),
                "trained_at": m.get("trained_at"),
                "source": m.get("source", {}).get("description"),
                **{k: m["metrics"][k] for k in MODEL_KEYS},
            }
        )
    return out
