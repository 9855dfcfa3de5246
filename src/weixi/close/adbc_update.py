"""``python -m weixi.close.adbc_update DB IN``: append the Arrow IPC file IN to a temporary table ``incoming`` of
the SQLite file DB through ADBC and run one statement (JSON ``{"sql"}`` on standard input) that reads it, in one
``BEGIN IMMEDIATE`` transaction; prints the number of rows the statement changed.

A process of its own for the reason :mod:`weixi.close.adbc_read` gives. Used where the close writes a value for
millions of members (their evaluated tier), which row by row from Python took minutes at 10 million members.
"""

from __future__ import annotations

import json
import sys

from weixi.adapters import adbc_sqlite


def main(db: str, source: str) -> None:
    import pyarrow as pa

    query = json.loads(sys.stdin.read())
    with pa.memory_map(source) as stream:
        table = pa.ipc.open_file(stream).read_all()
    with adbc_sqlite.writer(db) as cur, adbc_sqlite.transaction(cur):
        changed = adbc_sqlite.update_from(cur, table, query["sql"])
    print(changed, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
