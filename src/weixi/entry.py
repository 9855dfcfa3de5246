"""The ``weixi`` command and ``python -m weixi``: the command's name is known before the CLI is imported, so a
command listed in :data:`weixi.cli.ALONE` (the monthly close) imports only its own modules, and the close starts
staging its month's rows meanwhile (:mod:`weixi.close.early`)."""

from __future__ import annotations

import gc
import sys

import weixi
from weixi import startup
from weixi.startup import UNUSED_BY_THE_CLOSE, imports_settled, refuse_import


def main() -> None:
    weixi.cli_args = sys.argv[1:]
    early = None
    if weixi.cli_args[:1] == ["close"]:  # its month's rows staged while the modules below are imported
        from weixi.close import early

        if early.options(weixi.cli_args).get("engine", "duckdb") == "duckdb":
            # the close on DuckDB never uses pandas or NumPy; PyArrow (its dataset module, which Ibis's DuckDB
            # backend imports, makes a scalar; its core, NumPy) and DuckDB's client import them when they can, to
            # test for data frames and arrays: 0.4 CPU-seconds of the command's start-up, on the interpreter's lock
            # beside the close's own imports
            for module in UNUSED_BY_THE_CLOSE:
                refuse_import(module)
            # the close does not wait for its DuckDB's memory to be given back (0.1 s at 1,000,000 members), and
            # the process ends without the interpreter's teardown (0.05 s); on PySpark, as any command ends
            startup.process_ends_after_command = True
        if not early.start(weixi.cli_args):
            early = None
    with imports_settled():  # the CLI's modules, and a command's own (the close's), with the collector paused
        if startup.process_ends_after_command:  # the close on DuckDB: Ibis's DuckDB compiler only, not all twenty
            startup.load_on_use("ibis.backends.sql.compilers")
        from weixi.cli import main as cli_main
        from weixi.cli import preload

        preload(weixi.cli_args)

    code = 0
    try:
        cli_main()
    except SystemExit as done:  # the command's end (Typer ends every command so)
        code = 0 if done.code is None else done.code
        if not isinstance(code, int):  # a message, for the error output (as the interpreter's own exit does)
            print(code, file=sys.stderr)
            code = 1
    finally:
        if early is not None:  # the staging the close did not take (refused, or closed already)
            early.discard()
        # the command is done and the process ends: its objects are left to the exit rather than traversed by the
        # interpreter's last garbage collections (0.3 s after a close of 1,000,000 members, most of its exit). The
        # databases' connections are closed first, as those collections would have closed them (a SQLite file's
        # WAL written back into it); exit handlers run as before.
        db = sys.modules.get("weixi.adapters.db")
        if db is not None:
            db.dispose_all()
        gc.freeze()
    if startup.process_ends_after_command:
        startup.end_now(code)
    sys.exit(code)
