"""Command-line entry point: ``weixi``. Thin adapters over the service layer.

Importing the package registers every command on ``app`` (each module registers its commands when imported).
``weixi close ...`` and ``python -m weixi close ...`` (:mod:`weixi.entry`) name the command before the import, and
a command listed in :data:`ALONE` then imports only its own modules: the monthly close starts without the other
commands' imports (about a second of a loaded machine's start-up).
"""

from __future__ import annotations

import importlib

import weixi

MODULES = (
    "campaigns",
    "churn",
    "close",
    "clv",
    "demo",
    "generate",
    "incentives",
    "ledger",
    "load",
    "member",
    "operations",
    "plan",
    "serve",
    "targets",
)
ALONE = {"close": ("close",)}  # command -> the modules that register it and everything it runs
# command -> the modules it imports when it runs (lazily, so that the whole CLI starts without them): imported by
# :func:`preload` when the command line names the command, while weixi.entry has the collector paused
RUNS = {"close": ("weixi.close.run", "weixi.close.months", "weixi.plans.service", "weixi.close.summaries")}


def _modules() -> tuple[str, ...]:
    args = getattr(weixi, "cli_args", None)  # set by weixi.entry (the `weixi` command, `python -m weixi`) only
    if args and args[0] in ALONE:
        return ALONE[args[0]]
    return MODULES


for _name in _modules():
    importlib.import_module(f"weixi.cli.{_name}")

from weixi.cli.app import app  # noqa: E402
from weixi.cli.output import coded_errors  # noqa: E402

coded_errors(app)


def main() -> None:
    app()


def preload(args: list[str]) -> None:
    """Import the modules the command ``args`` names runs (:data:`RUNS`), now."""
    for name in RUNS.get(args[0], ()) if args else ():
        importlib.import_module(name)


__all__ = ["ALONE", "MODULES", "RUNS", "app", "main", "preload"]
