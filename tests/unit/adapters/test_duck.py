"""DuckDB connections are opened one way, without the progress bar that DuckDB prints on standard output (even
into a pipe) for a query longer than two seconds — at operator scale it landed inside ``--json`` answers."""

from __future__ import annotations

import re
from pathlib import Path

from weixi.adapters import duck
from weixi.close import backends

SRC = Path(__file__).resolve().parents[3] / "src" / "weixi"


def _progress_bar(con) -> bool:
    return con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0]


def test_connections_are_quiet():
    assert _progress_bar(duck.connect()) is False
    assert _progress_bar(duck.connect(config={"threads": 1})) is False
    assert backends.connect("duckdb").raw_sql("SELECT current_setting('enable_progress_bar')").fetchone()[0] is False


def test_no_module_opens_duckdb_another_way():
    others = []
    for path in SRC.rglob("*.py"):
        if path.name == "duck.py" and path.parent.name == "adapters":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"(?<!ibis\.)\bduckdb\.connect\(", line):  # backends.connect (Ibis) is checked above
                others.append(f"{path.relative_to(SRC)}:{n}")
    assert others == [], f"use weixi.adapters.duck.connect(): {others}"


def test_a_reader_is_quiet_and_keeps_its_temporary_objects_and_arrow_tables_to_itself():
    """``duck.reader()``: a cursor on the process's one in-memory database (a console page's reads), not a
    database of its own. Two readers at once, in two threads as two requests are, each see only their own temporary
    table and registered Arrow table under the same name, and a reader closed leaves nothing behind."""
    import threading

    import pyarrow as pa

    seen, ready = {}, threading.Barrier(2)

    def request(n: int) -> None:
        with duck.reader() as con:
            assert _progress_bar(con) is False
            con.execute(f"CREATE TEMP TABLE page AS SELECT {n} AS n")
            con.register("ids", pa.table({"n": [n, n]}))
            ready.wait(timeout=30)  # both tables exist at once
            seen[n] = con.execute("SELECT (SELECT list(n) FROM page), (SELECT sum(n) FROM ids)").fetchone()

    threads = [threading.Thread(target=request, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {1: ([1], 2), 2: ([2], 4)}
    with duck.reader() as con:
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'page'").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'ids'").fetchone()[0] == 0
