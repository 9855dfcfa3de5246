"""Database engines: an embedded SQLite file by default (``./weixi.db`` or ``WEIXI_DB``), PostgreSQL by URL.

SQLite runs in WAL mode with ``synchronous=FULL`` and a busy timeout; every write transaction starts
with ``BEGIN IMMEDIATE`` so that the one writer is decided before anything is read.
"""

from __future__ import annotations

import sqlite3
import weakref
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import StaticPool

from weixi import settings

DEFAULT_DB = "weixi.db"
BUSY_TIMEOUT_MS = 60_000

sqlite3.register_adapter(date, date.isoformat)
sqlite3.register_adapter(datetime, datetime.isoformat)


def database_url(db: str | None = None) -> str:
    value = db or settings.DB.raw() or DEFAULT_DB
    if value == ":memory:":
        return "sqlite://"
    if "://" in value:
        return (
            value.replace("postgresql://", "postgresql+psycopg://", 1) if value.startswith("postgresql://") else value
        )
    return "sqlite:///" + str(Path(value).expanduser())


_ENGINES: "weakref.WeakSet[Engine]" = weakref.WeakSet()  # every engine made, for dispose_all


def make_engine(db: str | None = None) -> Engine:
    url = database_url(db)
    engine = (
        _sqlite_engine(url)
        if url.startswith("sqlite")
        else create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=4)
    )
    _ENGINES.add(engine)
    return engine


def dispose_all() -> None:
    """Close the pooled connections of every engine still alive (a command's end, :mod:`weixi.entry`): a SQLite
    file's last connection to close writes its WAL back into the file, so the file alone holds every commit."""
    for engine in list(_ENGINES):
        engine.dispose()


def sqlite_file(engine: Engine) -> Path | None:
    """The SQLite file behind ``engine``, resolved (None for PostgreSQL or an in-memory database): what the
    loading and reading processes that work through ADBC open."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).resolve()


def _sqlite_engine(url: str) -> Engine:
    memory = url in ("sqlite://", "sqlite:///:memory:")
    kwargs = {"poolclass": StaticPool} if memory else {}
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}, **kwargs)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        if conn.get_execution_options().get("readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
