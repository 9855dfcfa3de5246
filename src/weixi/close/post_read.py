"""What a post (``weixi events post`` into the lake, :mod:`weixi.close.post_lake`) reads of the SQL ledger before
the close's statements run (:func:`weixi.close.accrual_lake.post`): the ledger's rows of the posted ids and of
their members, as the DuckDB tables the statements read (``acc_seen``, ``acc_rejected``, ``acc_stored``,
``acc_book``; :mod:`weixi.close.accrual_sql`).

Each is read from the cheaper side: a table that holds fewer rows than the post has ids (or members) is read
whole and DuckDB's anti-join does the rest, as the close reads the whole ledger (a post of a million bills into a
lake-mode ledger, whose SQL ``events`` are few, read them in milliseconds where probing a million ids took 0.8 s);
a bigger one is probed by the post's keys, a statement per :data:`ID_CHUNK` of them. Either way the statements see
the same rows of the post's ids and members: the tables only ever answer "is this id, this member, in the ledger".

Also the Arrow columns the post's rows are built of, without ``pa.array`` (which imports pandas).
"""

from __future__ import annotations

import pyarrow as pa
from sqlalchemy import Engine

from weixi.adapters import bulk_sql
from weixi.adapters.arrow_columns import int_column, text_column
from weixi.adapters.sql import execute

DISTINCT_IDS = b"weixi.distinct_event_ids"  # in a post's rows' schema metadata: b"1" when no id is in them twice
ID_CHUNK = 200_000  # ids per statement when a post probes the SQL ledger by its ids and members
WHOLE_BELOW = 1.0  # a table is read whole when it holds fewer rows than this times the keys a probe would send


# per table the ledger's rows a post reads: (the table a probe's size is weighed against, whole read, probe by keys)
_SEEN = ("events", "SELECT event_id FROM events", "SELECT event_id FROM events WHERE event_id {ids}")
_REJECTED = (
    "rejections",
    "SELECT event_id, reason FROM rejections",
    "SELECT event_id, reason FROM rejections WHERE event_id {ids}",
)
_STORED = (
    "members",
    "SELECT member_id, tier, debt FROM members",
    "SELECT member_id, tier, debt FROM members WHERE member_id {ids}",
)
_DEFICIT = (
    "lots",
    "SELECT member_id FROM lots WHERE deficit = ? AND remaining < 0",
    "SELECT member_id FROM lots WHERE member_id {ids} AND deficit = ? AND remaining < 0",
)
_REFEREES = (
    "referrals",
    "SELECT referee_id FROM referrals WHERE awarded_on IS NULL",
    "SELECT referee_id FROM referrals WHERE referee_id {ids} AND awarded_on IS NULL",
)

QUERIES = (_SEEN, _REJECTED, _STORED, _DEFICIT, _REFEREES)


def read_posted(con, engine: Engine, post_rows: pa.Table) -> None:
    """The tables of the close's ledger read (``acc_seen``, ``acc_rejected``, ``acc_stored``, ``acc_book``) for a
    post, in DuckDB connection ``con``: the SQL ledger's rows of the posted ids and of their members (and maybe
    more: a table read whole), in one read-only transaction."""
    ids = _Keys(post_rows.column("event_id"))
    members = _Keys(post_rows.column("member_id").unique(), distinct=True)
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        seen = _rows(conn, _SEEN, ids)
        rejected = _rows(conn, _REJECTED, ids)
        stored = _rows(conn, _STORED, members)
        book = _rows(conn, _DEFICIT, members, (True,))
        book += _rows(conn, _REFEREES, members)
    columns = {
        "acc_seen": {"event_id": [r[0] for r in seen]},
        "acc_rejected": {"event_id": [r[0] for r in rejected], "reason": [r[1] for r in rejected]},
        "acc_stored": {
            "member_id": [r[0] for r in stored],
            "tier": [r[1] for r in stored],
            "debt": [r[2] for r in stored],
        },
        "acc_book_in": {"member_id": [r[0] for r in book]},
    }
    for name, cols in columns.items():
        con.register("acc_in", pa.table({c: int_column(v) if c == "debt" else text_column(v) for c, v in cols.items()}))
        con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM acc_in")
        con.unregister("acc_in")
    con.execute(
        "CREATE TEMP TABLE acc_book AS SELECT member_id FROM acc_book_in "
        "UNION SELECT member_id FROM acc_stored WHERE debt > 0"
    )


def distinct(post_rows: pa.Table | None) -> bool:
    """Whether a post's rows say no event id is in them twice (:data:`DISTINCT_IDS`; the post knows it from its
    file, where a check here would hash every id again)."""
    return post_rows is not None and (post_rows.schema.metadata or {}).get(DISTINCT_IDS) == b"1"


class _Keys:
    """A post's ids or members: their number, and as a Python list only when a probe sends them."""

    def __init__(self, column, distinct: bool = False):
        self.column, self.distinct, self.count = column, distinct, len(column)
        self._values: list | None = None

    def values(self) -> list:
        if self._values is None:
            values = self.column.to_pylist()
            self._values = sorted(values) if self.distinct else values
        return self._values


def _rows(conn, query: tuple[str, str, str], keys: _Keys, params: tuple = ()) -> list[tuple]:
    """The rows of ``query`` (see :data:`_SEEN`) for ``keys``: the whole table's when it holds fewer rows than a
    probe would send keys (counted up to that many), else probed by the keys."""
    table, whole, probe = query
    if not keys.count:
        return []
    limit = int(keys.count * WHOLE_BELOW)
    if execute(conn, f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT ?) t", [limit])[0][0] < limit:
        return execute(conn, whole, params)
    values = keys.values()
    return [
        r
        for i in range(0, len(values), ID_CHUNK)
        for r in bulk_sql.select_ids(conn, probe, values[i : i + ID_CHUNK], params)
    ]


__all__ = ["DISTINCT_IDS", "ID_CHUNK", "distinct", "read_posted"]
