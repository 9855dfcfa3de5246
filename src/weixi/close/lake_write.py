"""The Parquet files of one ``accruals`` partition (a closed month or a post), written by DuckDB from the accrual
statements' ``acc_events`` (:func:`weixi.close.accrual_sql.lake_events`: a row per event with its earn entries).

Rows are sorted by member, then posting order, in row groups of :data:`ROW_GROUP` rows: a fold reads the one or
two row groups whose member min/max can hold its member (:mod:`weixi.adapters.parquet_lookup`). Up to
:data:`FILE_ROWS` rows the partition is one file. A bigger one is cut into files by member range (the ranges
disjoint and in order, each file sorted within): one sort of a 10,000,000-member month (18,000,000 rows with
their earn entries) ran out of the close's DuckDB memory (``WEIXI_DUCKDB_MEMORY`` at 6 GB then), where a range of two
million rows sorts in memory. The close's rows come sorted already (:mod:`weixi.close.accrual_order`)
and are written as they are read (``ordered``), the ranges side by side: each on a cursor of its own with the
connection's DuckDB set to one thread, as many at once as it had threads. DuckDB's two threads on one file of small
row groups spent 1.3 CPU-seconds where one thread spent 0.93 (1,000,000 members: the month's two files in 0.92 s
instead of 1.20 s; at 10,000,000, fifteen files in about 9.5 s instead of 10.5-11). Readers take the partition's file list from the Delta log and
select by member and day, so the number of files changes nothing they see.

:func:`month_members` sums a partition per member for the SQL members' update (``accrual_lake.apply``): their
first spend day, paid flag and posted tier (no balance: a member's lake points stay the lake's until a fold).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from weixi.adapters import duck, lake

ROW_GROUP = 4_096  # rows per Parquet row group, sorted by member: a fold reads the one or two holding the member
# (weixi.ledger.fold_read reads whole row groups: 12 months at 100,000 members, 40 ms a fold against 260 ms with
# 51,200-row groups when this was chosen, the files 6% larger; ~12 ms a one-member fold since its reads decode
# dictionaries and keep files open)
FILE_ROWS = 1_048_576  # rows per file at most (about: the ranges are cut at a sample's quantiles)
SAMPLE = 20_000  # member ids sampled to cut the ranges


def rows_sql(where: str = "TRUE") -> str:
    """The partition's rows (:data:`weixi.close.accrual_lake.ACCRUAL_SCHEMA`, ``acc_events`` as
    :func:`weixi.close.accrual_sql.lake_events` makes it) of the members ``where`` (a condition on ``member_id``)
    holds, sorted by member and posting order."""
    return f"SELECT * FROM acc_events WHERE {where} ORDER BY member_id, seq"


ROWS_SQL = rows_sql()


def write_partition(
    con, table_dir: Path, partition: dict, rows: int, ordered: bool = False, positions: str | None = None
) -> list[Path]:
    """Write the partition's ``rows`` rows (what ``acc_events`` holds) into new files of ``table_dir``; their paths,
    in member order (not committed: the caller commits them). ``ordered``: ``acc_events`` is in member and posting
    order already (the close's, :mod:`weixi.close.accrual_order`): each range is written as it is read,
    not sorted again, and its file's row groups are checked from the footer to follow each other in member order
    (:func:`clustered`); a file that does not is written again sorted. With more than one DuckDB thread the ranges
    are then written side by side on cursors of ``con``, which see its main schema only: ``acc_events`` and what it
    reads must not be TEMP objects. ``positions``: a table whose rows are ``acc_events``' in its row order, a few
    more between them (the close's ``acc_all``, its rows not posted included): the ranges are cut at its rows'
    positions (:func:`member_ranges`)."""
    threads = int(con.execute("SELECT current_setting('threads')").fetchone()[0])
    # ordered: the ranges written side by side, one thread each (below), in a multiple of the threads
    ranges = member_ranges(con, rows, threads if ordered else 1, positions if ordered else None)
    outs = [lake.new_file(table_dir, partition) for _ in ranges]

    def write(cur, where: str, out: Path) -> Path | None:
        query = f"SELECT * FROM acc_events WHERE {where}" if ordered else rows_sql(where)
        written = cur.execute(f"COPY ({query}) TO '{out}' ({duck.PARQUET}, ROW_GROUP_SIZE {ROW_GROUP})").fetchone()[0]
        if written and ordered and not clustered(out):
            cur.execute(f"COPY ({rows_sql(where)}) TO '{out}' ({duck.PARQUET}, ROW_GROUP_SIZE {ROW_GROUP})")
        if written:
            return out
        out.unlink()  # an empty range (the sample's cuts fell on one member's rows): no file for it
        return None

    if not ordered or threads < 2 or len(ranges) < 2:
        return [f for f in (write(con, w, o) for w, o in zip(ranges, outs)) if f is not None]
    con.execute("SET threads = 1")
    try:
        with ThreadPoolExecutor(min(threads, len(ranges))) as pool:
            found = list(pool.map(lambda wo: _on_cursor(con, write, *wo), zip(ranges, outs)))
    finally:
        con.execute(f"SET threads = {threads}")
    return [f for f in found if f is not None]


def _on_cursor(con, write, where, out):
    with duck.cursor_of(con) as cur:
        return write(cur, where, out)


def clustered(path: Path) -> bool:
    """Whether the file's row groups follow each other in member order (each one's least member at or after the
    greatest of the one before, by the footer's statistics): what a fold's skip by min/max needs."""
    meta = pq.ParquetFile(path).metadata
    col = meta.schema.to_arrow_schema().get_field_index("member_id")
    last = None
    for g in range(meta.num_row_groups):
        stats = meta.row_group(g).column(col).statistics
        if stats is None or not stats.has_min_max or (last is not None and stats.min < last):
            return False
        last = stats.max
    return True


def member_ranges(con, rows: int, multiple: int = 1, positions: str | None = None) -> list[str]:
    """Conditions on ``member_id`` cutting ``acc_events`` into about ``rows / FILE_ROWS`` member ranges of about
    equal rows, at the quantiles of a sample of its member ids (``positions``: at the member ids of that table's
    rows at equal steps, when it holds acc_events' rows sorted by member, 0.01 s against 0.04 s for the sample at
    1,000,000 members); one condition (every row) up to :data:`FILE_ROWS`.
    More than one range: their number rounded up to a ``multiple`` (the threads that write them side by side: at
    10,000,000 members fifteen ranges on two threads left one idle while the last was written)."""
    parts = -(-rows // FILE_ROWS)
    if parts <= 1:
        return ["TRUE"]
    parts = -(-parts // multiple) * multiple
    if positions:  # sorted by member in its row order: the member ids at equal steps of its rows (no sample)
        n = con.execute(f"SELECT count(*) FROM {positions}").fetchone()[0]
        at = ", ".join(str(n * i // parts) for i in range(1, parts))
        cuts = sorted(
            {r[0] for r in con.execute(f"SELECT member_id FROM {positions} WHERE rowid IN ({at})").fetchall()}
        )
    else:
        sample = sorted(
            r[0]
            for r in con.execute(f"SELECT member_id FROM acc_events USING SAMPLE reservoir({SAMPLE} ROWS)").fetchall()
        )
        cuts = sorted({sample[len(sample) * i // parts] for i in range(1, parts)})
    cuts = [c.replace("'", "''") for c in cuts]
    bounds = [None, *cuts, None]
    return [
        " AND ".join([f"member_id >= '{lo}'"] * (lo is not None) + [f"member_id < '{hi}'"] * (hi is not None))
        for lo, hi in zip(bounds, bounds[1:])
    ]


def month_members(files: list[str], known: str | None = None) -> pa.Table:
    """Per member of the month's files, in the order of their first event: the first day (``first_day``, and as
    ISO text ``first_text``), its first event's ``seq`` and the last ``tier`` attr of a posted event (the close's
    rows carry none; the JSON is read only from rows that can hold one): what the SQL members' update writes.
    (Read from the files just written: summing the DuckDB table they were written from measured no faster at
    10,000,000 members.)"""
    con = duck.connect()
    try:
        if not files:
            return con.execute(
                "SELECT NULL::VARCHAR AS member_id, NULL::DATE AS first_day, NULL::VARCHAR AS first_text, "
                "NULL::VARCHAR AS tier, NULL::BIGINT AS first_seq WHERE false"
            ).fetch_arrow_table()
        return members_of(con, f"read_parquet({files!r})", known=known)
    finally:
        con.close()


def members_of(con, rows: str, by_member: bool = False, known: str | None = None, tiers: bool = True) -> pa.Table:
    """:func:`month_members` of ``rows`` (a table, view or ``read_parquet``) on ``con``; ``by_member``: in member
    order instead (sorted by DuckDB on both cores: PyArrow's ``sort_by`` of 9,600,000 ids took 3-4 s on one).
    ``known``: a query of member ids to leave out unless a posted ``tier`` attr names their tier (the members the
    SQL ledger has up to date already): only the other members' rows are summed, found by an anti-join of the ids
    (at 10,000,000 members, 331,324 of the month's 9,600,000; filtering the sums of every member instead took 3x
    as long as the sums). ``tiers`` False: the rows carry no ``tier`` attr (a close's bills and recharges: their
    attrs are their service type), and their attrs are not read; the anti-join then feeds the sums directly (one
    pass). Nothing is read of the rows' points: the close passes its rows before their points are computed (0.07 s
    at 1,000,000 members)."""
    todo, source = "", rows
    if known and tiers:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE members_todo AS SELECT DISTINCT member_id FROM {rows} "
            f"ANTI JOIN ({known}) k USING (member_id) UNION SELECT member_id FROM {rows} WHERE attrs LIKE '%tier%'"
        )
        todo = " WHERE member_id IN (SELECT member_id FROM members_todo)"
    elif known:
        source = f"(SELECT * FROM {rows} ANTI JOIN ({known}) k USING (member_id))"
    tier = (
        "(SELECT member_id, arg_max(tier, seq) AS tier FROM (SELECT member_id, "
        f"seq, json_extract_string(attrs, '$.tier') AS tier FROM {rows} "
        "WHERE attrs LIKE '%tier%') WHERE tier IS NOT NULL GROUP BY member_id)"
        if tiers
        else "(SELECT NULL::VARCHAR AS member_id, NULL::VARCHAR AS tier WHERE false)"
    )
    try:
        return con.execute(
            "SELECT m.member_id, m.first_day, strftime(m.first_day, '%Y-%m-%d') AS first_text, t.tier, m.first_seq "
            "FROM (SELECT member_id, arg_min(day, seq) AS first_day, min(seq) AS first_seq FROM "
            f"{source}{todo} "
            f"GROUP BY member_id) m LEFT JOIN {tier} t USING (member_id) "
            f"ORDER BY {'m.member_id' if by_member else 'm.first_seq'}"
        ).fetch_arrow_table()
    finally:
        if todo:
            con.execute("DROP TABLE IF EXISTS members_todo")


__all__ = [
    "FILE_ROWS",
    "ROWS_SQL",
    "ROW_GROUP",
    "clustered",
    "member_ranges",
    "members_of",
    "month_members",
    "rows_sql",
    "write_partition",
]
