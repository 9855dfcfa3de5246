"""``--reveal`` on the command line (``weixi member show``, ``weixi targets export``): personal numbers in clear are
written to the ledger database's audit log as a ``pii.view`` row, like the API's, under the operating-system user
who ran the command (``cli:USER``, role ``cli``). Without an initialised database there is no ``--reveal``."""

from __future__ import annotations

import getpass

from sqlalchemy import Engine

from weixi.adapters import schema
from weixi.adapters.db import database_url, make_engine
from weixi.cli.output import fail
from weixi.errors import Unavailable
from weixi.users.service import User


def auditor(db: str | None, as_json: bool) -> tuple[Engine, User]:
    """The database that records the reveal and who asked; exits 1 when the database is not ready."""
    engine = make_engine(db)
    try:
        ready = schema.current(engine) == schema.head()
    except Exception:  # unreachable database, bad URL
        ready = False
    if not ready:
        fail(Unavailable("reveal_needs_database", database=database_url(db)), as_json)
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid (containers)
        name = "unknown"
    return engine, User(id=0, username=f"cli:{name}", role="cli")
