"""Reading the ledger database (SQLite or PostgreSQL) into Arrow tables for the close (:mod:`weixi.close.ledger_bridge`):
a SQLite file through ADBC in a child process, PostgreSQL through the engine, several queries in one transaction."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Callable

import pyarrow as pa
from sqlalchemy import Engine

from weixi.adapters.db import sqlite_file
from weixi.close import ledger_proc
from weixi.close.ledger_proc import LedgerUnavailable

FETCH = 200_000


def ledger_arrow(engine: Engine, sql: str, params: list, schema: pa.Schema) -> pa.Table:
    """The query's rows as an Arrow table of ``schema``. A SQLite file is read through ADBC, which builds the
    Arrow columns in C (about 4x faster than Python rows at 10 million members); PostgreSQL and in-memory
    databases through the engine."""
    return ledger_arrows(engine, [(sql, params, schema)])[0]


def ledger_arrows(engine: Engine, queries: list[tuple[str, list, pa.Schema]]) -> list[pa.Table]:
    """The rows of each ``(sql, params, schema)`` as in :func:`ledger_arrow`, read in one transaction (on SQLite
    by one child process: each costs its start-up)."""
    if sqlite_file(engine) is not None:
        return ledger_arrows_later(engine, queries)()
    out = []
    # one snapshot for every query (PostgreSQL's default, read committed, lets each statement see later commits)
    snapshot = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(readonly=True, stream_results=True, **snapshot) as conn, conn.begin():
        for sql, params, schema in queries:
            batches = []
            result = conn.exec_driver_sql(
                sql.replace("?", "%s") if conn.dialect.name == "postgresql" else sql, tuple(params)
            )
            while rows := result.fetchmany(FETCH):
                cols = list(zip(*rows))
                batches.append(pa.record_batch([pa.array(c, type=f.type) for c, f in zip(cols, schema)], schema=schema))
            out.append(pa.Table.from_batches(batches, schema=schema))
    return out


def ledger_arrows_later(engine: Engine, queries: list[tuple[str, list, pa.Schema]]) -> Callable[[], list[pa.Table]]:
    """:func:`ledger_arrows` started now, the tables returned by calling the function returned (exactly once).
    A SQLite file is read through ADBC in a child process (:func:`weixi.close.ledger_proc.read_later`: the close's
    own, or one for these queries), which reads while the caller works on and hands the rows back as Arrow IPC
    files. Never in this process: ADBC links its own copy of SQLite, and two copies in one process release each
    other's POSIX file locks when one closes the file (SQLite's "multiple copies of SQLite linked into one program"
    hazard), which can corrupt a database the app has open. PostgreSQL and in-memory databases are read when the
    function is called."""
    path = sqlite_file(engine)
    if path is None:
        return lambda: ledger_arrows(engine, queries)
    tmp = tempfile.TemporaryDirectory(prefix="weixi-adbc-")
    out = Path(tmp.name) / "rows.arrow"
    try:
        wait = ledger_proc.read_later(path, out, _request(queries))
    except BaseException:
        tmp.cleanup()
        raise

    def tables() -> list[pa.Table]:
        try:
            wait()
            return _tables(out, queries)
        finally:
            tmp.cleanup()

    return tables


def _request(queries: list[tuple[str, list, pa.Schema]]) -> list[dict]:
    return [
        {"sql": sql, "params": [p.isoformat() if isinstance(p, date) else p for p in params]}  # ISO text on SQLite
        for sql, params, _ in queries
    ]


def _tables(out: Path, queries: list[tuple[str, list, pa.Schema]]) -> list[pa.Table]:
    tables = []
    for i, (_, _, schema) in enumerate(queries):
        with pa.memory_map(f"{out}.{i}") as source:
            table = pa.ipc.open_file(source).read_all()
        tables.append(table.rename_columns(schema.names).cast(schema))
    return tables


__all__ = ["FETCH", "LedgerUnavailable", "ledger_arrow", "ledger_arrows", "ledger_arrows_later"]
