"""``weixi load TABLE FILE``: load a CRM/billing export (CSV or Parquet) into the member archive."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from weixi.adapters.archive import data_dir
from weixi.cli.app import app
from weixi.cli.output import console, emit_json, fail
from weixi.members.intake import LOADABLE, IntakeError, load_file


@app.command("load")
def load_command(
    table: Annotated[str, typer.Argument(help=f"Table to load: {', '.join(LOADABLE)}.")],
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) or Parquet file.")],
    map_: Annotated[
        Optional[list[str]],
        typer.Option(
            "--map",
            help="SOURCE=FIELD: read column SOURCE as FIELD (repeatable; overrides the built-in "
            "header aliases). Money fields: FIELD in yuan (amount) or fen (amount_fen).",
        ),
    ] = None,  # fmt: skip
    data: Annotated[
        Optional[Path], typer.Option("--data", help="Archive directory (default: $WEIXI_DATA, else ./weixi-data).")
    ] = None,
    encoding: Annotated[str, typer.Option("--encoding", help="auto, utf-8 or gbk (GB18030).")] = "auto",
    force: Annotated[bool, typer.Option("--force", help="Load again a file that was already loaded.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the load summary as JSON.")] = False,
) -> None:
    """Validate FILE and load its good rows into TABLE; bad rows go to a quarantine CSV with row number,
    field and reason.  Reloading the same file changes nothing.  Exit status 0 when the file was processed
    (even if rows were quarantined), 1 when it cannot be read or mapped at all.  Phone and ID numbers in
    the output are masked."""
    if table not in LOADABLE:
        fail(IntakeError("archive_unknown_table", table=table, tables=list(LOADABLE)), as_json=as_json)
    target = data_dir(data)
    # a file that cannot be loaded at all is an IntakeError: the CLI prints it (the envelope under --json), exit 1
    summary = load_file(file, table, data=target, mapping=map_ or [], encoding=encoding, force=force)
    summary["data"] = str(target)
    if as_json:
        emit_json(summary)
        return
    if summary["status"] == "already_loaded":
        console.print(f"{file}: {summary['message']}", highlight=False)
        return
    console.print(
        f"{summary['table']}: {summary['rows']:,} rows — loaded {summary['loaded']:,}, replaced {summary['replaced']:,}, "
        f"unchanged {summary['unchanged']:,}, quarantined {summary['quarantined']:,}  (load {summary['seq']}, {target})",
        highlight=False,
    )
    if summary["ignored_columns"]:
        console.print(f"  ignored columns: {', '.join(summary['ignored_columns'])}", highlight=False)
    if summary["quarantined"]:
        what = "line" if summary["row_numbers"] == "line" else "row"
        console.print(f"  quarantine: {target / summary['quarantine_file']}", highlight=False)
        for code, n in summary["issues"].items():
            console.print(f"    {code:<20} {n:>10,}", highlight=False)
        for e in summary["examples"][:10]:
            value = "" if e["value"] is None else f" {e['value']!r}"
            console.print(f"    {what} {e['row']}: {e['field']}{value}: {e['reason']}", highlight=False)
