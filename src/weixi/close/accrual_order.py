"""The close's rows to post, in the order the lake's files are written, sorted once: as they are read.

:func:`stage_sql` reads the month's bills and recharges into table ``acc_all`` sorted by member, and within a
member in posting order (kind, bill day, moment, id), with two columns the accrual fills in place: ``keep`` and
``stored_tier``. :func:`mark` then sets them (an ``UPDATE`` leaves every row where it is) and makes view ``acc_new``
of the rows to post, numbered (``seq``) by their place: in member order, and within a member in posting order.
:func:`weixi.close.accrual_sql.lake_events` with ``days`` keeps that order, and the lake's files are written in it
(:func:`weixi.close.lake_write.write_partition`) with no sort of their own.

The rows not posted are left out by ``keep``: those of the members the Book handles, the second and later rows of an
id given twice (the first in posting order is kept), and the ids seen or rejected. Their numbers are left unused:
``seq`` orders a member's rows and is not counted on to be without gaps.

Measured at 1,000,000 members (1,795,505 rows): reading the rows sorted, then setting the columns, 0.60-0.67 s,
against 0.80-0.90 s for reading them as they come and sorting them into a second table joined with the stored
tiers. At 10,000,000 members a year on, 4,500,000 rows of members with a stored tier of their own take 0.74 s to
set, where the join and copy of every row took 1.7 s.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from weixi.close import moment_text
from weixi.close.sources import scan_sql

ORDER = "member_id, k, bday, moment, event_id"


def rows_sql(data_dir: Path, month: str, recharge_day: str = "CAST(NULL AS DATE)") -> str:
    """The month's paid bills and its recharges with their posting keys (``k``: 0 a bill, 1 a recharge; ``bday``
    a bill's day; ``moment`` a recharge's), unnumbered and unsorted. ``recharge_day``: SQL of a recharge's day from
    ``recharged_at`` (the plan's time zone's date: :func:`weixi.close.accrual._unnumbered_sql`); by default NULL,
    set once the plan is known (:func:`set_days`): the close stages its rows before it has read the plan
    (:mod:`weixi.close.early`)."""
    return (
        f"SELECT 0 AS k, 'bill' AS type, CAST(bill_id AS VARCHAR) AS event_id, CAST(member_id AS VARCHAR) "
        f"AS member_id, billed_on AS day, billed_on AS bday, CAST(NULL AS TIMESTAMPTZ) AS moment, "
        f"CAST(amount_fen AS BIGINT) AS amount_fen, CAST(service_type AS VARCHAR) AS service_type "
        f"FROM ({scan_sql(data_dir, 'bills', month)}) WHERE paid UNION ALL "
        f"SELECT 1, 'recharge', CAST(recharge_id AS VARCHAR), CAST(member_id AS VARCHAR), "
        f"{recharge_day}, CAST(NULL AS DATE), recharged_at, "
        f"CAST(amount_fen AS BIGINT), CAST(NULL AS VARCHAR) FROM ({scan_sql(data_dir, 'recharges', month)})"
    )


def recharge_day(tz: ZoneInfo, at: str = "recharged_at") -> str:
    """SQL of the day in ``tz`` of the TIMESTAMPTZ ``at``."""
    return f"CAST(timezone('{tz.key}', {at}) AS DATE)"


def set_days(con, tz: ZoneInfo) -> None:
    """Set the recharges' days of ``acc_all`` staged by :func:`stage_sql` from :func:`rows_sql` without them: each
    moment's date in ``tz``. When ``tz`` keeps one offset over the month's moments (no daylight saving change
    among them) by adding it to the instant, with no time zone lookup per row
    (:func:`~weixi.close.moment_text.fixed_offset`)."""
    lo, hi = con.execute("SELECT epoch_us(min(moment)), epoch_us(max(moment)) FROM acc_all WHERE k = 1").fetchone()
    if lo is None:
        return
    offset = moment_text.fixed_offset(con, lo, hi, tz.key)
    day = (
        recharge_day(tz, "moment")
        if offset is None
        else f"CAST(make_timestamp(epoch_us(moment) + {offset * 1_000_000}) AS DATE)"
    )
    con.execute(f"UPDATE acc_all SET day = {day} WHERE k = 1")


def stage_sql(rows_sql: str) -> str:
    """``acc_all`` from ``rows_sql`` (:func:`rows_sql`'s rows), sorted. In the main
    schema of the accrual's own DuckDB, not a TEMP table: the cursors that write the files read it."""
    return (
        "CREATE OR REPLACE TABLE acc_all AS SELECT *, CAST(NULL AS VARCHAR) AS stored_tier, true AS keep "
        f"FROM ({rows_sql}) ORDER BY {ORDER}"
    )


# the hashes of the ids of rows to keep that more than one such row has: the hashes sorted, each compared with the
# one before (1,795,505 rows: 0.09 s, where grouping by the hash, 1,795,505 groups, took 0.13-0.15 s)
TWICE = (
    "CREATE OR REPLACE TEMP TABLE acc_twice AS SELECT DISTINCT h FROM (SELECT h, lag(h) OVER (ORDER BY h) AS before "
    "FROM (SELECT hash(event_id) AS h FROM acc_all WHERE keep)) WHERE h = before"
)
# the rows of the members the Book does not handle (what the outcome's counts and the rejections read)
SRC = "CREATE OR REPLACE TEMP VIEW acc_src AS SELECT * FROM acc_all WHERE member_id NOT IN (SELECT member_id FROM acc_book)"
NEW = (
    "CREATE OR REPLACE VIEW acc_new AS SELECT CAST(rowid + 1 AS BIGINT) AS seq, type, event_id, member_id, day, "
    "moment, amount_fen, service_type, stored_tier FROM acc_all WHERE keep"
)


def mark(con) -> None:
    """Set ``acc_all``'s ``keep`` and ``stored_tier`` (from ``acc_book``, ``acc_seen``, ``acc_rejected`` and
    ``acc_stored``) and make views ``acc_src`` and ``acc_new``. An id given twice among the rows of the members the
    Book does not handle keeps its first row in posting order; then an id seen or rejected keeps none."""

    def some(sql: str) -> bool:
        return con.execute(f"SELECT EXISTS ({sql})").fetchone()[0]

    con.execute(SRC)
    if some("SELECT 1 FROM acc_book"):
        con.execute("UPDATE acc_all SET keep = false WHERE member_id IN (SELECT member_id FROM acc_book)")
    con.execute(TWICE)
    if some("SELECT 1 FROM acc_twice"):  # rows whose id hashes as another's: the later of an id's rows left out
        con.execute(
            "UPDATE acc_all SET keep = false WHERE rowid IN (SELECT r FROM (SELECT rowid AS r, row_number() OVER "
            "(PARTITION BY event_id ORDER BY k, bday, moment, rowid) AS rn FROM acc_all WHERE keep AND "
            "hash(event_id) IN (SELECT h FROM acc_twice)) WHERE rn > 1)"
        )
    con.execute("DROP TABLE acc_twice")
    if some("SELECT 1 FROM acc_seen") or some("SELECT 1 FROM acc_rejected"):
        con.execute(
            "UPDATE acc_all SET keep = false WHERE keep AND (event_id IN (SELECT event_id FROM acc_seen) "
            "OR event_id IN (SELECT event_id FROM acc_rejected))"
        )
    if some("SELECT 1 FROM acc_stored"):
        con.execute(
            "UPDATE acc_all SET stored_tier = st.tier FROM acc_stored st "
            "WHERE acc_all.member_id = st.member_id AND acc_all.keep"
        )
    con.execute(NEW)
