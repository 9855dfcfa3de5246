"""Post a month's bills and recharges into the embedded SQLite ledger, set-based, each chunk all or nothing.

Run as a process of its own (``python -m weixi.close.accrual_load``, arguments as JSON on standard input): it
writes through ADBC, whose SQLite is a second copy beside Python's ``sqlite3``; two copies in one process release
each other's file locks (see :mod:`weixi.adapters.tasks_load`). The chunk loop (:func:`post_chunks`) is
shared with the PostgreSQL ledger (:mod:`weixi.close.accrual_load_pg`); :class:`SqliteLedger` holds what is
SQLite's own.

Chunk by chunk of the events in posting order (250,000 by default), each in one ``BEGIN IMMEDIATE``
transaction:

1. DuckDB reads the month's events; their ids and members go to temporary SQLite tables, and the ledger answers
   which ids it already has (posted or rejected) and what it holds for those members;
2. when a member owes points, still has a referral waiting to qualify, or has a debt, the chunk's transaction is
   rolled back and the loader stops, answering ``"fallback": why`` and ``"stopped_at"``, the first event it
   did not post: the caller posts the rest through the per-batch path, which sends such batches through the Book;
3. DuckDB computes the rows (:mod:`weixi.close.accrual_sql`) and they are appended as Arrow record batches bound
   in C — events, lots, journal entries in posting order, new members — and the stored members' balances, first
   spend day and paid flag are updated from a temporary table;
4. ``COMMIT``. A crash leaves the chunks committed before it; a rerun finds their ids and posts the rest.
   The WAL is checkpointed as usual after each chunk's commit (deferring it to the end made the WAL grow by
   the whole month — 4 GB within minutes at 10 million members — and left the copy-back to whichever writer
   committed next, an API request among them).

Prints a JSON line ``{"progress": n}`` per committed chunk, then ``{"posted", "duplicates", "rejected",
"reasons", "seconds"}`` (and ``"fallback"``, ``"stopped_at"`` when it stopped for the batches).
"""

from __future__ import annotations

import json
import sys
import time
from array import array

import pyarrow as pa

from weixi.adapters import adbc_sqlite, duck
from weixi.adapters.arrow_columns import text_column

BATCH = 50_000  # rows per inserted Arrow record batch
CHUNK = 250_000  # events per transaction, as the per-batch path (weixi.close.accrual.CHUNK)
CACHE_KIB = 2_000_000


def days_table(columns: list[str], rows: list[list]) -> pa.Table:
    """The day rows as an Arrow table: ``day`` a date, ``open_*`` flags, the rest text. Built with Arrow's
    builders, not ``pa.array`` of Python objects (which imports pandas on its first call: the close's process
    needs none)."""
    cols = list(zip(*rows)) if rows else [[] for _ in columns]
    arrays = []
    for name, values in zip(columns, cols):
        if name == "day":
            arrays.append(_text(values).cast(pa.date32()))
        elif name.startswith("open_"):
            flags = array("b", [1 if v else 0 for v in values])
            arrays.append(pa.Array.from_buffers(pa.int8(), len(flags), [None, pa.py_buffer(flags)]).cast(pa.bool_()))
        else:
            arrays.append(_text(values))
    return pa.table(arrays, names=columns)


def _text(values) -> pa.Array:
    return text_column([None if v is None else str(v) for v in values])


def _query(cur, sql: str, params=()) -> pa.Table:
    cur.execute(sql, list(params))
    return cur.fetch_arrow_table()


class SqliteLedger:
    """How the chunks are written into the embedded SQLite ledger: dates as ISO text, flags as 1, temporary tables
    in ``temp.``; each chunk one ``BEGIN IMMEDIATE`` transaction. :mod:`weixi.close.accrual_load_pg` is the
    PostgreSQL counterpart; :func:`post_chunks` runs either."""

    temp = "temp."
    deficit_lots = "lot_id >= 'deficit:' AND lot_id < 'deficit;'"  # a seek in the primary key (bytewise text)
    lock = ""  # BEGIN IMMEDIATE already holds the only write lock
    inserts = {
        "events": "SELECT * EXCLUDE (seq) FROM acc_events ORDER BY seq",
        "lots": "SELECT * EXCLUDE (seq) FROM acc_lots ORDER BY seq",
        "journal": "SELECT * EXCLUDE (seq, o_grp, o_j, o_k) FROM acc_journal ORDER BY seq, o_grp, o_j, o_k",
        "members": "SELECT member_id, CAST(NULL AS VARCHAR) AS tier, CAST(first_day AS VARCHAR) AS first_spend_on, "
        "CAST(1 AS BIGINT) AS paid, CAST(earned AS BIGINT) AS balance, "
        "CAST(first_day AS VARCHAR) AS first_seen_on FROM acc_members WHERE new ORDER BY first_seq",
    }
    changed = (
        "SELECT member_id, CAST(first_day AS VARCHAR) AS first_day, CAST(earned AS BIGINT) AS earned "
        "FROM acc_members WHERE NOT new ORDER BY member_id"
    )
    update = (
        "UPDATE members SET first_spend_on = coalesce(members.first_spend_on, c.first_day), paid = 1, "
        "balance = members.balance + c.earned FROM temp.acc_changed c WHERE members.member_id = c.member_id"
    )

    def __init__(self, db_path: str) -> None:
        self.db_path = db_path

    def writer(self):
        return adbc_sqlite.writer(self.db_path, CACHE_KIB)

    @staticmethod
    def transaction(cur):
        return adbc_sqlite.transaction(cur)

    @staticmethod
    def update_from(cur, rows: pa.Table, sql: str, name: str) -> None:
        adbc_sqlite.update_from(cur, rows, sql, name)


