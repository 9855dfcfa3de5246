"""How the CLI prints: JSON for scripts, Rich tables for people, errors on stderr with exit status 1."""

from __future__ import annotations

import json
import sys
from datetime import date
from decimal import Decimal
from typing import Any, NoReturn

import typer
from rich.console import Console

from weixi.errors import WeixiError
from weixi.messages import envelope, render

console = Console(width=None if sys.stdout.isatty() else 160, soft_wrap=not sys.stdout.isatty())
err_console = Console(stderr=True, soft_wrap=True)


def _default(value: Any):
    if isinstance(value, (date, Decimal)):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_default) + "\n")


def fail(message: str, as_json: bool = False, code: int = 1, **extra: Any) -> NoReturn:
    if as_json:
        emit_json({"error": message, **extra})
    else:
        err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def fail_error(error: WeixiError, as_json: bool = False, code: int = 1) -> NoReturn:
    """Exit on a coded error: ``--json`` prints the API's envelope (``{"error": {"code", "message", "params",
    "where", "details"}}``), people read the sentence (English)."""
    if as_json:
        emit_json(envelope(error, "en"))
    else:
        err_console.print(f"[bold red]error:[/] {render(error, 'en')}", highlight=False)
    raise typer.Exit(code)


def parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date: use YYYY-MM-DD", param_hint=option) from None
