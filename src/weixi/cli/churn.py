"""``weixi churn train|score|models``: the churn model. A refusal exits with status 2 and its coded error (the
envelope under ``--json``)."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from weixi.churn.errors import ChurnError, ChurnInputError
from weixi.cli.app import app
from weixi.cli.output import console, emit_json, fail
from weixi.errors import WeixiError

churn_app = typer.Typer(help="Churn early warning: train, score, list models (docs/churn.md).", no_args_is_help=True)
app.add_typer(churn_app, name="churn")

JSON = typer.Option(False, "--json", help="Print machine-readable JSON.")
DATA = typer.Option(None, "--data-dir", help="Data directory (default: $WEIXI_DATA or ./weixi-data).")


def _data_dir(value: str | None):
    from weixi.adapters.archive import data_dir

    return data_dir(value)


def _month(month: str, as_json: bool) -> str:
    from weixi.segments.months import check

    try:
        return check(month)
    except WeixiError as exc:
        fail(exc, as_json, code=2)


@churn_app.command("train")
def train(
    month: Optional[str] = typer.Option(
        None, "--month", help="Train on the operator's history known at the end of this month (YYYY-MM)."
    ),
    data: Optional[str] = typer.Option(None, "--data", help="Or train on this CSV or Parquet file."),
    label: Optional[str] = typer.Option(None, "--label", help="With --data: the column that says who churned."),
    id_col: Optional[str] = typer.Option(None, "--id", help="With --data: the id column (not a feature)."),
    positive: Optional[str] = typer.Option(
        None, "--positive", help="With --data: the label value meaning churned (default: yes/true/1)."
    ),
    report: Optional[str] = typer.Option(None, "--report", help="Write an HTML report with charts into DIR."),
    data_dir: Optional[str] = DATA,
    as_json: bool = JSON,
) -> None:
    """Train and cross-validate (gradient boosting vs logistic), calibrate, store a new model version."""
    from weixi.churn import service as churn

    if (month is None) == (data is None):
        fail(ChurnInputError("churn_train_source_needed"), as_json, code=2)
    if data is not None and label is None:
        fail(ChurnInputError("churn_train_label_needed"), as_json, code=2)
    if month is not None and (label or id_col or positive):
        fail(ChurnInputError("churn_train_file_options"), as_json, code=2)
    try:
        if month is not None:
            out = churn.train_operator(_data_dir(data_dir), _month(month, as_json), report)
        else:
            out = churn.train_file(data, label, _data_dir(data_dir), id_col, positive, report)
    except ChurnError as exc:
        fail(exc, as_json, code=2)
    if as_json:
        emit_json(out)
        return
    console.print(
        f"[bold]churn model v{out['model_version']}[/] ({out['model']}, calibration "
        f"{out['calibration_method']}): {out['rows']:,} rows, {out['folds']}-fold cross-validation"
    )
    console.print(
        f"ROC-AUC {out['auc']:.4f}  PR-AUC {out['pr_auc']:.4f}  lift in the top decile "
        f"{out['lift_top_decile']:.2f} (captures {out['capture_top_decile']:.1%})  Brier {out['brier']:.4f}"
    )
    console.print("candidates: " + ", ".join(f"{n} {a:.4f}" for n, a in out["candidates"].items()))
    console.print("most important: " + ", ".join(out["top_features"]))
    for col, why in out.get("ignored_columns", {}).items():
        console.print(f"  not used: {col} ({why})", highlight=False)
    if out.get("report"):
        console.print(f"report: {out['report']}")


@churn_app.command("score")
def score(
    month: str = typer.Option(..., "--month", help="Score the members in service at the end of this month."),
    version: Optional[int] = typer.Option(
        None, "--model-version", help="Model version (default: the latest trained on the operator's data)."
    ),
    data_dir: Optional[str] = DATA,
    as_json: bool = JSON,
) -> None:
    """Write every member's calibrated churn probability and top three reasons to Parquet."""
    from weixi.churn import service as churn

    try:
        out = churn.score_month(_data_dir(data_dir), _month(month, as_json), version)
    except ChurnError as exc:
        fail(exc, as_json, code=2)
    if as_json:
        emit_json(out)
        return
    console.print(
        f"[bold]scored {out['members']:,} members[/] at the end of {out['month']} with model "
        f"v{out['model_version']} ({out['model']}): mean probability {out['mean_probability']:.2%} of "
        f"leaving within {out['horizon_months']} months, {out['expected_leavers']:,.0f} expected leavers"
    )
    if out["top_reasons_top_decile"]:
        console.print(
            "first reasons in the top risk decile: "
            + ", ".join(f"{k} {v:,}" for k, v in out["top_reasons_top_decile"].items())
        )
    console.print(f"written: {out['path']}")


@churn_app.command("models")
def models(data_dir: Optional[str] = DATA, as_json: bool = JSON) -> None:
    """List the stored model versions and their cross-validated metrics."""
    from weixi.churn import service as churn

    rows = churn.list_models(_data_dir(data_dir))
    if as_json:
        emit_json(rows)
        return
    table = Table("version", "model", "trained at", "ROC-AUC", "PR-AUC", "lift@10%", "Brier", "rows", "trained on")
    for r in rows:
        table.add_row(
            str(r["version"]),
            r["model"],
            r["trained_at"],
            f"{r['auc']:.4f}",
            f"{r['pr_auc']:.4f}",
            f"{r['lift_top_decile']:.2f}",
            f"{r['brier']:.4f}",
            f"{r['rows']:,}",
            r["source"] or "",
        )
    console.print(table)
