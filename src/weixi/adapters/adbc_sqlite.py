"""Reading and writing the embedded SQLite ledger through ADBC, for the loading processes (close accrual, the
lake month's members, tasks, evaluated tiers) and the close's reads (:mod:`weixi.close.adbc_read`).

Only ever used in a process of its own: ADBC links a second copy of SQLite, and two copies in one process
release each other's file locks (see :mod:`weixi.adapters.tasks_load`). The connection gets the
app's durability settings (WAL, ``synchronous=FULL``, the same busy timeout); each unit of work is one
``BEGIN IMMEDIATE`` transaction that commits when the block ends and rolls back when it raises.

The driver is used through ``adbc_driver_manager``'s low-level API (:class:`Cursor`), not its DB-API module:
that one imports pandas and ``pyarrow.dataset``, a third of a short-lived process's start-up.
"""

from __future__ import annotations

from array import array
from contextlib import contextmanager
from typing import Iterator

BUSY_TIMEOUT_MS = 60_000

_MODES = {"append": "adbc.ingest.mode.append", "create": "adbc.ingest.mode.create"}
_MODES["replace"] = "adbc.ingest.mode.replace"


class Cursor:
    """The few DB-API cursor calls the loaders make (``execute``, ``fetchone``, ``fetchall``,
    ``fetch_arrow_table``, ``adbc_ingest``), on one ADBC connection. A query's rows are read whole when it runs
    (every statement is stepped to its end before the next one starts)."""

    def __init__(self, conn) -> None:
        self._conn = conn
        self._rows = None

    def execute(self, sql: str, params: list | tuple | None = None) -> "Cursor":
        import adbc_driver_manager as adbc
        import pyarrow as pa

        stmt = adbc.AdbcStatement(self._conn)
        try:
            stmt.set_sql_query(sql)
            if params:
                stmt.prepare()
                stmt.bind(_params(params))
            handle, _ = stmt.execute_query()
            self._rows = pa.RecordBatchReader._import_from_c(handle.address).read_all()
        finally:
            stmt.close()
        return self

    @property
    def description(self):
        return None if self._rows is None or not self._rows.num_columns else self._rows.schema

    def fetch_arrow_table(self):
        rows, self._rows = self._rows, None
        return rows

    def fetchall(self) -> list[tuple]:
        rows = self.fetch_arrow_table()
        return list(zip(*(c.to_pylist() for c in rows.columns))) if rows is not None else []

    def fetchone(self) -> tuple | None:
        rows = self.fetchall()
        return rows[0] if rows else None

    def adbc_ingest(self, name: str, data, mode: str = "create", temporary: bool = False) -> int:
        """Insert the Arrow ``data`` (a table, a record batch or a record batch reader) into table ``name``."""
        import adbc_driver_manager as adbc

        stmt = adbc.AdbcStatement(self._conn)
        try:
            stmt.set_options(**{"adbc.ingest.target_table": name, "adbc.ingest.mode": _MODES[mode]})
            if temporary:
                stmt.set_options(**{"adbc.ingest.temporary": "true"})
            if hasattr(data, "__arrow_c_stream__"):
                stmt.bind_stream(data)
            else:  # a record batch
                stmt.bind(data)
            return stmt.execute_update()
        finally:
            stmt.close()

    def close(self) -> None:
        self._rows = None


def _params(values) -> object:
    """One row of query parameters as an Arrow record batch, built without ``pa.array`` of Python objects
    (which imports pandas on its first call)."""
    import pyarrow as pa
    from pyarrow.lib import StringBuilder

    arrays = []
    for v in values:
        if v is None:
            arrays.append(pa.nulls(1))
        elif isinstance(v, bool):
            arrays.append(pa.Array.from_buffers(pa.int64(), 1, [None, pa.py_buffer(array("q", [int(v)]))]))
        elif isinstance(v, int):
            arrays.append(pa.Array.from_buffers(pa.int64(), 1, [None, pa.py_buffer(array("q", [v]))]))
        elif isinstance(v, float):
            arrays.append(pa.Array.from_buffers(pa.float64(), 1, [None, pa.py_buffer(array("d", [v]))]))
        else:
            builder = StringBuilder()
            builder.append(str(v))
            arrays.append(builder.finish())
    return pa.RecordBatch.from_arrays(arrays, names=[f"p{i}" for i in range(len(arrays))])


@contextmanager
def connect(db_path: str, read_only: bool = False) -> Iterator[Cursor]:
    """A :class:`Cursor` on ``db_path`` in autocommit mode, closed afterwards (``read_only``: opened read-only)."""
    import adbc_driver_manager as adbc
    import adbc_driver_sqlite

    db = adbc_driver_sqlite.connect(f"file:{db_path}?mode=ro" if read_only else db_path)
    try:
        conn = adbc.AdbcConnection(db)
        try:
            yield Cursor(conn)
        finally:
            conn.close()
    finally:
        db.close()


@contextmanager
def writer(db_path: str, cache_kib: int | None = None, threads: int | None = None) -> Iterator[Cursor]:
    """A cursor on ``db_path`` in autocommit mode (transactions are :func:`transaction`'s), closed afterwards.
    ``cache_kib``: a page cache for bulk inserts and index builds."""
    with connect(db_path) as cur:
        pragmas = [
            "journal_mode=WAL",
            "synchronous=FULL",
            f"busy_timeout={BUSY_TIMEOUT_MS}",
            "foreign_keys=ON",
            "temp_store=MEMORY",
        ]
        if cache_kib:
            pragmas.append(f"cache_size=-{cache_kib}")
        if threads:
            pragmas.append(f"threads={threads}")
        for pragma in pragmas:
            cur.execute(f"PRAGMA {pragma}")
        yield cur


class Rollback(Exception):
    """Raised inside :func:`transaction` to undo the unit of work without an error."""


@contextmanager
def transaction(cur) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``; ``ROLLBACK`` when the block raises (:class:`Rollback` is swallowed)."""
    cur.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException as exc:
        try:
            cur.execute("ROLLBACK")
        except Exception:
            pass
        if isinstance(exc, Rollback):
            return
        raise
    cur.execute("COMMIT")


def update_from(cur, rows, sql: str, name: str = "incoming") -> int:
    """Put the Arrow table ``rows`` in the temporary table ``name`` and run ``sql`` (an ``UPDATE ... FROM
    temp.<name>``) with it, in the caller's transaction; the number of rows it changed."""
    cur.adbc_ingest(name, rows, mode="replace", temporary=True)
    cur.execute(sql)
    cur.execute("SELECT changes()")
    changed = cur.fetchone()[0]
    cur.execute(f"DROP TABLE temp.{name}")
    return int(changed)
