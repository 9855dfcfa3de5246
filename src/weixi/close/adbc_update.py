"""``python -m weixi.close.adbc_update DB IN``: append the Arrow IPC file IN to a temporary table ``incoming`` of
the SQLite file DB through ADBC and run statements that read it, in one ``BEGIN IMMEDIATE`` transaction; prints
the number of rows the first statement changed.

Standard input is a line of JSON: ``{"sql": "..."}`` (one statement), or ``{"statements": [[sql, params], ...]}``
with an optional ``"skip_if": [sql, params]``, a query checked first inside the transaction: when it finds a row
nothing is written and the process prints ``-1`` (the work was done before, by a run that crashed after committing
it). With ``"hold": true`` the transaction then waits for a second line, ``{"statements": [...]}`` run before
``COMMIT``; an empty line or the end of the input (the parent gave up or died) rolls it all back.

A process of its own for the reason :mod:`weixi.close.adbc_read` gives. Used where the close writes a value for
millions of members (their evaluated tier, the lake month's new members and first spend days), which row by row from Python took minutes
at 10 million members.
"""

from __future__ import annotations

import json
import sys

from weixi.adapters import adbc_sqlite


def main(db: str, source: str) -> None:
    print(update(db, source, json.loads(sys.stdin.readline()), sys.stdin.readline), flush=True)


def update(db: str, source: str, query: dict, readline) -> int:
    """Run ``query``'s statements on ``db`` with the Arrow IPC file ``source`` as ``temp.incoming``, in one
    transaction; the rows the first one changed (-1: ``skip_if`` found a row). With ``"hold"``, ``readline()`` gives
    the line that commits (``{"statements": [...]}``) or rolls back (empty: an abort, or the end of the input)."""
    import pyarrow as pa
    import pyarrow.ipc  # noqa: F401

    statements = query.get("statements") or [[query["sql"], []]]
    skip_if = query.get("skip_if")
    with pa.memory_map(source) as stream:
        table = pa.ipc.open_file(stream).read_all()
    changed = -1
    with adbc_sqlite.writer(db) as cur, adbc_sqlite.transaction(cur):
        if skip_if is None or cur.execute(*skip_if).fetchone() is None:
            cur.adbc_ingest("incoming", table, mode="replace", temporary=True)
            for i, (sql, params) in enumerate(statements):
                cur.execute(sql, params)
                if i == 0:
                    changed = int(cur.execute("SELECT changes()").fetchone()[0])
            cur.execute("DROP TABLE temp.incoming")
            if query.get("hold"):  # wait, written but not committed, for the last statements or nothing
                line = readline()
                if not line.strip():  # the parent aborted, or died: nothing is committed
                    raise adbc_sqlite.Rollback()
                for sql, params in json.loads(line)["statements"]:
                    cur.execute(sql, params)
    return changed


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
