"""``weixi targets build|export|evaluate``: retention target lists. A refusal exits with status 2 and its coded
error (the envelope under ``--json``)."""

from __future__ import annotations

from typing import List, Optional

import typer
from rich.table import Table

from weixi.cli.app import app
from weixi.cli.output import console, emit_json, fail
from weixi.errors import WeixiError

targets_app = typer.Typer(
    help="Retention target lists: build, export, evaluate (docs/targets.md).", no_args_is_help=True
)
app.add_typer(targets_app, name="targets")

JSON = typer.Option(False, "--json", help="Print machine-readable JSON.")
DATA = typer.Option(None, "--data-dir", help="Data directory (default: $WEIXI_DATA or ./weixi-data).")
MONTH = typer.Option(..., "--month", help="The month, YYYY-MM.")
DB = typer.Option(None, "--db", help="Database whose audit log records --reveal (default: $WEIXI_DB or ./weixi.db).")


def _data_dir(value):
    from weixi.adapters.archive import data_dir

    return data_dir(value)


def _run(fn, as_json: bool):
    try:
        return fn()
    except WeixiError as exc:  # a refusal of the target-list service, or a malformed month
        fail(exc, as_json, code=2)


@targets_app.command("build")
def build(
    month: str = MONTH,
    plan: Optional[str] = typer.Option(
        None, "--plan", help="Retention plan file (default: the packaged weixi/data/retention.yaml)."
    ),
    order: str = typer.Option("risk", "--order", help="Rank by risk × value (risk) or uplift × value (uplift)."),
    value: Optional[str] = typer.Option(
        None, "--value", help="CSV/Parquet with member_id, clv (yuan): use this customer value instead of Weixi's."
    ),
    csv: Optional[str] = typer.Option(None, "--csv", help="Also export the treatment group to this CSV."),
    xlsx: Optional[str] = typer.Option(None, "--xlsx", help="Also export the treatment group to this XLSX."),
    data_dir: Optional[str] = DATA,
    as_json: bool = JSON,
) -> None:
    """Build the month's target lists from its churn scores: expiring, high risk, silent, win-back."""
    from weixi.targets import service as targets

    data = _data_dir(data_dir)
    out = _run(lambda: targets.build(data, month, plan, order, value), as_json)
    for path in (csv, xlsx):
        if path:
            out.setdefault("exports", []).append(
                _run(lambda path=path: targets.export_lists(data, month, path), as_json)
            )
    if as_json:
        emit_json(out)
        return
    console.print(
        f"[bold]target lists {out['month']}[/] (plan {out['plan']}, ordered by {out['order']}): "
        f"{out['members']:,} members, control share {out['control_share']}"
    )
    table = Table("list", "members", "treatment", "control", "value (yuan)", "value at risk (yuan)")
    for name, d in out["lists"].items():
        table.add_row(
            name,
            f"{d['members']:,}",
            f"{d['treatment']:,}",
            f"{d['control']:,}",
            d["value_yuan"],
            d["value_at_risk_yuan"],
        )
    console.print(table)
    console.print("offers (treatment): " + ", ".join(f"{k} {v:,}" for k, v in out["offers"].items()))
    console.print(f"written: {out['path']}")
    for e in out.get("exports", []):
        console.print(f"exported {e['rows']:,} rows: {e['path']}")


@targets_app.command("export")
def export(
    month: str = MONTH,
    out: str = typer.Option(..., "--out", help="File to write: .csv or .xlsx (or any name with --format incentive)."),
    fmt: Optional[str] = typer.Option(
        None, "--format", help="csv, xlsx or incentive (customer_id, month, status); default from --out's suffix."
    ),
    group: str = typer.Option("treatment", "--group", help="treatment (default), control or all."),
    lists: Optional[List[str]] = typer.Option(None, "--list", help="Only these lists (repeatable)."),
    reveal: bool = typer.Option(
        False,
        "--reveal",
        help="Phone numbers in clear (default: masked); written to the audit log of the database (--db).",
    ),
    db: Optional[str] = DB,
    data_dir: Optional[str] = DATA,
    as_json: bool = JSON,
) -> None:
    """Export the month's lists for the outbound centre (CSV/XLSX) or the incentive engine."""
    from weixi.targets import service as targets

    who = None
    if reveal:
        from weixi.cli.reveal import auditor

        who = auditor(db, as_json)
    res = _run(lambda: targets.export_lists(_data_dir(data_dir), month, out, fmt, group, lists, reveal, who), as_json)
    if as_json:
        emit_json(res)
        return
    console.print(f"exported {res['rows']:,} rows ({res['format']}, {res['group']}): {res['path']}")


@targets_app.command("evaluate")
def evaluate(month: str = MONTH, data_dir: Optional[str] = DATA, as_json: bool = JSON) -> None:
    """Treated vs control: churn rate and revenue in the months after, lift with a 95% interval, uplift model."""
    from weixi.targets import service as targets

    res = _run(lambda: targets.evaluate(_data_dir(data_dir), month), as_json)
    if as_json:
        emit_json(res)
        return
    o = res["overall"]
    console.print(
        f"[bold]evaluation of {res['month']}'s lists[/] ({res['analysis']}, outcomes over "
        f"{res['horizon_months']} months)"
    )
    table = Table(
        "list",
        "treated",
        "control",
        "churn treated",
        "churn control",
        "lift (points)",
        "95% CI",
        "revenue/member diff (yuan)",
    )
    for name, d in [("all", o)] + list(res["by_list"].items()):
        ci = d.get("lift_ci95")
        rate = lambda v: "-" if v is None else f"{v:.2%}"  # noqa: E731
        table.add_row(
            name,
            f"{d['treated']:,}",
            f"{d['control']:,}",
            rate(d["churn_rate_treated"]),
            rate(d["churn_rate_control"]),
            f"{d['lift'] * 100:+.2f}" if d.get("lift") is not None else "-",
            f"[{ci[0] * 100:+.2f}, {ci[1] * 100:+.2f}]" if ci else "-",
            str(d.get("revenue_per_member_diff_yuan", "-")),
        )
    console.print(table)
    up = res.get("uplift") or {}
    if up.get("learner"):
        console.print(
            f"uplift model v{up['model_version']}: {up['learner']} (Qini {up['qini']}); "
            f"build with --order uplift to rank by it"
        )
    elif up.get("skipped"):
        console.print(f"uplift model not fitted: {up['skipped']}")
