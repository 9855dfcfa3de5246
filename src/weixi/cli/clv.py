"""``weixi clv``: customer value (buy-till-you-die) — summarise, fit and score. A refusal exits with status 2 and
its coded error (the envelope under ``--json``)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from weixi.cli.app import app
from weixi.cli.output import console, emit_json, fail
from weixi.clv.errors import CLVError, DataError

clv_app = typer.Typer(
    help="Customer value: BG/NBD, Pareto/NBD, Gamma-Gamma spend, sBG contract renewals.", no_args_is_help=True
)
app.add_typer(clv_app, name="clv")

JSON = typer.Option(False, "--json", help="Print machine-readable JSON.")
TRANSACTIONS = typer.Option(None, "--transactions", help="Transactions file (CSV or Parquet), one row per purchase.")
CUSTOMER = typer.Option(None, "--customer", help="Customer id column (transactions; optional for a summary).")
DATE = typer.Option(None, "--date", help="Purchase date column (transactions).")
AMOUNT = typer.Option(None, "--amount", help="Purchase value column (transactions; needed for spend and CLV).")
CAL_END = typer.Option(None, "--calibration-end", help="Last day of the calibration period, YYYY-MM-DD.")
UNIT = typer.Option("week", "--unit", help="Time unit of recency, age and horizon: day, week or month.")
SUMMARY = typer.Option(None, "--summary", help="Summary file (CSV or Parquet), one row per customer.")
FREQ = typer.Option("frequency", "--frequency", help="Summary column: repeat purchases x.")
REC = typer.Option("recency", "--recency", help="Summary column: time of the last purchase t_x.")
AGE = typer.Option("T", "--age", help="Summary column: time since the first purchase T.")
MONETARY = typer.Option(None, "--monetary", help="Summary column: average value of the repeat purchases.")
SURVIVAL = typer.Option(None, "--survival", help="sBG: survival table (period, customers still active).")
PERIOD = typer.Option("period", "--period", help="Survival table column: period 0, 1, 2, ...")
ALIVE = typer.Option("alive", "--alive", help="Survival table column: customers still active.")
COHORT = typer.Option(None, "--cohort", help="Survival table column: cohort (one table per cohort).")
RENEWALS = typer.Option(None, "--renewals", help="sBG: renewal table, one row per member.")
TENURE = typer.Option("tenure", "--tenure", help="Renewal table column: contract periods completed.")
CHURNED = typer.Option("churned", "--churned", help="Renewal table column: 1/0, yes/no, true/false.")
MEMBER = typer.Option(None, "--member", help="Renewal table column: member id.")
VALUE = typer.Option(None, "--value", help="Renewal table column: payment per period (for CLV).")

MODELS = ("bgnbd", "paretonbd", "gammagamma", "sbg")


def _error(exc: CLVError, as_json: bool):
    fail(exc, as_json, code=2)


def _summary(
    transactions, customer, date_col, amount, calibration_end, unit, summary, frequency, recency, age, monetary
):
    """The customer summary from either a transactions file or a summary file (exactly one)."""
    from weixi.clv import service as clv

    if (transactions is None) == (summary is None):
        raise DataError("clv_input_choice")
    if transactions is not None:
        missing = [
            o
            for o, v in (("--customer", customer), ("--date", date_col), ("--calibration-end", calibration_end))
            if v is None
        ]
        if missing:
            raise DataError("clv_transactions_options_missing", options=missing)
        try:
            end = date.fromisoformat(calibration_end)
        except ValueError:
            raise DataError("clv_calibration_end_invalid", value=calibration_end) from None
        return clv.summarise_transactions(
            transactions, customer=customer, date_col=date_col, amount=amount, calibration_end=end, unit=unit
        )
    return clv.read_summary(summary, clv.SummaryColumns(frequency, recency, age, monetary, customer))


@clv_app.command("summarise")
def summarise(
    transactions: Path = typer.Option(..., "--transactions", help="Transactions file (CSV or Parquet)."),
    customer: str = typer.Option(..., "--customer", help="Customer id column."),
    date_col: str = typer.Option(..., "--date", help="Purchase date column."),
    amount: Optional[str] = AMOUNT,
    calibration_end: str = typer.Option(..., "--calibration-end", help="Last calibration day, YYYY-MM-DD."),
    unit: str = UNIT,
    out: Path = typer.Option(..., "--out", help="Summary file to write (.parquet or .csv)."),
    as_json: bool = JSON,
) -> None:
    """Write the per-customer summary (frequency, recency, T, monetary, holdout purchases) of a transactions file."""
    from weixi.clv import service as clv

    try:
        table = _summary(transactions, customer, date_col, amount, calibration_end, unit, None, None, None, None, None)
        clv.write_table(table, out)
    except CLVError as exc:
        _error(exc, as_json)
    import pyarrow.compute as pc

    info = {
        "customers": table.num_rows,
        "repeat_customers": int(pc.sum(pc.greater(table["frequency"], 0)).as_py()),
        "repeat_transactions": int(pc.sum(table["frequency"]).as_py() or 0),
        "holdout_transactions": int(pc.sum(table["holdout_frequency"]).as_py() or 0),
        "unit": unit,
        "calibration_end": calibration_end,
        "out": str(out),
    }
    if as_json:
        emit_json(info)
        return
    console.print(
        f"{info['customers']:,} customers ({info['repeat_customers']:,} with repeat purchases, "
        f"{info['repeat_transactions']:,} repeat transactions to {calibration_end}; "
        f"{info['holdout_transactions']:,} purchase days after it) → {out}",
        highlight=False,
    )


@clv_app.command("fit")
def fit(
    model: str = typer.Option(..., "--model", help="bgnbd, paretonbd, gammagamma or sbg."),
    transactions: Optional[Path] = TRANSACTIONS,
    customer: Optional[str] = CUSTOMER,
    date_col: Optional[str] = DATE,
    amount: Optional[str] = AMOUNT,
    calibration_end: Optional[str] = CAL_END,
    unit: str = UNIT,
    summary: Optional[Path] = SUMMARY,
    frequency: str = FREQ,
    recency: str = REC,
    age: str = AGE,
    monetary: Optional[str] = MONETARY,
    survival: Optional[Path] = SURVIVAL,
    period: str = PERIOD,
    alive: str = ALIVE,
    cohort: Optional[str] = COHORT,
    renewals: Optional[Path] = RENEWALS,
    tenure: str = TENURE,
    churned: str = CHURNED,
    as_json: bool = JSON,
) -> None:
    """Fit a model by maximum likelihood; print its parameters and log-likelihood."""
    from weixi.clv import sbg
    from weixi.clv import service as clv

    if model not in MODELS:
        fail(DataError("clv_model_unknown", model=model, models=MODELS), as_json, code=2)
    try:
        if model == "sbg":
            if (survival is None) == (renewals is None):
                raise DataError("clv_sbg_input_choice")
            if survival is not None:
                result = sbg.fit(*clv.read_survival(survival, period=period, alive=alive, cohort=cohort))
            else:
                result = clv.fit_renewals(clv.read_renewals(renewals, tenure=tenure, churned=churned))
        else:
            if survival is not None or renewals is not None:
                raise DataError("clv_sbg_options_misused", model=model)
            table = _summary(
                transactions,
                customer,
                date_col,
                amount,
                calibration_end,
                unit,
                summary,
                frequency,
                recency,
                age,
                monetary,
            )
            result = clv.fit_summary(table, model)
    except CLVError as exc:
        _error(exc, as_json)
    if as_json:
        emit_json(result.to_json())
        return
    table = Table("parameter", "estimate", title=f"{model}: maximum likelihood")
    for name, v in result.params.items():
        table.add_row(name, f"{v:.4f}")
    console.print(table)
    console.print(
        f"log-likelihood {result.log_likelihood:.2f} · {result.customers:,} customers in "
        f"{result.rows:,} distinct rows · {result.iterations} iterations",
        highlight=False,
    )


@clv_app.command("score")
def score(
    out: Path = typer.Option(..., "--out", help="Scores file to write (.parquet or .csv)."),
    horizon: float = typer.Option(..., "--horizon", help="Horizon in --unit (sbg: whole contract periods)."),
    model: str = typer.Option("bgnbd", "--model", help="bgnbd, paretonbd or sbg."),
    discount_rate: float = typer.Option(
        0.10, "--discount-rate", help="Annual discount rate (sbg: per contract period)."
    ),
    params: Optional[Path] = typer.Option(
        None, "--params", help="Use these parameters (JSON of 'clv fit --json') instead of fitting."
    ),
    spend_params: Optional[Path] = typer.Option(
        None, "--spend-params", help="Gamma-Gamma parameters (JSON of 'clv fit --json')."
    ),
    transactions: Optional[Path] = TRANSACTIONS,
    customer: Optional[str] = CUSTOMER,
    date_col: Optional[str] = DATE,
    amount: Optional[str] = AMOUNT,
    calibration_end: Optional[str] = CAL_END,
    unit: str = UNIT,
    summary: Optional[Path] = SUMMARY,
    frequency: str = FREQ,
    recency: str = REC,
    age: str = AGE,
    monetary: Optional[str] = MONETARY,
    renewals: Optional[Path] = RENEWALS,
    tenure: str = TENURE,
    churned: str = CHURNED,
    member: Optional[str] = MEMBER,
    value: Optional[str] = VALUE,
    as_json: bool = JSON,
) -> None:
    """Score every member: P(alive), expected transactions over the horizon, CLV (sbg: renewal chance, expected
    renewals, discounted expected residual lifetime, CLV)."""
    import pyarrow.compute as pc

    from weixi.clv import service as clv

    if model not in ("bgnbd", "paretonbd", "sbg"):
        fail(DataError("clv_scoring_model_unknown", model=model), as_json, code=2)
    try:
        given = _read_params(params, model)
        spend = _read_params(spend_params, "gammagamma")
        if model == "sbg":
            if renewals is None:
                raise DataError("clv_sbg_needs_renewals")
            if horizon != int(horizon):
                raise DataError("clv_sbg_horizon_not_whole")
            table = clv.read_renewals(renewals, tenure=tenure, churned=churned, member=member, value=value)
            result = clv.score_renewals(table, horizon=int(horizon), discount_rate=discount_rate, params=given, out=out)
            info = {
                "members": result.num_rows,
                "active": int(pc.sum(pc.invert(result["churned"])).as_py() or 0),
                "expected_renewals": float(pc.sum(result["expected_renewals"]).as_py()),
            }
        else:
            table = _summary(
                transactions,
                customer,
                date_col,
                amount,
                calibration_end,
                unit,
                summary,
                frequency,
                recency,
                age,
                monetary,
            )
            result = clv.score_members(
                table,
                model=model,
                horizon=horizon,
                unit=unit,
                discount_rate=discount_rate,
                params=given,
                spend_params=spend,
                out=out,
            )
            info = {
                "members": result.num_rows,
                "mean_p_alive": float(pc.mean(result["p_alive"]).as_py()),
                "expected_transactions": float(pc.sum(result["expected_transactions"]).as_py()),
            }
    except CLVError as exc:
        _error(exc, as_json)
    if "clv" in result.column_names:
        info["clv_total"] = str(pc.sum(result["clv"]).as_py())
    info.update({"model": model, "horizon": horizon, "out": str(out), "fits": clv.fits_of(result)["fits"]})
    if as_json:
        emit_json(info)
        return
    _print_scores(info, model, horizon, unit, out)


def _print_scores(info: dict, model: str, horizon: float, unit: str, out: Path) -> None:
    """The fits and the scores' totals, for people."""
    for name, f in info["fits"].items():
        shown = ", ".join(f"{k}={v:.4g}" for k, v in f["params"].items())
        ll = f" (log-likelihood {f['log_likelihood']:.2f})" if "log_likelihood" in f else " (given)"
        console.print(f"{name}: {shown}{ll}", highlight=False)
    extra = f", total CLV {info['clv_total']}" if "clv_total" in info else ""
    if model == "sbg":
        console.print(
            f"{info['members']:,} members, {info['active']:,} active, "
            f"{info['expected_renewals']:,.1f} renewals expected in {int(horizon)} periods{extra} → {out}",
            highlight=False,
        )
    else:
        console.print(
            f"{info['members']:,} members, mean P(alive) {info['mean_p_alive']:.3f}, "
            f"{info['expected_transactions']:,.1f} transactions expected in {horizon:g} {unit}s{extra} → {out}",
            highlight=False,
        )


def _read_params(path: Path | None, model: str) -> dict | None:
    if path is None:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError("clv_params_file_unreadable", path=str(path), detail=str(exc)) from None
    if not isinstance(data, dict):
        raise DataError("clv_params_not_object", path=str(path))
    if "model" in data and data["model"] != model:
        raise DataError("clv_params_wrong_model", path=str(path), found=data["model"], model=model)
    found = data.get("params", data)
    if not isinstance(found, dict):
        raise DataError("clv_params_field_not_object", path=str(path))
    return found
