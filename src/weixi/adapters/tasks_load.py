"""Load a month's tasks file into the embedded SQLite database, fast and all or nothing (``weixi tasks create``).

Run in a process of its own (``python -m weixi.adapters.tasks_load``), never inside the caller: it
writes through ADBC, whose SQLite library is a second copy beside Python's ``sqlite3``, and two copies of SQLite
in one process release each other's POSIX file locks — a copy closing the file lets the other believe it is alone
and checkpoint or drop a WAL still in use ("database disk image is malformed"). In a child process the locks are
its own, as with any other SQLite client.

In one ``BEGIN IMMEDIATE`` transaction:

1. read the month's task ids the database already has (``task_id`` prefix range on the primary key) and the open
   queue tasks already there (the ones that may have to follow their member's new manager; one scan of the table
   while they are most of it, else through the status index);
2. insert the tasks the database lacks, as Arrow record batches bound in C (no Python object per row), in
   primary-key order (the tasks file is sorted by task id). When the new tasks outnumber twice the rows already
   in the table, the secondary indexes are dropped first and built again afterwards (a sort each instead of
   millions of random B-tree inserts; :func:`rebuilds_indexes` has the measurements);
3. move open tasks already there to their member's manager (or this run's pool agent) when that changed;
4. ``COMMIT``. A crash before it leaves the database as it was (SQLite rolls the unfinished transaction back,
   indexes included); a rerun finds every id and inserts nothing.

Prints one JSON line: ``{"new": N, "moved": M, "seconds": {step: seconds}}``.
"""

from __future__ import annotations

import json
import sys
import time

import pyarrow as pa

from weixi.adapters import adbc_sqlite, duck

BATCH = 20_000  # rows per Arrow record batch
BULK_MIN_ROWS = 50_000  # below this the secondary indexes stay in place during the insert
REBUILD_FACTOR = 2  # rebuild the secondary indexes when new rows > this x existing rows (rebuilds_indexes)
CACHE_KIB = 2_000_000  # page cache of the loading connection (2 GB) for the insert and the index builds
DATES = ("created_on", "not_before", "due_on")
INDEXES_SQL = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ops_tasks' AND sql IS NOT NULL"

MOVES_SQL = """
    SELECT o.task_id, coalesce(a.staff_id, k.assignee) AS assignee, coalesce(a.team, k.team) AS team
    FROM ops_open_in o
    LEFT JOIN ops_assignment a ON a.member_id = o.member_id AND a.staff_id IS NOT NULL
    LEFT JOIN (SELECT member_id, any_value(assignee) AS assignee, any_value(team) AS team FROM ops_kept
               WHERE kind <> 'bind' GROUP BY member_id) k ON k.member_id = o.member_id
    LEFT JOIN ops_staff s ON s.staff_id = o.assignee
    WHERE coalesce(a.staff_id, k.assignee) IS NOT NULL
      AND coalesce(a.staff_id, k.assignee) IS DISTINCT FROM o.assignee
      AND (a.staff_id IS NOT NULL OR s.active IS NOT TRUE)"""


OPEN_SQL = "SELECT task_id, member_id, assignee FROM ops_tasks {how} WHERE status = 'open' AND kind <> 'bind'"


def _open_tasks_access(cur) -> str:
    """How to read the open tasks: through the status index when they are few, else one sequential scan of the
    table (``NOT INDEXED``). While most tasks are still open, the index only adds a random table read per row
    (at 1M members, two months all open: 0.58-0.88 s scanning against 0.70-1.17 s through the index; the half
    where it switches is not measured)."""
    cur.execute("SELECT count(*) FROM ops_tasks WHERE status = 'open'")  # the status index alone (covering)
    opened = cur.fetchone()[0]
    cur.execute("SELECT coalesce(max(rowid), 0) FROM ops_tasks")
    return "NOT INDEXED" if 2 * opened >= cur.fetchone()[0] else ""


def rebuilds_indexes(new: int, existing: int) -> bool:
    """Drop the secondary indexes and build them again (a sort each) rather than insert ``new`` rows into them:
    only when the new rows outnumber ``REBUILD_FACTOR`` times the rows already in the table (a rebuild sorts
    those too). Measured at 1M members (the load and commit alone, two runs each): new = existing, in place
    5.1-6.0 s against 6.3-6.7 s rebuilt; new = 2 x existing, 4.8 s in place against 4.3-4.8 s rebuilt; new = 4 x
    existing, in place 5.9-6.3 s against 4.5-5.4 s rebuilt. At 10M (BENCHMARKS.md), the second month (new ~
    existing) in place: insert and commit 59.0 s, against 61.6 s with the rebuild in the run before; the third
    (new = half the table) in place 34.7-42.2 s, where a rebuild would sort 8.4M rows into each index.
    """
    return new > REBUILD_FACTOR * existing


