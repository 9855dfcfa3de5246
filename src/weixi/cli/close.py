"""``weixi close``: the monthly close, with progress bars on a terminal and a summary at the end."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from weixi import settings, startup
from weixi.cli.app import app
from weixi.cli.db import DB, JSON, open_engine
from weixi.cli.output import console, emit_json, fail
from weixi.errors import WeixiError

DATA = typer.Option(None, "--data", help="Member archive directory (default: $WEIXI_DATA or ./weixi-data).")


def data_dir(value: str | None) -> Path:
    return Path(value or settings.DATA.value())


@app.command("close")
def close(
    month: str = typer.Option(..., "--month", help="The month to close, YYYY-MM."),
    data: Optional[str] = DATA,
    engine: str = typer.Option("duckdb", "--engine", help="Batch engine: duckdb (default) or pyspark."),
    budget: Optional[int] = typer.Option(
        None,
        "--budget",
        min=1,
        help="The month's points budget (default: WEIXI_POINTS_BUDGET): its burn is in the summary's programme figures.",
    ),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Close a month: accrue its bills and recharges, expire points, evaluate tiers and segments, write the snapshot."""
    from weixi.close.months import parse_month
    from weixi.close.run import CloseRefused, close_month
    from weixi.close.run import Progress as Hooks
    from weixi.plans.service import NoActivePlan

    parse_month(month)  # a coded error: the envelope under --json
    ledger = open_engine(db, as_json)
    show = sys.stderr.isatty() and not as_json
    bars = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}"),
        TimeElapsedColumn(),
        console=console,
        disable=not show,
        transient=False,
    )
    tasks: dict[str, int] = {}

    def on_step(name: str) -> None:
        for tid in tasks.values():
            bars.update(tid, completed=bars.tasks[tid].completed, total=bars.tasks[tid].completed or 1)
        tasks[name] = bars.add_task(name, total=None)

    def on_advance(n: int) -> None:
        if tasks:
            bars.advance(list(tasks.values())[-1], n)

    try:
        with bars:
            result = close_month(
                ledger,
                data_dir(data),
                month,
                engine,
                Hooks(on_step, on_advance),
                budget=budget,
                process_ends=startup.process_ends_after_command,  # (weixi.entry: the command, not a test's call)
            )
    except CloseRefused as exc:
        if not as_json:
            for line in exc.missing:
                console.print(f"  missing: {line}", highlight=False)
        fail(exc, as_json)
    except NoActivePlan as exc:
        fail(exc if isinstance(exc, WeixiError) else str(exc), as_json)
    if as_json:
        from weixi.close.summaries import with_star_events

        emit_json({**result, "summary": with_star_events(data_dir(data), result["month"], result.get("summary"))})
        return
    _print_summary(result, data_dir(data))


def _print_summary(result: dict, data: Path) -> None:
    from weixi.close.summaries import with_star_events  # the close page's reading: a summary kept before them too

    s = with_star_events(data, result["month"], result["summary"])
    if result.get("already_closed"):
        console.print(f"[yellow]{result['month']} was already closed: nothing changed[/]")
    console.print(
        f"[bold]close {result['month']}[/] ({result['engine']}, plan {result['plan']} v{result['plan_version']}): "
        f"{s['members']:,} members, {s['active']:,} active"
    )
    a = result["accrual"]
    console.print(
        f"accrual: {a['bills']:,} paid bills and {a['recharges']:,} recharges → posted {a['posted']:,}, "
        f"duplicate {a['duplicates']:,}, rejected {a['rejected']:,}"
    )
    table = Table("members by", "counts (active members)", title=None)
    for title, key in (
        ("tier", "by_tier"),
        ("star level", "by_star_level"),
        ("value grade", "by_value_grade"),
        ("activity", "by_activity"),
        ("key account", "by_key_account"),
        ("tier events", "tier_events"),
        ("star level events", "star_events"),
    ):
        if s.get(key):
            table.add_row(title, "  ".join(f"{k}: {v:,}" for k, v in s[key].items()))
    console.print(table)
    p = s["points"]
    console.print(
        f"points: issued {p['issued']:,}, redeemed {p['redeemed']:,}, expired {p['expired']:,}; "
        f"outstanding {p['outstanding']:,} = liability {s['liability_yuan']} yuan "
        f"at {s['cost_per_point_yuan']} yuan per point"
    )


ledger_app = typer.Typer(help="Ledger store maintenance.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")


@ledger_app.command("upgrade-lake")
def upgrade_lake(data: Optional[str] = DATA, db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Upgrade a ledger closed with WEIXI_LEDGER_STORE=sql to the lake in place: the closed months' bill and
    recharge accruals are copied from the SQL journal into DATA/lake/accruals and every member is marked folded
    through them (no balance changes); the next close writes its month to the lake (unless WEIXI_LEDGER_STORE=sql). Safe to run again, and after a crash."""
    from weixi.close.lake_upgrade import upgrade_to_lake

    done = upgrade_to_lake(open_engine(db, as_json), data_dir(data))
    if as_json:
        emit_json(done.__dict__)
    elif done.already:
        console.print("[yellow]the ledger already has lake months: nothing changed[/]")
    elif not done.months:
        console.print("no closed month to upgrade: the next close writes its month to the lake")
    else:
        console.print(
            f"upgraded {len(done.months)} closed month(s) {done.months[0]} .. {done.months[-1]}: "
            f"{done.rows:,} accruals in the lake, {done.members:,} members folded through {done.months[-1]}; "
            "the next close writes its month to the lake"
        )
