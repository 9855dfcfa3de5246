"""The options and the database check every command shares (``--db``, ``--json``, :func:`open_engine`): a module
of their own, light to import, so that a command run alone (``weixi close``, see :mod:`weixi.cli`) does not import
the ledger commands' modules to find them."""

from __future__ import annotations

import typer

from weixi.adapters import schema
from weixi.adapters.db import database_url, make_engine
from weixi.cli.output import fail
from weixi.errors import Unavailable

JSON = typer.Option(False, "--json", help="Print machine-readable JSON.")
DB = typer.Option(None, "--db", help="Database file or URL (default: $WEIXI_DB or ./weixi.db).")


def open_engine(db: str | None, as_json: bool = False):
    """The database's engine, or exit 1 with a coded error when it is unreachable or its schema is not the newest."""
    engine = make_engine(db)
    try:
        if schema.current(engine) != schema.head():
            fail(Unavailable("database_not_initialised", url=database_url(db)), as_json)
    except typer.Exit:
        raise
    except Exception as exc:  # unreachable database, bad URL
        error = f"{exc.__class__.__name__}: {(str(exc).splitlines() or [''])[0]}"
        fail(Unavailable("database_unavailable", url=database_url(db), error=error), as_json)
    return engine


__all__ = ["DB", "JSON", "open_engine"]
