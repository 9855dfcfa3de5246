"""``python -m weixi.close.adbc_read DB OUT``: run read-only queries (JSON ``{"queries": [{"sql", "params"}, ...]}``
on standard input; ``{"sql", "params"}`` is one) on the SQLite file DB through ADBC, in one read transaction, and
write the rows of the i-th query to ``OUT.i`` as an Arrow IPC file.

A process of its own so that ADBC's copy of SQLite never shares a process with the app's (see
:func:`weixi.close.ledger_read.ledger_arrows_later`). Several queries in one process: each process costs its start-up.
"""

from __future__ import annotations

import json
import sys

from weixi.adapters import adbc_sqlite


def main(db: str, out: str) -> None:
    query = json.loads(sys.stdin.read())
    read(db, out, query.get("queries") or [query])


def read(db: str, out: str, queries: list[dict]) -> None:
    """Run ``queries`` (``{"sql", "params"}``) on ``db`` in one read transaction; the i-th one's rows to ``OUT.i``."""
    import pyarrow as pa
    import pyarrow.ipc  # noqa: F401

    with adbc_sqlite.connect(db, read_only=True) as cur:
        if len(queries) > 1:  # one snapshot of the database for all of them
            cur.execute("BEGIN")
        for i, q in enumerate(queries):
            table = cur.execute(q["sql"], q["params"]).fetch_arrow_table()
            with pa.OSFile(f"{out}.{i}", "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
        if len(queries) > 1:
            cur.execute("COMMIT")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
