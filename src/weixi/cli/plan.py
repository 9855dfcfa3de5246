"""``weixi plan check FILE... [--json]``: report every problem in plan files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from weixi.cli.app import plan_app
from weixi.plans.diagnostics import Diagnostic
from weixi.plans.loader import check_files


@plan_app.command("check")
def check(
    files: Annotated[list[Path], typer.Argument(help="Plan files to check.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print only a JSON list of diagnostics.")] = False,
) -> None:
    """Check plan files; print FILE:LINE:COL: severity: message for each problem. Exit 1 on any error."""
    diagnostics = check_files(files)
    if as_json:
        typer.echo(json.dumps([d.to_json() for d in diagnostics], ensure_ascii=False, indent=2))
    else:
        for diagnostic in diagnostics:
            typer.echo(diagnostic.format())
        typer.echo(summary(diagnostics, len(files)))
    if any(d.is_error for d in diagnostics):
        raise typer.Exit(code=1)


def summary(diagnostics: list[Diagnostic], checked: int) -> str:
    """``"2 errors, 1 warning in 1 file"``, or ``"ok: 3 files checked"`` when there is nothing to report."""
    if not diagnostics:
        return f"ok: {_count(checked, 'file')} checked"
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    files = len({d.file for d in diagnostics})
    return f"{_count(errors, 'error')}, {_count(warnings, 'warning')} in {_count(files, 'file')}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
