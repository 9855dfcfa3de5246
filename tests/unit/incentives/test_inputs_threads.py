"""The month's input files read from many threads at once (the console serves requests on a thread pool: a statement
page and a chart reading the roster together): every read gets its own DuckDB connection, so none breaks another's
query. (Reading through ``duckdb.sql``, the module's one shared connection, failed one request of a browser test
with "Attempting to execute an unsuccessful or closed pending query result", a 422 page.)"""

from __future__ import annotations

import csv
from concurrent.futures import ThreadPoolExecutor

from weixi.incentives import inputs


def test_many_threads_read_rosters_at_once(tmp_path):
    paths = []
    for i in range(4):
        path = tmp_path / f"roster-{i}.csv"
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["staff_id", "name", "role", "team", "shift", "hired_on", "left_on"])
            w.writerows(
                [[f"S{i}{n:04d}", f"员工{n}", "clerk", f"组{n % 3}", "morning", "2024-01-01", ""] for n in range(300)]
            )
        paths.append(path)

    def read(k: int) -> int:
        con = inputs.connect()
        try:
            inputs.load_roster(con, paths[k % 4])
            return con.execute("SELECT count(*) FROM roster").fetchone()[0]
        finally:
            con.close()

    with ThreadPoolExecutor(8) as pool:
        counts = list(pool.map(read, range(64)))
    assert counts == [300] * 64