def load(
    db_path: str,
    source_sql: str,
    day_columns: list[str],
    day_rows: list[list],
    statements: dict,
    rejections_sql: str,
    data_dir: str | None = None,
    threads: int = 2,
    chunk: int = CHUNK,
    batches=None,
    on_chunk=None,
) -> dict:
    """Post the events into the SQLite ledger at ``db_path`` (:func:`post_chunks`)."""
    return post_chunks(
        SqliteLedger(db_path),
        source_sql,
        day_columns,
        day_rows,
        statements,
        rejections_sql,
        data_dir,
        threads,
        chunk,
        batches,
        on_chunk,
    )


def post_chunks(
    ledger,
    source_sql: str,
    day_columns: list[str],
    day_rows: list[list],
    statements: dict,
    rejections_sql: str,
    data_dir: str | None = None,
    threads: int = 2,
    chunk: int = CHUNK,
    batches=None,
    on_chunk=None,
) -> dict:
    """Post the events ``chunk`` at a time in posting order, each chunk one transaction (other writers, the API's
    among them, get the ledger between chunks, as between the batches of the per-batch path). ``ledger``:
    :class:`SqliteLedger` or :class:`weixi.close.accrual_load_pg.PostgresLedger`. ``batches``: wraps each record
    batch reader that is inserted (tests: a crash mid-load); ``on_chunk(n)``: called after each committed chunk
    with its number of events."""
    laps: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        laps[name] = round(laps.get(name, 0) + now - clock[0], 3)
        clock[0] = now

    con = duck.connect(config={"threads": threads})
    if data_dir:  # the month's events stay under WEIXI_DUCKDB_MEMORY, spilling beside the close's other work
        duck.bound_memory(con, data_dir)
    # in posting order, so that each chunk is read from its own row groups (zone maps), not from the whole month
    con.execute(f"CREATE TEMP TABLE acc_all AS SELECT * FROM ({source_sql}) ORDER BY seq")
    total = con.execute("SELECT count(*) FROM acc_all").fetchone()[0]
    con.register("acc_days_in", days_table(day_columns, day_rows))
    con.execute("CREATE TEMP TABLE acc_days AS SELECT * FROM acc_days_in")
    lap("read_inputs")
    done = {"posted": 0, "duplicates": 0, "rejected": 0, "reasons": {}}
    try:
        with ledger.writer() as cur:
            for low in range(1, total + 1, chunk):  # seq counts from 1
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE acc_src AS SELECT * FROM acc_all "
                    f"WHERE seq >= {low} AND seq < {low + chunk}"
                )
                lap("select_chunk")
                with ledger.transaction(cur):
                    result = _post(ledger, con, cur, statements, rejections_sql, lap, batches)
                    if "fallback" in result:
                        raise adbc_sqlite.Rollback()
                if "fallback" in result:
                    done.update(fallback=result["fallback"], stopped_at=low)
                    break
                lap("commit")
                for key in ("posted", "duplicates", "rejected"):
                    done[key] += result[key]
                for reason, n in result["reasons"].items():
                    done["reasons"][reason] = done["reasons"].get(reason, 0) + n
                if on_chunk:
                    on_chunk(min(chunk, total - low + 1))
    finally:
        con.close()
    return {**done, "seconds": laps}


