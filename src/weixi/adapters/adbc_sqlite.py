"""Writing to the embedded SQLite ledger through ADBC, for the loading processes (close accrual, tasks,
evaluated tiers).

Only ever used in a process of its own: ADBC links a second copy of SQLite, and two copies in one process
release each other's file locks (see :mod:`weixi.adapters.tasks_load`). The connection gets the
app's durability settings (WAL, ``synchronous=FULL``, the same busy timeout); each unit of work is one
``BEGIN IMMEDIATE`` transaction that commits when the block ends and rolls back when it raises.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

BUSY_TIMEOUT_MS = 60_000


@contextmanager
def writer(db_path: str, cache_kib: int | None = None, threads: int | None = None) -> Iterator:
    """A cursor on ``db_path`` in autocommit mode (transactions are :func:`transaction`'s), closed afterwards.
    ``cache_kib``: a page cache for bulk inserts and index builds."""
    import adbc_driver_sqlite.dbapi as adbc

    db = adbc.connect(db_path, autocommit=True)
    try:
        cur = db.cursor()
        try:
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
                if cur.description:
                    cur.fetchall()
            yield cur
        finally:
            cur.close()
    finally:
        db.close()


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
