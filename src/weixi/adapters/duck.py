"""DuckDB connections for Weixi: quiet, and for province-sized batch work bounded in memory.

DuckDB prints a progress bar on standard output for any query that runs longer than two seconds, even when
standard output is a file or a pipe: at operator scale that text lands inside a command's ``--json`` answer.
Every connection Weixi opens comes from :func:`connect`, which turns it off.

An Arrow table a query unions with a lake (Parquet) or DuckDB scan goes in through :func:`register`: DuckDB 1.5
pushes a hash join's bloom filter into every branch of a UNION on the join's probe side, and its PyArrow scan
refuses it (``NotImplementedException: Pushdown Filter Type BLOOM_FILTER is not currently supported in PyArrow
Scans``, duckdb/duckdb-python#463, open on 1.5.6, the version Ibis 12 pins us to).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from weixi import settings

MEMORY_ENV = settings.DUCKDB_MEMORY.name
QUIET = "SET enable_progress_bar = false"  # a setting of the connection (DuckDB refuses it in ``config``)
# the COPY options of the Parquet files the close and the lake write (member-sorted, in small row groups):
# Parquet's version 2 encodings (delta-encoded integers and strings) and Snappy. Measured at 1,000,000 members
# against version 1: the month's accrual file written in 0.745 s instead of 0.806 s and 25% smaller, a row group
# decoded by PyArrow (a fold, member 360) in 0.61-0.71 ms instead of 0.66-0.79; the snapshot written in 0.61 s
# instead of 0.82 s with zstd, its row groups decoded in 0.97 ms instead of 1.32 (the file 28% larger)
PARQUET = "FORMAT parquet, PARQUET_VERSION V2"


def connect(database: str = ":memory:", read_only: bool = False, config: dict | None = None):
    """``duckdb.connect`` without the progress bar."""
    con = duckdb.connect(database, read_only=read_only, config=config or {})
    con.execute(QUIET)
    return con


_PROBES = None  # the in-memory database of :func:`rows` (made on first use)
_PROBES_LOCK = threading.Lock()


def lit(value) -> str:
    """``value`` as a SQL string literal (quotes doubled), for text written into a statement where a parameter
    cannot go (inside a lambda, a view's definition)."""
    return "'" + str(value).replace("'", "''") + "'"


def scan_files(files) -> str:
    """DuckDB's read of a Parquet file, or of a list of them (a month written in several files)."""
    if isinstance(files, (list, tuple)):
        return "read_parquet([" + ", ".join(lit(f) for f in files) + "])"
    return f"read_parquet({lit(files)})"


def lit_in(values) -> str:
    """``values`` as a SQL list for ``IN`` (each :func:`lit`); ``(NULL)``, which matches nothing, when empty."""
    return "(" + ", ".join(lit(v) for v in values) + ")" if values else "(NULL)"


def rows(sql: str) -> list[tuple]:
    """``sql``'s rows, from a cursor of its own (a connection of its own to one shared in-memory database: cheap,
    and safe from any thread). Not ``duckdb.sql``: that runs on the module's one default connection, which every
    thread shares; two requests reading inputs at once broke each other's query ("Attempting to execute an
    unsuccessful or closed pending query result", a 422 page in a console test)."""
    with reader() as cur:
        return cur.execute(sql).fetchall()


@contextmanager
def cursor_of(con) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of ``con``: a connection of its own to the same database, which another thread may run a statement
    on while ``con`` runs one (it sees the database's main schema, not ``con``'s temporary objects); quiet, and
    closed when the block ends."""
    cur = con.cursor()
    try:
        cur.execute(QUIET)
        yield cur
    finally:
        cur.close()


@contextmanager
def reader() -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on this process's one shared in-memory database, for a read of files that creates no table or view
    but temporary ones and changes no setting: its temporary objects and registered Arrow tables are its own, the
    catalog and the settings are every cursor's. A new in-memory database costs 11-14 ms (its catalog of
    functions is built anew), a cursor 0.01 ms: a console page made two or three of them per request."""
    global _PROBES
    with _PROBES_LOCK:
        if _PROBES is None:
            _PROBES = connect()
        cur = _PROBES.cursor()
    try:
        cur.execute(QUIET)  # the cursor's own client settings start at DuckDB's defaults
        yield cur
    finally:
        cur.close()


def bound_memory(duck, data_dir: Path) -> None:
    """Keep a DuckDB connection under ``WEIXI_DUCKDB_MEMORY`` (default 40% of the machine's memory), spilling to
    ``DATA/close/.spill`` beyond it (and quiet, whoever opened it)."""
    spill = Path(data_dir) / "close" / ".spill"
    spill.mkdir(parents=True, exist_ok=True)
    duck.execute(f"SET memory_limit = '{settings.duckdb_memory()}'")
    duck.execute(f"SET temp_directory = '{spill}'")
    duck.execute(QUIET)


def register(con, name: str, table) -> None:
    """Give ``con`` the Arrow ``table`` as a temporary table ``name`` that DuckDB owns (a copy), where
    ``con.register`` would give a view over the Arrow memory: a DuckDB table takes every filter a join pushes down,
    the PyArrow scan not a bloom filter (see the module's note). The copy costs about 0.12 s per million rows of
    four columns: for the inputs a query joins beside lake rows, not for a table only scanned or grouped."""
    staging = f"_arrow_{name}"
    con.register(staging, table)
    try:
        con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM "{staging}"')
    finally:
        con.unregister(staging)
