"""``weixi generate``: write a synthetic telecom operator as Parquet tables."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from weixi.cli.app import app
from weixi.cli.output import console, emit_json, err_console, fail
from weixi.generator.run import DEFAULT_CHUNK_SIZE, DEFAULT_END_MONTH, GenerateConfig, GenerateError, generate


@app.command("generate")
def generate_command(
    members: Annotated[int, typer.Option("--members", "-n", help="Number of members (subscriptions).")] = 20_000,
    months: Annotated[int, typer.Option("--months", "-m", help="Months of activity, ending at --end-month.")] = 12,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same arguments give the same data.")] = 1,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory (one Parquet dataset per table).")] = Path(
        "var/operator"
    ),
    end_month: Annotated[str, typer.Option("--end-month", help="Last month covered, YYYY-MM.")] = DEFAULT_END_MONTH,
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", help="Members per chunk (bounds memory; does not change the data).")
    ] = DEFAULT_CHUNK_SIZE,
    workers: Annotated[int, typer.Option("--workers", help="Processes generating chunks in parallel.")] = 1,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the tables of a previous run in --out.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the manifest as JSON.")] = False,
) -> None:
    """Generate a realistic synthetic operator: members, bills, usage, recharges, complaints,
    surveys, port-out inquiries and the churn ground truth (see docs/operator-data.md)."""
    config = GenerateConfig(
        members=members,
        months=months,
        seed=seed,
        out=str(out),
        end_month=end_month,
        chunk_size=chunk_size,
        workers=workers,
        overwrite=overwrite,
    )
    try:
        config.validate()
        if sys.stderr.isatty():
            with Progress(
                TextColumn("[bold]generating[/]"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("members"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=err_console,
                transient=True,
            ) as progress:
                task = progress.add_task("generate", total=members)
                manifest = generate(config, on_chunk=lambda n: progress.advance(task, n))
        else:
            manifest = generate(config)
    except GenerateError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        emit_json(manifest)
        return
    console.print(
        f"wrote {members:,} members × {len(manifest['months'])} months "
        f"({manifest['first_month']} … {manifest['end_month']}) to {out}",
        highlight=False,
    )
    for name, info in manifest["tables"].items():
        console.print(f"  {name:<18} {info['rows']:>14,} rows", highlight=False)