def _strings(table: pa.Table, names: list[str]) -> pa.Table:
    return table.rename_columns(names).cast(pa.schema([(n, pa.string()) for n in names]))


def load(
    db_path: str, month: str, tasks_file: str, assignments_file: str, created: str, columns: list[str], batches=None
) -> dict:
    """``batches``: wraps the record batch reader (tests: a crash mid-load)."""
    con = duck.connect(config={"threads": 1})  # SQLite (one thread) is the slow side; decoding needs no more
    kept = f"read_parquet({duck.lit(tasks_file)})"
    con.execute(f"CREATE VIEW ops_kept AS SELECT * FROM {kept}")
    con.execute(
        f"CREATE VIEW ops_assignment AS SELECT member_id, staff_id, team FROM read_parquet({duck.lit(assignments_file)})"
        " WHERE staff_id IS NOT NULL"
    )
    laps: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        laps[name] = round(now - clock[0], 3)
        clock[0] = now

    sel = ", ".join(f"strftime(k.{c}, '%Y-%m-%d') AS {c}" if c in DATES else f"k.{c}" for c in columns)
    sel += (
        f", CASE WHEN k.status = 'done' THEN {duck.lit(created)} END AS closed_at, CASE WHEN k.status = 'done' "
        f"THEN 'system' END AS closed_by, CAST(0 AS BIGINT) AS attempts, {duck.lit(created)} AS created_at"
    )
    with adbc_sqlite.writer(db_path, CACHE_KIB, threads=2) as cur:
        with adbc_sqlite.transaction(cur):
            cur.execute("SELECT task_id FROM ops_tasks WHERE task_id >= ? AND task_id < ?", [month + "/", month + "0"])
            con.register("ops_have", _strings(cur.fetch_arrow_table(), ["task_id"]))
            cur.execute(OPEN_SQL.format(how=_open_tasks_access(cur)))
            con.register("ops_open_in", _strings(cur.fetch_arrow_table(), ["task_id", "member_id", "assignee"]))
            cur.execute("SELECT staff_id, CAST(active AS INTEGER) FROM ops_staff")
            staff = cur.fetch_arrow_table().rename_columns(["staff_id", "active"])
            con.register("ops_staff_in", staff)
            con.execute(
                "CREATE TABLE ops_staff AS SELECT CAST(staff_id AS VARCHAR) AS staff_id, "
                "CAST(active AS BIGINT) <> 0 AS active FROM ops_staff_in"
            )
            opened = con.execute("SELECT count(*) FROM ops_open_in").fetchone()[0]
            moves = con.execute(MOVES_SQL if opened else f"{MOVES_SQL} LIMIT 0").to_arrow_table()
            lap("read_existing")
            missing = "NOT EXISTS (SELECT 1 FROM ops_have h WHERE h.task_id = k.task_id)"
            if con.execute("SELECT count(*) FROM ops_have").fetchone()[0]:
                # a rerun or a top-up: only the ids the database lacks, still in id order
                src = f"SELECT {sel} FROM {kept} k WHERE {missing} ORDER BY k.task_id"
                new = con.execute(f"SELECT count(*) FROM {kept} k WHERE {missing}").fetchone()[0]
            else:
                src = f"SELECT {sel} FROM {kept} k"  # the file's order: by task id
                new = con.execute(f"SELECT count(*) FROM {kept}").fetchone()[0]
            rebuild = []
            if new >= BULK_MIN_ROWS:
                cur.execute("SELECT coalesce(max(rowid), 0) FROM ops_tasks")
                if rebuilds_indexes(new, cur.fetchone()[0]):
                    cur.execute(INDEXES_SQL)
                    rebuild = cur.fetchall()
                    for name, _ in rebuild:
                        cur.execute(f'DROP INDEX "{name}"')
            if new:
                reader = con.execute(src).to_arrow_reader(BATCH)
                cur.adbc_ingest("ops_tasks", batches(reader) if batches else reader, mode="append")
            lap("insert")
            for name, sql in rebuild:
                cur.execute(sql)
                lap(f"index_{name}")
            if moves.num_rows:
                adbc_sqlite.update_from(
                    cur,
                    moves,
                    "UPDATE ops_tasks SET assignee = m.assignee, team = m.team "
                    "FROM temp.ops_moves m WHERE ops_tasks.task_id = m.task_id "
                    "AND ops_tasks.status = 'open'",
                    "ops_moves",
                )
            lap("move_open_tasks")
        lap("commit")
    return {"new": int(new), "moved": int(moves.num_rows), "seconds": laps}


def main(argv: list[str]) -> int:
    args = json.loads(argv[0])
    print(json.dumps(load(**args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
