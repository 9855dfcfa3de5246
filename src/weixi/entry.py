"""The ``weixi`` command and ``python -m weixi``: the command's name is known before the CLI is imported, so a
command listed in :data:`weixi.cli.ALONE` (the monthly close) imports only its own modules."""

from __future__ import annotations

import sys

import weixi


def main() -> None:
    weixi.cli_args = sys.argv[1:]
    from weixi.cli import main as cli_main

    cli_main()
