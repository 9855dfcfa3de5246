"""``python -m weixi.close.adbc_update DB IN``: append the Arrow IPC file IN to a temporary table ``incoming`` of
the SQLite file DB through ADBC and run one statement (JSON ``{"sql"}`` on standard input) that reads it, in one
``BEGIN IMMEDIATE`` transaction; prints the number of rows the statement changed.

A process of its own for the reason :mod:`weixi.close.adbc_read` gives. Used where the close writes a value for
millions of members (their evaluated tier), which row by row from Python took minutes at 10 million members.
"""

from __future__ import annotations

import json
import sys

BUSY_TIMEOUT_MS = 60_000


def main(db: str, source: str) -> None:
    import adbc_driver_sqlite.dbapi as adbc
    import pyarrow as pa

    query = json.loads(sys.stdin.read())
    with pa.memory_map(source) as stream:
        table = pa.ipc.open_file(stream).read_all()
    with adbc.connect(db, autocommit=True) as con:
        cur = con.cursor()
        try:
            for pragma in ("journal_mode=WAL", "synchronous=FULL", f"busy_timeout={BUSY_TIMEOUT_MS}"):
                cur.execute(f"PRAGMA {pragma}")
                cur.fetchall()
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.adbc_ingest("incoming", table, mode="replace", temporary=True)
                cur.execute(query["sql"])
                cur.execute("SELECT changes()")
                changed = cur.fetchone()[0]
                cur.execute("DROP TABLE temp.incoming")
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        finally:
            cur.close()
    print(changed, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
