"""How the CLI prints: JSON for scripts, Rich tables for people, errors on stderr with exit status 1."""

from __future__ import annotations

import functools
import json
import sys
from datetime import date
from decimal import Decimal
from typing import Any, NoReturn

import typer
from rich.console import Console

from weixi.errors import Problem, WeixiError
from weixi.messages import envelope, render

console = Console(width=None if sys.stdout.isatty() else 160, soft_wrap=not sys.stdout.isatty())
err_console = Console(stderr=True, soft_wrap=True)


def _default(value: Any):
    if isinstance(value, (date, Decimal)):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_default) + "\n")


def fail(error: WeixiError | Problem, as_json: bool = False, code: int = 1, details: list | None = None) -> NoReturn:
    """Exit with status ``code`` on a coded error (a :class:`WeixiError` or :class:`Problem`): with ``--json`` the
    API's envelope (``{"error": {"code", "message", "params", "where", "details"}}``), otherwise its sentence from
    the catalogue (English). ``details``: located problems (plan diagnostics, bad rows) for the envelope; by default
    the error's own ``details``, if it has any."""
    if details is None:
        details = getattr(error, "details", None)
    if as_json:
        emit_json(envelope(error, "en", details))
    else:
        err_console.print(f"[bold red]error:[/] {render(error, 'en')}", highlight=False)
    raise typer.Exit(code)


def coded_errors(app: typer.Typer) -> None:
    """Every command of ``app`` and its sub-apps exits through :func:`fail` on a :class:`WeixiError` it does not
    handle itself: one answer for every command, the envelope under ``--json``."""
    for info in app.registered_commands:
        if info.callback is not None and not getattr(info.callback, "_coded", False):
            info.callback = _coded(info.callback)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            coded_errors(group.typer_instance)


def _coded(fn):
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any):
        try:
            return fn(*args, **kwargs)
        except WeixiError as exc:
            fail(exc, bool(kwargs.get("as_json")))

    run._coded = True  # type: ignore[attr-defined]
    return run


def parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date: use YYYY-MM-DD", param_hint=option) from None