def _post(ledger, con, cur, st: dict, rejections_sql: str, lap, batches) -> dict:
    tmp = ledger.temp
    cur.adbc_ingest(
        "acc_ids", con.execute("SELECT DISTINCT event_id FROM acc_src").to_arrow_table(), mode="replace", temporary=True
    )
    seen = _query(
        cur,
        f"SELECT a.event_id FROM {tmp}acc_ids a WHERE EXISTS (SELECT 1 FROM events e WHERE e.event_id = a.event_id)",
    )
    con.register("acc_seen_in", seen.rename_columns(["event_id"]))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE acc_seen AS SELECT CAST(event_id AS VARCHAR) AS event_id FROM acc_seen_in"
    )
    rejected = (
        _query(cur, f"SELECT r.event_id, r.reason FROM {tmp}acc_ids a JOIN rejections r ON r.event_id = a.event_id")
        if _query(cur, "SELECT 1 FROM rejections LIMIT 1").num_rows
        else pa.table({"event_id": pa.array([], pa.string()), "reason": pa.array([], pa.string())})
    )
    con.register("acc_rejected_in", rejected.rename_columns(["event_id", "reason"]))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE acc_rejected AS SELECT CAST(event_id AS VARCHAR) AS event_id, "
        "CAST(reason AS VARCHAR) AS reason FROM acc_rejected_in"
    )
    cur.execute(f"DROP TABLE {tmp}acc_ids")
    cur.adbc_ingest(
        "acc_mids",
        con.execute("SELECT DISTINCT member_id FROM acc_src").to_arrow_table(),
        mode="replace",
        temporary=True,
    )
    # only what the rows depend on: the balance and first spend day are updated in the ledger, relative to the stored
    stored = _query(
        cur,
        f"SELECT m.member_id, m.tier, m.debt FROM {tmp}acc_mids a "
        f"JOIN members m ON m.member_id = a.member_id{ledger.lock}",
    )
    con.register("acc_stored_in", stored.rename_columns(["member_id", "tier", "debt"]))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE acc_stored AS SELECT CAST(member_id AS VARCHAR) AS member_id, "
        "CAST(tier AS VARCHAR) AS tier, CAST(debt AS BIGINT) AS debt FROM acc_stored_in"
    )
    why = _blocked(ledger, con, cur)
    cur.execute(f"DROP TABLE {tmp}acc_mids")
    lap("read_ledger")
    if why:
        return {"fallback": why}
    for name in ("new", "base", "tiers", "journal", "events", "lots", "members"):
        con.execute(st[name])
    lap("compute")
    posted, duplicates = con.execute(st["outcome"]).fetchone()
    reasons = {r: int(n) for r, n in con.execute(rejections_sql).fetchall()}

    def insert(table: str, sql: str) -> None:
        reader = con.execute(sql).to_arrow_reader(BATCH)
        cur.adbc_ingest(table, batches(reader) if batches else reader, mode="append")
        lap(f"insert_{table}")

    for table, sql in ledger.inserts.items():  # events, lots, journal, new members
        insert(table, sql)
    changed = con.execute(ledger.changed).to_arrow_table()
    if changed.num_rows:
        ledger.update_from(cur, changed, ledger.update, "acc_changed")
    lap("update_members")
    rejected_n = sum(reasons.values())
    return {"posted": int(posted), "duplicates": int(duplicates), "rejected": rejected_n, "reasons": reasons}


def _blocked(ledger, con, cur) -> str | None:
    """Why the month needs the per-batch path (the Book for some of its members), or None."""
    if con.execute("SELECT count(*) FROM acc_stored WHERE debt > 0").fetchone()[0]:
        return "a member of the month owes points (debt)"
    if (
        _query(cur, f"SELECT 1 FROM lots WHERE {ledger.deficit_lots} LIMIT 1").num_rows
        and _query(
            cur,
            f"SELECT 1 FROM {ledger.temp}acc_mids a JOIN lots l ON l.lot_id = 'deficit:' || a.member_id "
            "WHERE l.deficit AND l.remaining < 0 LIMIT 1",
        ).num_rows
    ):
        return "a member of the month has a negative-balance lot"
    if (
        _query(cur, "SELECT 1 FROM referrals WHERE awarded_on IS NULL LIMIT 1").num_rows
        and _query(
            cur,
            f"SELECT 1 FROM {ledger.temp}acc_mids a JOIN referrals r ON r.referee_id = a.member_id "
            "WHERE r.awarded_on IS NULL LIMIT 1",
        ).num_rows
    ):
        return "a member of the month has a referral waiting to qualify"
    return None


def main() -> int:
    """Reads the arguments (JSON) from standard input; prints ``{"progress": n}`` after each chunk, then the
    result."""
    args = json.loads(sys.stdin.read())
    result = load(**args, on_chunk=lambda n: print(json.dumps({"progress": n}), flush=True))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
