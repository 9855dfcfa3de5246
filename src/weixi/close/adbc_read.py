"""``python -m weixi.close.adbc_read DB OUT``: run one read-only query (JSON ``{"sql", "params"}`` on standard
input) on the SQLite file DB through ADBC and write the rows to OUT as an Arrow IPC file.

A process of its own so that ADBC's copy of SQLite never shares a process with the app's (see
:func:`weixi.close.ledger_bridge._arrow_adbc`).
"""

from __future__ import annotations

import json
import sys


def main(db: str, out: str) -> None:
    import adbc_driver_sqlite.dbapi as adbc
    import pyarrow as pa

    query = json.loads(sys.stdin.read())
    with adbc.connect(f"file:{db}?mode=ro") as con:
        cur = con.cursor()
        try:
            cur.execute(query["sql"], query["params"])
            table = cur.fetch_arrow_table()
        finally:
            cur.close()
    with pa.OSFile(out, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
